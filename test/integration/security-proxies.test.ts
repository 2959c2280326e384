// Guards RTCPULSE_TRUSTED_PROXIES (SECURITY.md "Transport"): a forwarded client address is believed only
// when the hop that sent it is a trusted proxy, on the WebSocket upgrade and on the HTTP fallback alike,
// for the stored (masked) address and for the per-address limit. Real collectors, real sockets from
// 127.0.0.1; the headers are what a load balancer would add.
import { afterAll, describe, expect, it } from 'vitest'
import { guid, startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { connect, helloFor } from '../helpers/stream-client.ts'

const started: TestCollector[] = []
afterAll(async () => {
  for (const c of started) await c.stop()
})
const start = async (env: Record<string, string>): Promise<TestCollector> => {
  const c = await startTestCollector({ RTCPULSE_MAX_CONNECTIONS_PER_IP: '2', ...env })
  started.push(c)
  return c
}

/** Streams a hello with `headers` and returns the address stored for the peer. */
async function storedAddress(c: TestCollector, headers: Record<string, string>): Promise<string> {
  const session = guid('s')
  const client = await connect(c.streamUrl, headers)
  client.send(helloFor(session))
  await client.waitFor((f) => f.t === 'welcome')
  client.send({ t: 'event', pc: 'pc1', seq: 1, ts: Date.now(), name: 'custom.x' })
  await client.waitFor((f) => f.t === 'ack')
  client.close()
  const rows = await c.store.query<{ remote_addr: string }>(
    'SELECT remote_addr FROM peers WHERE session_id = {session:String}',
    { session },
  )
  return rows[0]?.remote_addr ?? '(none)'
}

/** Posts one batch to /v1/ingest with `headers` and returns the address stored for the peer. */
async function ingestAddress(c: TestCollector, headers: Record<string, string>): Promise<string> {
  const session = guid('s')
  const res = await fetch(`${c.url}/v1/ingest`, {
    method: 'POST',
    headers,
    body: JSON.stringify({
      hello: helloFor(session),
      frames: [{ t: 'event', pc: 'pc1', seq: 1, ts: Date.now(), name: 'custom.x' }],
    }),
  })
  expect(res.status).toBe(200)
  await c.collector.ingest.flush()
  const rows = await c.store.query<{ remote_addr: string }>(
    'SELECT remote_addr FROM peers WHERE session_id = {session:String}',
    { session },
  )
  return rows[0]?.remote_addr ?? '(none)'
}

describe('RTCPULSE_TRUSTED_PROXIES', () => {
  it('believes X-Forwarded-For and Forwarded only from a trusted proxy', async () => {
    const trusting = await start({ RTCPULSE_TRUSTED_PROXIES: '10.0.0.0/8, 127.0.0.1/32, fd00::/8' })
    const untrusting = await start({})
    // Stored addresses are masked (IPv4 to /24, IPv6 to /48).
    const xff = { 'x-forwarded-for': '198.51.100.7, 10.1.2.3' }
    expect(await storedAddress(trusting, xff)).toBe('198.51.100.0')
    expect(await storedAddress(untrusting, xff)).toBe('127.0.0.0')
    // RFC 7239 §4: quoted IPv6 with a port; the spoofed left-most entry is not reached.
    const fwd = { forwarded: 'for=203.0.113.9, for="[2001:db8:cafe::17]:4711";proto=https, for=10.9.9.9' }
    expect(await storedAddress(trusting, fwd)).toBe('2001:db8:cafe::')
    // The client (untrusted) cannot push a forged address past itself.
    const forged = { 'x-forwarded-for': '192.0.2.1, 198.51.100.7' }
    expect(await storedAddress(trusting, forged)).toBe('198.51.100.0')
    expect(await ingestAddress(trusting, xff)).toBe('198.51.100.0')
    expect(await ingestAddress(untrusting, xff)).toBe('127.0.0.0')
  })

  it('counts the per-address limit per forwarded client, not per proxy', async () => {
    const trusting = await start({ RTCPULSE_TRUSTED_PROXIES: '127.0.0.1' })
    const open = async (client: string) => {
      const c = await connect(trusting.streamUrl, { 'x-forwarded-for': client })
      c.send(helloFor(guid('s')))
      await c.waitFor((f) => f.t === 'welcome' || f.t === 'error').catch(() => undefined)
      return c
    }
    // Limit 2 per address: three clients behind one proxy each get theirs; a third stream of one is cut.
    const a = [await open('198.51.100.1'), await open('198.51.100.1')]
    const b = await open('198.51.100.2')
    expect(b.received[0]).toMatchObject({ t: 'welcome' })
    // Refused on connection, before any hello.
    const a3 = await connect(trusting.streamUrl, { 'x-forwarded-for': '198.51.100.1' })
    expect((await a3.closed).code).toBe(4029)
    for (const c of [...a, b]) c.close()
  })

  it('refuses a malformed list at start, naming the variable', async () => {
    await expect(startTestCollector({ RTCPULSE_TRUSTED_PROXIES: '10.0.0.0/33' })).rejects.toThrow(
      /RTCPULSE_TRUSTED_PROXIES="10.0.0.0\/33" is invalid/,
    )
    await expect(startTestCollector({ RTCPULSE_TRUSTED_PROXIES: 'proxy.local' })).rejects.toThrow(
      /not an IPv4 or IPv6 address/,
    )
  })
})
