// Every permessage-deflate offer a browser or client sends opens the stream (101), never 400 — the
// invariant Firefox broke: it offers a bare `permessage-deflate`, which ws configured with a fixed
// client window refused, and every Firefox SDK fell back to HTTP POST. Real collector on port 0, a raw
// socket sending each client's exact header, then compressed hello and stats frames that must be
// inflated, stored and acknowledged with the negotiated window and context takeover.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import WebSocket from 'ws'
import { startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { reportSequence } from '../helpers/reports.ts'
import { helloFor, statsFrames } from '../helpers/stream-client.ts'
import { rawConnect } from '../helpers/ws-raw.ts'

// The Sec-WebSocket-Extensions request headers as each client sends them.
const BROWSER_OFFERS = {
  // Chromium (net/websockets/websocket_deflate_parameters.cc offers client_max_window_bits bare).
  chrome: 'permessage-deflate; client_max_window_bits',
  // Firefox (netwerk/protocol/websocket/WebSocketChannel.cpp): the bare extension.
  firefox: 'permessage-deflate',
  // Safari 15+ (NSURLSession WebSocket): the bare extension too; it supports neither window
  // negotiation nor client_no_context_takeover (uWebSockets #1347), so neither may be asked of it.
  safari: 'permessage-deflate',
  // Node's ws client with perMessageDeflate: true (lib/permessage-deflate.js offer()).
  ws: 'permessage-deflate; client_max_window_bits',
} as const

/** Parses a response's Sec-WebSocket-Extensions into its parameters. */
const answer = (header: string | undefined): Record<string, string | true> | undefined => {
  if (header === undefined) return undefined
  const [name, ...params] = header.split(';').map((s) => s.trim())
  expect(name).toBe('permessage-deflate')
  return Object.fromEntries(
    params.map((p): [string, string | true] => [p.split('=')[0] ?? '', p.split('=')[1] ?? true]),
  )
}

describe('permessage-deflate handshake offers', () => {
  let c: TestCollector
  let sessions = 0
  beforeAll(async () => {
    c = await startTestCollector()
  })
  afterAll(async () => {
    await c?.stop()
  })

  /** Opens with `offer`, streams a hello and 5 stats frames (the first a >4 KB keyframe), awaits the acks. */
  const roundTrip = async (offer: string | undefined, session: string) => {
    const raw = await rawConnect(c.streamUrl, offer)
    expect(raw.response.status).toBe(101)
    const frames = statsFrames('pc1', reportSequence('sender', 5))
    expect(JSON.stringify(frames[0]).length).toBeGreaterThan(4096)
    // A session of its own per connection: a stored one would be resumed past these frames (welcome).
    await raw.sendText(JSON.stringify(helloFor(`${session}-${++sessions}`)))
    for (const f of frames) await raw.sendText(JSON.stringify(f))
    await expect
      .poll(() => raw.received.map((t) => JSON.parse(t) as { t: string; seq?: Record<string, number> }), {
        timeout: 15_000,
      })
      .toEqual(expect.arrayContaining([expect.objectContaining({ t: 'ack', seq: { pc1: 5 } })]))
    expect(raw.received.some((t) => t.includes('"t":"error"'))).toBe(false)
    raw.close()
    return answer(raw.response.headers['sec-websocket-extensions'])
  }

  it.each(['chrome', 'ws'] as const)(
    'asks %s (client_max_window_bits offered bare) for a 4 KiB client window',
    async (client) => {
      const params = await roundTrip(BROWSER_OFFERS[client], `hs-${client}`)
      expect(params).toEqual({ client_max_window_bits: '12', server_no_context_takeover: true })
    },
  )

  it.each(['firefox', 'safari'] as const)(
    'accepts the bare offer of %s without client_max_window_bits (a 15-bit client window)',
    async (client) => {
      // RFC 7692 §7.1.2.2: not offered, so the server must not send client_max_window_bits.
      const params = await roundTrip(BROWSER_OFFERS[client], `hs-${client}`)
      expect(params).toEqual({ server_no_context_takeover: true })
    },
  )

  it.each([
    [
      'a client window hint below ours',
      'permessage-deflate; client_max_window_bits=10',
      { client_max_window_bits: '10' },
    ],
    [
      'a client window hint above ours',
      'permessage-deflate; client_max_window_bits=15',
      { client_max_window_bits: '12' },
    ],
    [
      'a limit on the server window',
      'permessage-deflate; server_max_window_bits=10; client_max_window_bits',
      { server_max_window_bits: '10', client_max_window_bits: '12' },
    ],
    [
      'both no_context_takeover flags (the client keeps its context)',
      'permessage-deflate; client_no_context_takeover; server_no_context_takeover',
      {},
    ],
    [
      'several offers, the first declinable (8-bit server window)',
      'permessage-deflate; server_max_window_bits=8, permessage-deflate; client_max_window_bits',
      { client_max_window_bits: '12' },
    ],
    ['a quoted value', 'permessage-deflate; client_max_window_bits="11"', { client_max_window_bits: '11' }],
    ['an 8-bit client hint (left out: a 15-bit window)', 'permessage-deflate; client_max_window_bits=8', {}],
  ])('accepts %s', async (_, offer, expected) => {
    const params = await roundTrip(offer, 'hs-edge')
    expect(params).toEqual({ server_no_context_takeover: true, ...expected })
  })

  it.each([
    ['no extension header', undefined],
    ["Safari's old x-webkit-deflate-frame only", 'x-webkit-deflate-frame'],
    ['an unknown parameter', 'permessage-deflate; foo=1'],
    ['an out-of-range window', 'permessage-deflate; client_max_window_bits=16'],
    ['a repeated parameter', 'permessage-deflate; client_max_window_bits=10; client_max_window_bits=11'],
    ['a malformed header', 'permessage-deflate; ="'],
  ])('opens uncompressed on %s', async (_, offer) => {
    expect(await roundTrip(offer, 'hs-plain')).toBeUndefined()
  })

  it("negotiates with Node's ws client as it is configured by default, and streams through it", async () => {
    const ws = new WebSocket(c.streamUrl)
    let header: string | undefined
    ws.once('upgrade', (res) => (header = res.headers['sec-websocket-extensions']))
    await new Promise<void>((resolve, reject) => {
      ws.once('open', resolve)
      ws.once('error', reject)
    })
    expect(answer(header)).toEqual({ client_max_window_bits: '12', server_no_context_takeover: true })
    const received: string[] = []
    ws.on('message', (d: Buffer) => received.push(d.toString('utf8')))
    ws.send(JSON.stringify(helloFor('hs-ws-lib')))
    for (const f of statsFrames('pc1', reportSequence('sender', 3))) ws.send(JSON.stringify(f))
    await expect
      .poll(() => received.some((t) => t.includes('"ack"') && t.includes('"pc1":3')), { timeout: 15_000 })
      .toBe(true)
    ws.close()
  })
})
