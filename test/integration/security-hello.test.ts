// Guards invariant 2 at the door: a hello the collector refuses gets an error frame (when it could be
// read) and the socket is closed at once with a code the SDK treats as final (sdk/PROTOCOL.md), never
// left open until the 10 s hello timeout and its retryable 1013. A token that outlives
// RTCPULSE_MAX_TOKEN_TTL_S is one of them.
import { spawnSync } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyToken } from '../../collector/auth.ts'
import { mintToken } from '../../collector/auth.ts'
import type { ErrorCode } from '../../core/protocol.ts'
import { guid, startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { connect, helloFor } from '../helpers/stream-client.ts'

const key = { kid: 'k1', app: 'demo', secret: 'secret-of-demo-0123456' }
let c: TestCollector
beforeAll(async () => {
  c = await startTestCollector({ RTCPULSE_KEYS: `${key.kid}:${key.app}:${key.secret}` })
})
afterAll(async () => {
  await c.stop()
})

const good = (): string => mintToken(key, {})
const forged = (): string => {
  const t = good()
  return `${t.slice(0, -4)}AAAA`
}

// [what, the first frame, close code, error code (undefined: the message is never read)]
const cases: [string, () => unknown, number, ErrorCode | undefined][] = [
  ['v of the wrong type', () => ({ ...helloFor(guid()), token: good(), v: '1' }), 1008, 'bad_frame'],
  [
    'a missing field',
    () => {
      const { session: _, ...rest } = helloFor(guid(), { token: good() })
      return rest
    },
    1008,
    'bad_frame',
  ],
  ['a bad id', () => helloFor(guid(), { token: good(), peer: 'has space' }), 1008, 'bad_frame'],
  ['a 10 kB token', () => helloFor(guid(), { token: 'x'.repeat(10_000) }), 1008, 'bad_frame'],
  ['an unsupported version', () => helloFor(guid(), { token: good(), v: 2 }), 1008, 'unsupported_version'],
  ['not JSON', () => '{"t":"hello",', 1008, 'bad_json'],
  [
    'a binary message',
    () => Buffer.from(JSON.stringify(helloFor(guid(), { token: good() }))),
    1008,
    'bad_frame',
  ],
  ['a bad token', () => helloFor(guid(), { token: forged() }), 4001, 'unauthenticated'],
  ['no token', () => helloFor(guid()), 4001, 'unauthenticated'],
  [
    'a token valid for 100 years',
    () => helloFor(guid(), { token: mintToken(key, {}, 100 * 365 * 86_400) }),
    4001,
    'unauthenticated',
  ],
  // Over RTCPULSE_MAX_HELLO_BYTES (16 KiB): ws refuses the message before it is read (no error frame).
  ['a 100 kB token', () => helloFor(guid(), { token: 'x'.repeat(100_000) }), 1009, undefined],
]

describe('refused hello', () => {
  for (const [what, frame, code, error] of cases) {
    it(`closes a hello with ${what} within a second (${code})`, async () => {
      const client = await connect(c.streamUrl)
      const sent = performance.now()
      const f = frame()
      if (Buffer.isBuffer(f)) client.ws.send(f)
      else client.send(f as object)
      const closed = await client.closed
      const ms = performance.now() - sent
      expect(closed.code).toBe(code)
      expect(ms).toBeLessThan(1000)
      if (error) expect(client.received).toMatchObject([{ t: 'error', code: error }])
      else expect(client.received).toEqual([])
      if (what.includes('100 years'))
        expect(closed.reason).toMatch(/lifetime is over the collector's maximum of 86400 s/)
    })
  }

  it('still welcomes a good hello', async () => {
    const client = await connect(c.streamUrl)
    client.send(helloFor(guid(), { token: good() }))
    await client.waitFor((f) => f.t === 'welcome')
    client.close()
  })
})

describe('rtcpulse token', () => {
  const cli = (...args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync(process.execPath, ['bin/rtcpulse.js', 'token', '--app', 'demo', ...args], {
      cwd: fileURLToPath(new URL('../../', import.meta.url)),
      env: {
        ...process.env,
        RTCPULSE_KEYS: `${key.kid}:${key.app}:${key.secret}`,
        RTCPULSE_MAX_TOKEN_TTL_S: '7200',
      },
      encoding: 'utf8',
    })

  it('refuses a --ttl over RTCPULSE_MAX_TOKEN_TTL_S', () => {
    const r = cli('--ttl', '7201')
    expect(r.status).not.toBe(0)
    expect(String(r.stderr)).toMatch(/--ttl must be a whole number from 1 to 7200 \(got "7201"\)/)
  })

  it('mints a token the collector accepts at the cap', () => {
    const r = cli('--ttl', '7200')
    expect(r.status).toBe(0)
    const token = String(r.stdout).trim()
    expect(
      verifyToken(token, { app: 'demo', session: 's' }, { keys: [key], dev: false, maxTokenTtlS: 7200 }),
    ).toMatchObject({ ok: true })
  })
})
