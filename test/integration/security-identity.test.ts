// Guards peer identity (SECURITY.md "Peer identity", sdk/PROTOCOL.md): a token bound to a peer or a user
// speaks for nobody else, and a live (app, session, peer) cannot be taken over by another monitor
// instance — a stranger, or the same page opened in a second tab — unless the live stream is dead. Real
// collector, real sockets; the duplicated tab is two real SDK monitors in this process.
import { execFile } from 'node:child_process'
import type { Socket } from 'node:net'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { mintToken } from '../../collector/auth.ts'
import { createMonitor } from '../../sdk/src/index.ts'
import type { MonitorError } from '../../sdk/src/index.ts'
import { guid, startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { monitoredCall, recordingWebSocket } from '../helpers/sdk-node.ts'
import { connect, helloFor } from '../helpers/stream-client.ts'
import type { StreamClient } from '../helpers/stream-client.ts'

const KEY = { kid: 'k1', app: 'demo', secret: 'identity-test-secret-0123456789' }
const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

let dev: TestCollector
let authed: TestCollector
beforeAll(async () => {
  dev = await startTestCollector()
  authed = await startTestCollector({ RTCPULSE_KEYS: `${KEY.kid}:${KEY.app}:${KEY.secret}` })
})
afterAll(async () => {
  await dev?.stop()
  await authed?.stop()
})

const event = (seq: number) => ({ t: 'event', pc: 'pc1', seq, ts: Date.now(), name: 'custom.x' })

/** Opens a stream as `peer` with instance `inst` and waits for welcome (or the refusal). */
async function open(
  url: string,
  session: string,
  extra: Parameters<typeof helloFor>[1] = {},
): Promise<StreamClient> {
  const c = await connect(url)
  c.send(helloFor(session, extra))
  await c.waitFor((f) => f.t === 'welcome' || f.t === 'error')
  return c
}

describe('tokens bound to a peer or a user', () => {
  it('refuses a hello for another peer or user (4003) and accepts the bound one', async () => {
    const session = guid('s')
    const peerToken = mintToken(KEY, { peer: 'alice' }, 600)
    const userToken = mintToken(KEY, { user: 'u-alice' }, 600)
    for (const [token, extra] of [
      [peerToken, { peer: 'bob' }],
      [userToken, { peer: 'bob', user: 'u-bob' }],
      [userToken, { peer: 'bob' }],
    ] as const) {
      const c = await open(authed.streamUrl, session, { token, ...extra })
      expect(c.received[0]).toMatchObject({ t: 'error', code: 'forbidden', message: /bound to another/ })
      expect((await c.closed).code).toBe(4003)
    }
    for (const [token, extra] of [
      [peerToken, { peer: 'alice' }],
      [userToken, { peer: 'carol', user: 'u-alice' }],
    ] as const) {
      const c = await open(authed.streamUrl, guid('s'), { token, ...extra })
      expect(c.received[0]).toMatchObject({ t: 'welcome' })
      c.close()
    }
  })
})

describe('rtcpulse token --peer --user', () => {
  it('mints a token bound to both', async () => {
    const { stdout } = await promisify(execFile)(
      process.execPath,
      ['bin/rtcpulse.js', 'token', '--app', 'demo', '--peer', 'alice', '--user', 'u-alice'],
      {
        cwd: fileURLToPath(new URL('../../', import.meta.url)),
        env: { ...process.env, RTCPULSE_KEYS: `${KEY.kid}:${KEY.app}:${KEY.secret}`, LOG_LEVEL: 'silent' },
      },
    )
    const token = stdout.trim()
    const c = await open(authed.streamUrl, guid('s'), { token, peer: 'alice', user: 'u-alice' })
    expect(c.received[0]).toMatchObject({ t: 'welcome' })
    c.close()
    const other = await open(authed.streamUrl, guid('s'), { token, peer: 'alice', user: 'u-bob' })
    expect(other.received[0]).toMatchObject({ t: 'error', code: 'forbidden' })
  })
})

describe('a live peer', () => {
  it('is not taken over by another instance, with or without an instance id', async () => {
    const session = guid('s')
    const victim = await open(dev.streamUrl, session, { inst: 'victim01' })
    victim.send(event(1))
    await victim.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 1)
    for (const inst of ['intruder', undefined]) {
      const intruder = await open(dev.streamUrl, session, inst ? { inst } : {})
      expect(intruder.received[0]).toMatchObject({ t: 'error', code: 'peer_in_use' })
      expect((await intruder.closed).code).toBe(4003)
    }
    // The victim was never interrupted: its next frame is stored and acknowledged.
    victim.send(event(2))
    await victim.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 2)
    expect(victim.ws.readyState).toBe(victim.ws.OPEN)
    victim.close()
  })

  it('is taken over by a reconnect of the same instance', async () => {
    const session = guid('s')
    const stale = await open(dev.streamUrl, session, { inst: 'same0001' })
    const fresh = await open(dev.streamUrl, session, { inst: 'same0001' })
    expect(fresh.received[0]).toMatchObject({ t: 'welcome' })
    expect((await stale.closed).code).toBe(1008)
    fresh.close()
  })

  it('is taken over by another instance once it fails a liveness probe', async () => {
    const session = guid('s')
    const dead = await open(dev.streamUrl, session, { inst: 'deadtab1' })
    // Half-open: the client stops reading, so it answers no ping (as after a lost network).
    ;(dead.ws as unknown as { _socket: Socket })._socket.pause()
    const t0 = performance.now()
    const next = await open(dev.streamUrl, session, { inst: 'newtab01' })
    expect(next.received[0]).toMatchObject({ t: 'welcome' })
    // The probe waits 3 s for a pong; allow a noisy machine some slack either side.
    expect(performance.now() - t0).toBeGreaterThan(2500)
    next.send(event(1))
    await next.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 1)
    next.close()
    dead.ws.terminate()
  })
})

describe('a duplicated tab (two SDK monitors with the same peer id)', () => {
  it('refuses the second with peer_in_use while the first keeps streaming', { timeout: 60_000 }, async () => {
    const app = 'demo'
    const session = guid('s')
    const first = monitoredCall({ url: dev.url, app, session, peer: 'p1' })
    const count = async (): Promise<number> =>
      (
        await dev.store.query<{ n: number }>(
          `SELECT count() AS n FROM raw_frames WHERE app_id = {app:String} AND session_id = {session:String}`,
          { app, session },
        )
      )[0]?.n ?? 0
    const errors: MonitorError[] = []
    let second: ReturnType<typeof createMonitor> | undefined
    try {
      await first.call.waitConnected()
      // The first tab streams (its frames are stored) before the second opens.
      while ((await count()) < 2) await sleep(200)
      second = createMonitor({
        url: dev.url,
        app,
        session,
        peer: 'p1',
        WebSocket: recordingWebSocket().WebSocket,
        onError: (e) => errors.push(e),
      })
      second.event('opened')
      const deadline = Date.now() + 15_000
      while (!errors.some((e) => e.code === 'forbidden') && Date.now() < deadline) await sleep(100)
      // Every terminal state reaches onError: the error frame's code, then the final close.
      expect(errors.map((e) => e.code)).toEqual(['peer_in_use', 'forbidden'])
      const before = await count()
      await sleep(3000)
      expect(await count()).toBeGreaterThan(before)
      expect(first.errors).toEqual([])
    } finally {
      await second?.close()
      await first.monitor.close()
      await first.call.close()
    }
  })
})
