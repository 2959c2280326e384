// Simulcast through derivation, storage and scoring on real chDB (core/simulcast.ts, SCORING.md §1,
// §2): a source with three layers whose top layer stops and restarts is one outbound stream keyed by its
// top layer's SSRC, pairs with the receiver of that layer, and its layer switches are counted apart, not
// read as bitrate variance. Summing the layers (score_version 4) gave this very call CV 0.43, a variance
// penalty of 0.58 and a sender keyed by its inactive lowest layer, unpaired.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { analyzeSessions } from '../../analyzer/analyze.ts'
import { storeSession } from '../../analyzer/offline.ts'
import type { OfflineSession, Stat } from '../../analyzer/offline.ts'
import { createChdbStore } from '../../store/chdb.ts'
import type { Store } from '../../store/index.ts'
import { migrate } from '../../store/migrate.ts'
import { guid, testDataDir } from '../helpers/collector.ts'

const T0 = 1_790_000_000_000
let store: Store

beforeAll(async () => {
  store = await createChdbStore({ dataDir: testDataDir(), database: guid('simulcast') })
  await migrate(store)
})
afterAll(async () => {
  await store?.close()
})

const LAYERS = [
  { rid: 'q', ssrc: 11, w: 320, h: 180, bps: 150_000 },
  { rid: 'h', ssrc: 12, w: 640, h: 360, bps: 500_000 },
  { rid: 'f', ssrc: 13, w: 1280, h: 720, bps: 2_500_000 },
] as const

/** 40 s: the top layer `f` is off in seconds 15–24 (as an SFU or the bandwidth estimate switches it off). */
const fOn = (i: number): boolean => i < 15 || i >= 25
const SECONDS = 40

function reports(side: 'sender' | 'receiver'): Stat[][] {
  const sent = new Map<string, { bytes: number; packets: number; frames: number }>()
  const out: Stat[][] = []
  for (let i = 0; i <= SECONDS; i++) {
    const stats: Stat[] = []
    for (const l of LAYERS) {
      const on = i > 0 && (l.rid !== 'f' || fOn(i))
      const c = sent.get(l.rid) ?? { bytes: 0, packets: 0, frames: 0 }
      // ±4% around the layer's rate: a steady encoder.
      if (on) {
        c.bytes += (l.bps * (1 + 0.04 * Math.sin(i))) / 8
        c.packets += Math.round(l.bps / 8 / 1100)
        c.frames += 30
      }
      sent.set(l.rid, c)
      const common = {
        timestamp: T0 + i * 1000,
        kind: 'video',
        ssrc: l.ssrc,
        frameWidth: l.w,
        frameHeight: l.h,
      }
      if (side === 'sender')
        stats.push({
          ...common,
          id: `OT${l.ssrc}`,
          type: 'outbound-rtp',
          mid: '0',
          rid: l.rid,
          active: l.rid !== 'f' || fOn(i),
          bytesSent: c.bytes,
          packetsSent: c.packets,
          framesEncoded: c.frames,
          framesSent: c.frames,
          qualityLimitationReason: 'none',
        })
      // The receiver sees the top layer only, as behind an SFU that forwards it.
      else if (l.rid === 'f')
        stats.push({
          ...common,
          id: `IT${l.ssrc}`,
          type: 'inbound-rtp',
          mid: '0',
          bytesReceived: c.bytes,
          packetsReceived: c.packets,
          packetsLost: 0,
          framesDecoded: c.frames,
        })
    }
    out.push(stats)
  }
  return out
}

describe('simulcast source', () => {
  it('is one stream keyed by its top layer, paired, with layer switches apart from the CV', async () => {
    const s: OfflineSession = {
      app: 'sim',
      session: 's1',
      peers: [{ peer: 'alice' }, { peer: 'bob' }],
      pcs: [
        { peer: 'alice', pc: 'send', reports: reports('sender') },
        { peer: 'bob', pc: 'recv', reports: reports('receiver') },
      ],
    }
    await storeSession(store, s)
    const [a] = await analyzeSessions(store, 'sim', ['s1'], { expectedFps: 30, final: true })
    const out = a?.streams.filter((x) => x.direction === 'outbound') ?? []
    expect(out).toHaveLength(1)
    const src = out[0]
    expect(src?.ssrc).toBe(13)
    // Stopped at 15, back at 25: two switches of the top layer, each also a frame-height change.
    expect(src?.aggregates.layer_switches).toBe(2)
    expect(src?.aggregates.resolution_switches).toBe(2)
    // Each steady segment varies by ±4% (σ/μ ≈ 0.028); summing layers or one CV across the switches
    // would measure the 2.5 Mbps ↔ 0.5 Mbps step instead.
    expect(src?.aggregates.bitrate_cv).toBeLessThan(0.05)
    expect(src?.penalties?.variance).toBe(0)
    // The top layer's rate, judged against its own frame size: no bitrate penalty.
    expect(src?.aggregates.bitrate_p50).toBeGreaterThan(2_000_000)
    expect(src?.remotePeer).toBe('bob')
    const inbound = a?.streams.find((x) => x.direction === 'inbound')
    expect(inbound?.remotePeer).toBe('alice')
    expect(a?.score.legs).toBe(1)
    expect(a?.issues.filter((i) => i.type.endsWith('limitation'))).toEqual([])
  })
})
