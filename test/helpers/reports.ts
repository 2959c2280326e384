// Per-second report sequences grown from the real libwebrtc reports in ../shared/fixtures: counters
// advance at a steady, realistic rate so that derived metrics have known expected values.
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export type Stat = { id: string; type: string; timestamp: number; [k: string]: unknown }

const FIXTURES = fileURLToPath(new URL('../../../shared/fixtures/libwebrtc/', import.meta.url))

/** A recorded report (`sender` or `receiver`) as an array of stats objects. */
export function loadFixture(side: 'sender' | 'receiver'): Stat[] {
  return JSON.parse(readFileSync(`${FIXTURES}${side}-report.json`, 'utf8')) as Stat[]
}

/** Stats objects as an RTCStatsReport holds them: a map by id (forEach and iteration give id and object). */
export const asReport = (stats: Stat[]): Map<string, Stat> => new Map(stats.map((s) => [s.id, s]))

export interface Rates {
  /** Media bytes per second added to bytesSent / bytesReceived of video streams. */
  videoBytesPerSecond: number
  videoFps: number
  /** Packets lost per second on inbound streams (receiver side). */
  lostPerSecond: number
}

const DEFAULT_RATES: Rates = { videoBytesPerSecond: 125_000, videoFps: 30, lostPerSecond: 0 }

/**
 * `count` reports one second apart, grown from the fixture and moved in time to end now (tables have
 * TTLs, so stored test data must be recent). Every counter of the RTP streams grows at `rates`;
 * `mutate(i, stats)` may change report `i` further (e.g. reset a counter).
 */
export function reportSequence(
  side: 'sender' | 'receiver',
  count: number,
  rates: Partial<Rates> = {},
  mutate?: (i: number, stats: Stat[]) => void,
): Stat[][] {
  const r = { ...DEFAULT_RATES, ...rates }
  const base = loadFixture(side)
  const t0 = base[0]?.timestamp ?? 0
  const shift = Math.round(Date.now() - count * 1000 - t0)
  for (const s of base) s.timestamp += shift
  const start = t0 + shift
  const out: Stat[][] = []
  for (let i = 0; i < count; i++) {
    const stats = base.map((s) => {
      const o: Stat = structuredClone(s)
      if (o.timestamp === start || o.type !== 'remote-inbound-rtp') o.timestamp = start + i * 1000
      const video = o.kind === 'video'
      const add = (k: string, perSecond: number): void => {
        if (typeof o[k] === 'number') o[k] = o[k] + perSecond * i
      }
      if (o.type === 'outbound-rtp') {
        add('bytesSent', video ? r.videoBytesPerSecond : 4000)
        add('packetsSent', video ? 120 : 50)
        add('headerBytesSent', video ? 3000 : 1400)
        add('framesEncoded', video ? r.videoFps : 0)
        add('framesSent', video ? r.videoFps : 0)
        add('qpSum', video ? 20 * r.videoFps : 0)
      } else if (o.type === 'inbound-rtp') {
        add('bytesReceived', video ? r.videoBytesPerSecond : 4000)
        add('packetsReceived', video ? 120 : 50)
        add('packetsLost', r.lostPerSecond)
        add('framesDecoded', video ? r.videoFps : 0)
        add('framesReceived', video ? r.videoFps : 0)
        add('qpSum', video ? 20 * r.videoFps : 0)
        add('jitterBufferDelay', video ? 0.05 * r.videoFps : 48000 * 0.06)
        add('jitterBufferEmittedCount', video ? r.videoFps : 48000)
        add('totalSamplesReceived', video ? 0 : 48000)
        add('concealedSamples', video ? 0 : 480)
      } else if (o.type === 'candidate-pair' && o.nominated) {
        add('bytesSent', r.videoBytesPerSecond + 4000)
        add('bytesReceived', 2000)
        add('responsesReceived', 1)
        add('totalRoundTripTime', 0.05)
        o.currentRoundTripTime = 0.05
      }
      return o
    })
    mutate?.(i, stats)
    out.push(stats)
  }
  return out
}
