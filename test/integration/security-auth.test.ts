// Guards invariant 4 over real sockets and HTTP: only a token signed by a key of the hello's own app,
// unexpired, and (when scoped) for this session opens a stream; origins are allow-listed per app; one
// app's credentials can neither read nor delete another app's sessions through any route.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { analyzerPlugin } from '../../analyzer/plugin.ts'
import { mintToken } from '../../collector/auth.ts'
import type { ServerFrame } from '../../core/protocol.ts'
import { startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { reportSequence } from '../helpers/reports.ts'
import { connect, helloFor, statsFrames } from '../helpers/stream-client.ts'
import type { StreamClient } from '../helpers/stream-client.ts'

const keyA = { kid: 'ka', app: 'app-a', secret: 'secret-of-app-a-0123' }
const keyB = { kid: 'kb', app: 'app-b', secret: 'secret-of-app-b-0123' }
const apiA = 'api-key-of-app-a-00000'
const apiB = 'api-key-of-app-b-00000'

let c: TestCollector
let dev: TestCollector
beforeAll(async () => {
  c = await startTestCollector(
    {
      RTCPULSE_KEYS: `${keyA.kid}:${keyA.app}:${keyA.secret},${keyB.kid}:${keyB.app}:${keyB.secret}`,
      RTCPULSE_ALLOWED_ORIGINS: 'app-a=https://a.example',
      RTCPULSE_MAX_CONNECTIONS_PER_TOKEN: '2',
      RTCPULSE_API_KEYS: `app-a:${apiA},app-b:${apiB}`,
    },
    [analyzerPlugin],
  )
  dev = await startTestCollector({ RTCPULSE_ANALYZER: 'false' })
})
afterAll(async () => {
  await c.stop()
  await dev.stop()
})

const isWelcome = (f: ServerFrame): boolean => f.t === 'welcome'

/** Opens a socket, sends a hello for `app`/`session` with `token`, resolves with the client. */
async function hello(
  app: string,
  session: string,
  token: string | undefined,
  headers: Record<string, string> = {},
): Promise<StreamClient> {
  const client = await connect(c.streamUrl, headers)
  client.send(helloFor(session, { app, ...(token === undefined ? {} : { token }) }))
  return client
}

async function refused(client: StreamClient, code: number, error: string): Promise<void> {
  await client.waitFor((f) => f.t === 'error' && f.code === error)
  expect((await client.closed).code).toBe(code)
}

async function stream(app: string, session: string, token: string, frames = 3): Promise<void> {
  const client = await hello(app, session, token)
  await client.waitFor(isWelcome)
  for (const f of statsFrames('pc1', reportSequence('sender', frames))) client.send(f)
  client.send({ t: 'event', pc: 'pc1', seq: frames + 1, ts: Date.now(), name: 'custom.x' })
  await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === frames + 1)
  client.close()
}

const rowsOf = async (app: string, session: string): Promise<Record<string, number>> => {
  const out: Record<string, number> = {}
  for (const table of ['raw_frames', 'events', 'stream_seconds', 'transport_seconds', 'peers']) {
    const [r] = await c.store.query<{ n: number }>(
      // FINAL: these are ReplacingMergeTrees (a peer's row is rewritten as its clock skew is learnt), so a
      // background merge between two counts must not look like a deletion.
      `SELECT count() AS n FROM ${table} FINAL WHERE app_id = {a:String} AND session_id = {s:String}`,
      { a: app, s: session },
    )
    out[table] = r?.n ?? -1
  }
  return out
}

describe('stream authentication', () => {
  it('refuses a missing, malformed, forged, unknown-key or expired token with 4001', async () => {
    const now = Math.floor(Date.now() / 1000)
    const cases: (string | undefined)[] = [
      undefined,
      'not-a-token',
      mintToken({ ...keyA, secret: 'attacker-guess-00000000' }, {}),
      mintToken({ ...keyA, kid: 'unknown' }, {}),
      mintToken(keyA, { exp: now - 120 }),
    ]
    for (const token of cases)
      await refused(await hello('app-a', 'auth-4001', token), 4001, 'unauthenticated')
    // Claims edited after signing (app-a's token rewritten to claim app-b) fail the signature.
    const [h, , s] = mintToken(keyA, {}).split('.')
    const claims = Buffer.from(JSON.stringify({ app: 'app-b', exp: now + 3600 })).toString('base64url')
    await refused(await hello('app-b', 'auth-edit', `${h}.${claims}.${s}`), 4001, 'unauthenticated')
  })

  it('refuses a token of another app, one replayed on another app, and one scoped to another session with 4003', async () => {
    await refused(await hello('app-a', 'auth-4003', mintToken(keyB, {})), 4003, 'forbidden')
    // A valid app-a token, captured and replayed by someone streaming as app-b.
    const captured = mintToken(keyA, { sess: 's1' })
    await refused(await hello('app-b', 's1', captured), 4003, 'forbidden')
    await refused(await hello('app-a', 's2', captured), 4003, 'forbidden')
    const ok = await hello('app-a', 's1', captured)
    await ok.waitFor(isWelcome)
    ok.close()
    const metrics = await (await fetch(`${c.url}/metrics`)).text()
    expect(metrics).toMatch(/^rtcpulse_rejected_frames_total\{reason="forbidden"\} [1-9]/m)
  })

  it('checks the Origin of browser streams against the app allow-list', async () => {
    const token = mintToken(keyA, {})
    await refused(
      await hello('app-a', 'origin', token, { origin: 'https://evil.example' }),
      4003,
      'forbidden',
    )
    const ok = await hello('app-a', 'origin', token, { origin: 'https://a.example' })
    await ok.waitFor(isWelcome)
    ok.close()
    // app-b has no allow-list: any origin (the token is the gate).
    const b = await hello('app-b', 'origin', mintToken(keyB, {}), { origin: 'https://elsewhere.example' })
    await b.waitFor(isWelcome)
    b.close()
  })

  it('limits concurrent streams per token with 4029', async () => {
    const token = mintToken(keyA, {})
    const first = await hello('app-a', 'per-token-1', token)
    const second = await hello('app-a', 'per-token-2', token)
    await first.waitFor(isWelcome)
    await second.waitFor(isWelcome)
    await refused(await hello('app-a', 'per-token-3', token), 4029, 'rate_limited')
    first.close()
    await first.closed
    await new Promise((r) => setTimeout(r, 50))
    const again = await hello('app-a', 'per-token-3', token)
    await again.waitFor(isWelcome)
    again.close()
    second.close()
  })
})

describe('HTTP fallback authentication', () => {
  const post = (app: string, token: string | undefined, origin?: string): Promise<Response> =>
    fetch(`${c.url}/v1/ingest`, {
      method: 'POST',
      headers: { 'content-type': 'text/plain', ...(origin ? { origin } : {}) },
      body: JSON.stringify({
        hello: helloFor('ingest-auth', { app, ...(token ? { token } : {}) }),
        frames: statsFrames('pc1', reportSequence('sender', 2)),
      }),
    })

  it('answers 401 for a bad token, 403 for another app or origin, 200 for a good one', async () => {
    expect((await post('app-a', undefined)).status).toBe(401)
    expect((await post('app-a', mintToken({ ...keyA, secret: 'attacker-guess-00000000' }, {}))).status).toBe(
      401,
    )
    expect((await post('app-a', mintToken(keyB, {}))).status).toBe(403)
    expect((await post('app-a', mintToken(keyA, {}), 'https://evil.example')).status).toBe(403)
    const ok = await post('app-a', mintToken(keyA, {}), 'https://a.example')
    expect(ok.status).toBe(200)
    // The browser may read the answer (CORS) from its origin.
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://a.example')
    expect(await ok.json()).toEqual({ seq: { pc1: 2 }, errors: [] })
  })
})

describe('API isolation between apps', () => {
  const del = (path: string, secret?: string): Promise<Response> =>
    fetch(`${c.url}${path}`, {
      method: 'DELETE',
      headers: secret ? { authorization: `Bearer ${secret}` } : {},
    })

  it("lets an app's key delete its own session and nothing of another app's", async () => {
    await stream('app-a', 'shared-id', mintToken(keyA, {}))
    await stream('app-b', 'shared-id', mintToken(keyB, {}))
    await stream('app-a', 'other-a', mintToken(keyA, {}))
    const before = await rowsOf('app-a', 'shared-id')
    expect(before.raw_frames).toBe(4)

    expect((await del('/api/v1/sessions/shared-id?app=app-a')).status).toBe(401)
    expect((await del('/api/v1/sessions/shared-id?app=app-a', keyB.secret)).status).toBe(401)
    expect((await del('/api/v1/sessions/shared-id?app=app-a', 'x'.repeat(20))).status).toBe(401)
    expect((await del('/api/v1/sessions/shared-id', keyA.secret)).status).toBe(400)
    expect(await rowsOf('app-a', 'shared-id')).toEqual(before)

    // app-b's key deletes app-b's session of the same name, and only that.
    const b = await del('/api/v1/sessions/shared-id?app=app-b', keyB.secret)
    expect(b.status).toBe(200)
    expect(Object.values(await rowsOf('app-b', 'shared-id')).every((n) => n === 0)).toBe(true)
    expect(await rowsOf('app-a', 'shared-id')).toEqual(before)

    const a = await del('/api/v1/sessions/shared-id?app=app-a', keyA.secret)
    expect(a.status).toBe(200)
    const body = (await a.json()) as { tables: string[] }
    expect(body.tables).toEqual(expect.arrayContaining(['raw_frames', 'events', 'stream_seconds', 'peers']))
    expect(Object.values(await rowsOf('app-a', 'shared-id')).every((n) => n === 0)).toBe(true)
    expect((await rowsOf('app-a', 'other-a')).raw_frames).toBe(4)
  })

  it('deletes by user across sessions, and closes a live stream of deleted data with 4003', async () => {
    const token = mintToken(keyA, {})
    for (const s of ['user-s1', 'user-s2']) {
      const client = await hello('app-a', s, token)
      await client.waitFor(isWelcome)
      client.close()
    }
    await stream('app-a', 'user-s1', token)
    const live = await connect(c.streamUrl)
    live.send(helloFor('user-s2', { app: 'app-a', token, user: 'u-42' }))
    await live.waitFor(isWelcome)
    live.send({ t: 'event', pc: 'pc1', seq: 1, ts: Date.now(), name: 'custom.x' })
    await live.waitFor((f) => f.t === 'ack')
    // user-s1 was streamed without a user id: only user-s2 belongs to u-42.
    const res = await del('/api/v1/users/u-42?app=app-a', keyA.secret)
    expect(res.status).toBe(200)
    expect(((await res.json()) as { targets: number }).targets).toBe(1)
    expect((await live.closed).code).toBe(4003)
    expect(Object.values(await rowsOf('app-a', 'user-s2')).every((n) => n === 0)).toBe(true)
    expect((await rowsOf('app-a', 'user-s1')).raw_frames).toBe(4)
  })

  it("refuses one app's API key on another app's analyzer routes", async () => {
    await stream('app-b', 'b-only', mintToken(keyB, {}))
    const get = (path: string, key?: string): Promise<Response> =>
      fetch(`${c.url}${path}`, { headers: key ? { authorization: `Bearer ${key}` } : {} })
    expect((await get('/api/v1/sessions?app=app-b')).status).toBe(401)
    expect((await get('/api/v1/sessions?app=app-b', apiA)).status).toBe(403)
    expect((await get('/api/v1/sessions/b-only?app=app-b', apiA)).status).toBe(403)
    expect((await get('/api/v1/compare?app=app-b&by=codec&a=VP8&b=H264', apiA)).status).toBe(403)
    // A stream signing secret is not an API key.
    expect((await get('/api/v1/sessions?app=app-b', keyB.secret)).status).toBe(401)
    // Asking for app-b's session under one's own app finds nothing.
    expect((await get('/api/v1/sessions/b-only?app=app-a', apiA)).status).toBe(404)
    const list = await get('/api/v1/sessions?app=app-a', apiA)
    expect(list.status).toBe(200)
    const ids = ((await list.json()) as { sessions: { session: string }[] }).sessions.map((s) => s.session)
    expect(ids).not.toContain('b-only')
  })

  it('answers CORS preflights on the API only for configured origins', async () => {
    const preflight = (origin: string): Promise<Response> =>
      fetch(`${c.url}/api/v1/sessions/x?app=app-a`, {
        method: 'OPTIONS',
        headers: {
          origin,
          'access-control-request-method': 'DELETE',
          'access-control-request-headers': 'authorization',
        },
      })
    const ok = await preflight('https://a.example')
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://a.example')
    expect(ok.headers.get('access-control-allow-methods')).toMatch(/DELETE/)
    expect((await preflight('https://evil.example')).headers.get('access-control-allow-origin')).toBeNull()
  })
})

describe('dev mode', () => {
  it('is visible in /readyz and /metrics', async () => {
    const ready = (await (await fetch(`${dev.url}/readyz`)).json()) as { dev?: boolean }
    expect(ready.dev).toBe(true)
    expect(await (await fetch(`${dev.url}/metrics`)).text()).toMatch(/^rtcpulse_dev_mode 1$/m)
    expect(await (await fetch(`${c.url}/metrics`)).text()).toMatch(/^rtcpulse_dev_mode 0$/m)
    expect(((await (await fetch(`${c.url}/readyz`)).json()) as { dev?: boolean }).dev).toBeUndefined()
  })
})
