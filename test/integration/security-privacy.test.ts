// Guards the privacy promises of SECURITY.md: IP addresses in candidate stats, ICE error events and the
// client address are masked before storage (IPv4 to /24, IPv6 to /48) unless turned off; frames without
// addresses are stored exactly as received; retention per table is applied at start.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { maskIp, maskIpsInText } from '../../collector/privacy.ts'
import { StoreError } from '../../store/index.ts'
import { applyRetention } from '../../store/migrate.ts'
import { startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { reportSequence } from '../helpers/reports.ts'
import type { Stat } from '../helpers/reports.ts'
import { connect, helloFor, statsFrames } from '../helpers/stream-client.ts'

let masked: TestCollector
let clear: TestCollector
beforeAll(async () => {
  masked = await startTestCollector({
    RTCPULSE_ANALYZER: 'false',
    RTCPULSE_RETENTION_DAYS_RAW_FRAMES: '3',
    RTCPULSE_RETENTION_DAYS_PEERS: '30',
  })
  clear = await startTestCollector({ RTCPULSE_ANALYZER: 'false', RTCPULSE_MASK_IPS: 'false' })
})
afterAll(async () => {
  await masked.stop()
  await clear.stop()
})

const PUBLIC_V4 = '203.0.113.77'
const PRIVATE_V4 = '192.168.17.42'
const PUBLIC_V6 = '2001:db8:abcd:12::1'
const TURN = 'turn:[2001:db8:1:2::9]:3478?transport=udp'

// Candidates as a browser behind NAT reports them (webrtc-stats RTCIceCandidateStats).
function withPublicCandidates(i: number, stats: Stat[]): void {
  for (const s of stats) {
    if (s.type === 'local-candidate') {
      Object.assign(s, { address: PUBLIC_V4, ip: PUBLIC_V4, relatedAddress: PRIVATE_V4, url: TURN })
      s.candidateType = 'srflx'
    } else if (s.type === 'remote-candidate') Object.assign(s, { address: PUBLIC_V6, ip: PUBLIC_V6 })
  }
  // The address changes in the second report: the delta carries it too.
  if (i === 1) for (const s of stats) if (s.type === 'local-candidate') s.address = '203.0.113.99'
}

async function streamWithAddresses(c: TestCollector, session: string): Promise<string[]> {
  const frames = statsFrames('pc1', reportSequence('sender', 3, {}, withPublicCandidates))
  const client = await connect(c.streamUrl)
  client.send(helloFor(session))
  await client.waitFor((f) => f.t === 'welcome')
  for (const f of frames) client.send(f)
  client.send({
    t: 'event',
    pc: 'pc1',
    seq: 4,
    ts: Date.now(),
    name: 'icecandidateerror',
    data: { address: PUBLIC_V4, port: 50000, url: `stun:${PUBLIC_V4}:3478`, errorCode: 701 },
  })
  await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 4)
  client.close()
  const rows = await c.store.query<{ frame: string }>(
    'SELECT frame FROM raw_frames WHERE session_id = {s:String} ORDER BY seq',
    { s: session },
  )
  const events = await c.store.query<{ data: string }>(
    'SELECT data FROM events WHERE session_id = {s:String}',
    {
      s: session,
    },
  )
  return [...rows.map((r) => r.frame), ...events.map((e) => e.data)]
}

describe('maskIp', () => {
  it.each([
    ['203.0.113.77', '203.0.113.0'],
    ['2001:db8:abcd:12::1', '2001:db8:abcd::'],
    ['2001:db8::1', '2001:db8::'],
    ['fe80::1%eth0', 'fe80::'],
    ['::1', '::'],
    ['::ffff:198.51.100.9', '::ffff:198.51.100.0'],
    ['abcd-1234.local', 'abcd-1234.local'],
    ['', ''],
  ])('masks %s to %s', (ip, want) => expect(maskIp(ip)).toBe(want))

  it('masks addresses inside URLs and candidate lines', () => {
    expect(maskIpsInText(TURN)).toBe('turn:[2001:db8:1::]:3478?transport=udp')
    expect(maskIpsInText('stun:203.0.113.5:3478')).toBe('stun:203.0.113.0:3478')
    expect(
      maskIpsInText('candidate:1 1 udp 1677 203.0.113.77 50000 typ srflx raddr 10.0.0.5 rport 50000'),
    ).toBe('candidate:1 1 udp 1677 203.0.113.0 50000 typ srflx raddr 10.0.0.0 rport 50000')
    expect(maskIpsInText('stun:stun.example.org:3478')).toBe('stun:stun.example.org:3478')
  })
})

describe('IP masking before storage', () => {
  it('masks candidate addresses in raw frames and events, and the client address', async () => {
    const stored = await streamWithAddresses(masked, 'masked')
    const all = stored.join('\n')
    for (const ip of [PUBLIC_V4, PRIVATE_V4, PUBLIC_V6, '203.0.113.99', '2001:db8:1:2::9', '127.0.0.1'])
      expect(all).not.toContain(ip)
    expect(all).toContain('"address":"203.0.113.0"')
    expect(all).toContain('"relatedAddress":"192.168.17.0"')
    expect(all).toContain('"address":"2001:db8:abcd::"')
    expect(all).toContain('turn:[2001:db8:1::]:3478')
    expect(all).toContain('stun:203.0.113.0:3478')
    const [peer] = await masked.store.query<{ remote_addr: string }>(
      "SELECT remote_addr FROM peers WHERE session_id = 'masked'",
    )
    expect(peer?.remote_addr).toMatch(/^(::ffff:)?127\.0\.0\.0$/)
    // Every stored frame is still valid JSON of the same frame.
    for (const f of stored) expect(() => JSON.parse(f) as unknown).not.toThrow()
  })

  it('stores frames without addresses byte for byte as received', async () => {
    const frames = statsFrames('pc1', reportSequence('receiver', 4)).slice(1)
    // Start at seq 2 with a delta would be refused; send a keyframe first, then the deltas as text.
    const key = statsFrames('pc1', reportSequence('receiver', 1))[0]
    const client = await connect(masked.streamUrl)
    client.send(helloFor('verbatim'))
    await client.waitFor((f) => f.t === 'welcome')
    client.send(key as object)
    const texts = frames.map((f) => JSON.stringify(f).replace('{"t":"stats"', '{ "t" : "stats"'))
    for (const t of texts) client.send(t)
    await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 4)
    client.close()
    const rows = await masked.store.query<{ frame: string }>(
      "SELECT frame FROM raw_frames WHERE session_id = 'verbatim' AND seq > 1 ORDER BY seq",
    )
    expect(rows.map((r) => r.frame)).toEqual(texts)
  })

  it('stores addresses as received when RTCPULSE_MASK_IPS=false', async () => {
    const all = (await streamWithAddresses(clear, 'clear')).join('\n')
    expect(all).toContain(`"address":"${PUBLIC_V4}"`)
    expect(all).toContain(`"relatedAddress":"${PRIVATE_V4}"`)
    expect(all).toContain(`"address":"${PUBLIC_V6}"`)
  })
})

describe('retention', () => {
  const ttl = async (table: string): Promise<string> => {
    const [row] = await masked.store.query<{ engine_full: string }>(
      'SELECT engine_full FROM system.tables WHERE database = {db:String} AND name = {t:String}',
      { db: masked.database, t: table },
    )
    return /TTL (.*?) SETTINGS/.exec(row?.engine_full ?? '')?.[1] ?? ''
  }

  it('applies RTCPULSE_RETENTION_DAYS_<TABLE> at start and leaves other tables at their default', async () => {
    expect(await ttl('raw_frames')).toBe('toDateTime(ts) + toIntervalDay(3)')
    expect(await ttl('peers')).toBe('toDateTime(connected_at) + toIntervalDay(30)')
    expect(await ttl('events')).toBe('toDateTime(ts) + toIntervalDay(90)')
    // Idempotent: a restart with the same settings changes nothing.
    expect(await applyRetention(masked.store, new Map([['raw_frames', 3]]))).toEqual([])
    expect(await applyRetention(masked.store, new Map([['events', 30]]))).toEqual(['events'])
    expect(await ttl('events')).toBe('toDateTime(ts) + toIntervalDay(30)')
    await expect(applyRetention(masked.store, new Map([['nonexistent', 3]]))).rejects.toThrow(StoreError)
  })
})
