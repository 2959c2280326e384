// Realistic getStats() report series for the benchmarks, grown from real libwebrtc recordings.
//
// Source, best first: `test/fixtures/recorded/<role>-30s.json` (30 consecutive 1 Hz reports of a loopback
// @roamhq/wrtc call), else the single report in `../shared/fixtures/libwebrtc/<role>-report.json`. A series
// replays the recording's per-second *steps* onto a running state, so it can run for any length: counters
// keep growing by the recorded increments (bytes and packets scaled by a slow random walk, so no two
// sessions — and no two loops of the recording — are identical), gauges (jitter, RTT, audio level, …) take
// the recorded value with a small random walk, timestamps advance by the recorded Δt. Deterministic per seed.
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { encodeDelta, normalizeReport } from '../core/delta.ts'
import type { StatsState } from '../core/delta.ts'
import { prng } from '../test/helpers/prng.ts'

export type Role = 'sender' | 'receiver'
export type Stat = Record<string, unknown> & { id: string; type: string; timestamp: number }

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RECORDED = (role: Role): string => `${ROOT}test/fixtures/recorded/${role}-30s.json`
const SHARED = (role: Role): string => `${ROOT}../shared/fixtures/libwebrtc/${role}-report.json`

// Instantaneous values (webrtc-stats marks them as such); every other number is a cumulative counter.
const GAUGES = new Set([
  'jitter',
  'audioLevel',
  'framesPerSecond',
  'availableOutgoingBitrate',
  'availableIncomingBitrate',
  'currentRoundTripTime',
  'roundTripTime',
  'targetBitrate',
  'frameWidth',
  'frameHeight',
  'fractionLost',
  'ssrc',
  'port',
  'priority',
  'payloadType',
  'clockRate',
  'channels',
])
const RATE_SCALED = /bytes|Bytes|packets|Packets/
const NOISY_GAUGES = new Set(['jitter', 'currentRoundTripTime', 'roundTripTime'])

export interface Recording {
  role: Role
  /** Where the reports came from, for the results. */
  origin: string
  reports: Stat[][]
}

/** Loads the recorded sequence of `role`, falling back to the single shared fixture report. Throws if neither exists. */
export function loadRecording(role: Role): Recording {
  if (existsSync(RECORDED(role))) {
    const file = JSON.parse(readFileSync(RECORDED(role), 'utf8')) as { reports: Stat[][] }
    if (file.reports.length >= 3)
      return { role, origin: `test/fixtures/recorded/${role}-30s.json`, reports: file.reports }
  }
  const one = JSON.parse(readFileSync(SHARED(role), 'utf8')) as Stat[]
  return {
    role,
    origin: `../shared/fixtures/libwebrtc/${role}-report.json (synthetic steps)`,
    reports: synthesize(one),
  }
}

/** Without a recorded sequence: 11 reports one second apart with typical 640x360/30 fps + opus increments. */
function synthesize(base: Stat[]): Stat[][] {
  const out: Stat[][] = [base]
  for (let i = 1; i <= 10; i++) {
    out.push(
      (out[i - 1] as Stat[]).map((o) => {
        const n: Stat = { ...o, timestamp: o.timestamp + 1000 }
        const video = o.kind === 'video'
        const step: Record<string, number> = video
          ? {
              bytesSent: 62_500,
              bytesReceived: 62_500,
              packetsSent: 60,
              packetsReceived: 60,
              framesEncoded: 30,
            }
          : { bytesSent: 4_000, bytesReceived: 4_000, packetsSent: 50, packetsReceived: 50 }
        Object.assign(step, { framesSent: 30, framesDecoded: 30, framesReceived: 30, qpSum: 900 })
        for (const [k, d] of Object.entries(step)) if (typeof n[k] === 'number') n[k] = n[k] + d
        return n
      }),
    )
  }
  return out
}

export interface SeriesOptions {
  seed: number
  /** Timestamp of the first report, ms since the epoch. */
  startTs: number
  /** Long-run multiplier of the recorded bitrate (1 = as recorded). */
  scale?: number
  /** Give streams their own ssrc (and stats ids) per series, as separate real calls would have. */
  remapSsrc?: boolean
}

/**
 * An endless series of reports: `next()` returns report 0, 1, 2, … of this session. The first reports
 * follow the recording (objects appear and go as they did), then its steady tail loops.
 */
export class ReportSeries {
  private state: Map<string, Stat> | undefined
  private i = 0
  private readonly rand: () => number
  private readonly shift: number
  private walk = 1
  private readonly steadyFrom: number
  private readonly ssrcMap = new Map<string, string>()

  constructor(
    private readonly rec: Recording,
    private readonly opts: SeriesOptions,
  ) {
    this.rand = prng(opts.seed)
    this.shift = opts.startTs - ((rec.reports[0] as Stat[])[0] as Stat).timestamp
    // The loop starts where the set of ids stops changing, so looping never adds or drops objects.
    const ids = rec.reports.map((r) =>
      r
        .map((o) => o.id)
        .sort()
        .join('|'),
    )
    let s = ids.length - 1
    while (s > 0 && ids[s - 1] === ids[ids.length - 1]) s--
    this.steadyFrom = Math.min(s, rec.reports.length - 2)
    if (opts.remapSsrc) {
      for (const o of rec.reports.flat()) {
        if (typeof o.ssrc === 'number' && !this.ssrcMap.has(String(o.ssrc))) {
          this.ssrcMap.set(String(o.ssrc), String(1 + Math.floor(this.rand() * 4_294_967_294)))
        }
      }
    }
  }

  /** Index of the next report. */
  get index(): number {
    return this.i
  }

  /** The next report, as an array of stats objects (what RTCStatsReport.forEach would visit). */
  next(): Stat[] {
    const reports = this.rec.reports
    const n = reports.length
    const j = this.i < n ? this.i : this.steadyFrom + 1 + ((this.i - n) % (n - 1 - this.steadyFrom))
    const cur = reports[j] as Stat[]
    if (!this.state) {
      this.state = new Map(cur.map((o) => [o.id, this.fresh(o)]))
    } else {
      const prevRec = new Map((reports[j - 1] as Stat[]).map((o) => [o.id, o]))
      // Bitrate drifts slowly around the session's scale (AR(1)), as congestion control does.
      this.walk = Math.min(1.5, Math.max(0.5, 1 + 0.85 * (this.walk - 1) + (this.rand() - 0.5) * 0.12))
      const factor = this.walk * (this.opts.scale ?? 1)
      const next = new Map<string, Stat>()
      for (const o of cur) {
        const before = prevRec.get(o.id)
        const running = this.state.get(this.mapId(o.id))
        next.set(this.mapId(o.id), before && running ? this.step(running, before, o, factor) : this.fresh(o))
      }
      this.state = next
    }
    this.i++
    return [...this.state.values()]
  }

  private mapId(id: string): string {
    if (this.ssrcMap.size === 0) return id
    return id.replace(/\d{6,}/g, (m) => this.ssrcMap.get(m) ?? m)
  }

  private mapValue(k: string, v: unknown): unknown {
    if (this.ssrcMap.size === 0) return v
    if (k === 'ssrc' && typeof v === 'number') return Number(this.ssrcMap.get(String(v)) ?? v)
    if (typeof v === 'string' && /Id$/.test(k)) return this.mapId(v)
    return v
  }

  /** An object first seen in the recording: copied, with time moved to this series' clock. */
  private fresh(o: Stat): Stat {
    const n: Stat = { ...o, id: this.mapId(o.id), timestamp: o.timestamp + this.shift }
    for (const k in n) {
      if (k !== 'timestamp' && k.endsWith('Timestamp') && typeof n[k] === 'number') n[k] = n[k] + this.shift
      else if (k !== 'id') n[k] = this.mapValue(k, n[k])
    }
    return n
  }

  /** Advances `running` by the recorded step `before` → `after`. */
  private step(running: Stat, before: Stat, after: Stat, factor: number): Stat {
    const n: Stat = { ...running }
    for (const k in after) {
      if (k === 'id') continue
      const a = after[k]
      const b = before[k]
      const r = running[k]
      if (typeof a === 'number' && typeof b === 'number' && typeof r === 'number' && !GAUGES.has(k)) {
        let d = a - b
        if (k.endsWith('imestamp')) d = Math.max(0, d)
        else if (RATE_SCALED.test(k)) d *= factor
        else if (k === 'totalRoundTripTime' || k === 'qpSum') d *= 0.8 + 0.4 * this.rand()
        if (d < 0 && k !== 'packetsLost') d = 0
        n[k] = Number.isInteger(a) && Number.isInteger(b) ? r + Math.round(d) : r + d
      } else if (typeof a === 'number' && NOISY_GAUGES.has(k)) {
        n[k] = Math.max(0, a * (0.7 + 0.6 * this.rand()))
      } else if (
        typeof a === 'object' &&
        a !== null &&
        typeof b === 'object' &&
        b !== null &&
        typeof r === 'object' &&
        r
      ) {
        // qualityLimitationDurations: a record of cumulative seconds per reason.
        const rec: Record<string, number> = { ...(r as Record<string, number>) }
        for (const [rk, av] of Object.entries(a as Record<string, number>)) {
          rec[rk] = (rec[rk] ?? 0) + Math.max(0, av - ((b as Record<string, number>)[rk] ?? 0))
        }
        n[k] = rec
      } else if (!(k in running) || typeof a !== 'number' || GAUGES.has(k)) {
        n[k] = this.mapValue(k, k.endsWith('imestamp') && typeof a === 'number' ? a + this.shift : a)
      }
    }
    for (const k in running) if (!(k in after)) delete n[k]
    // Occasional loss, so loss columns are not all zero: a few packets in ~5% of seconds.
    if (this.rand() < 0.05 && typeof n.packetsLost === 'number') {
      n.packetsLost += 1 + Math.floor(this.rand() * 6)
      if (typeof n.fractionLost === 'number') n.fractionLost = Math.round(this.rand() * 20) / 256
    }
    return n
  }
}

/** `normalizeReport` takes an RTCStatsReport; an array has the same forEach. */
export const asReport = (stats: Stat[]): Parameters<typeof normalizeReport>[0] => stats

/** Report timestamp of a report array (the SDK uses the objects' own clock), ms. */
export const reportTs = (stats: Stat[]): number => (stats[0] as Stat).timestamp

/**
 * The JSON body of a stats frame after its `{"t":"stats","pc":…,"seq":…,"ts":…,` prefix, exactly as the
 * SDK's encoder produces it: `"key":true,"d":{…}}` or `"d":{…},"rm":[…]}`.
 */
export function frameBody(prev: StatsState | undefined, next: StatsState): string {
  const enc = encodeDelta(prev, next)
  const frame: Record<string, unknown> = {}
  if (enc.key) frame.key = true
  frame.d = enc.d
  if (enc.rm.length) frame.rm = enc.rm
  return JSON.stringify(frame).slice(1)
}

/** Prefix of a stats frame; `frameText(prefix(...), body)` is the whole frame text. */
export const framePrefix = (pc: string, seq: number, ts: number): string =>
  `{"t":"stats","pc":${JSON.stringify(pc)},"seq":${seq},"ts":${ts},`

/** One encoded second of a role's shared timeline (see Timeline). */
export interface TimelineEntry {
  ts: number
  /** Delta body against the previous second. */
  delta: string
  /** Keyframe body of this second (for a client that starts here). */
  key: string
}

/**
 * A shared, lazily encoded timeline for the load generator: entry i is second i since `startTs`. All
 * clients of a role send the same bodies (a client starting at second s sends key(s), then delta(s+1), …),
 * so the generator encodes each second once, with the real SDK encoder, whatever the client count.
 */
export class Timeline {
  private readonly series: ReportSeries
  private readonly entries: TimelineEntry[] = []
  private prev: StatsState | undefined

  constructor(rec: Recording, startTs: number, seed = 1) {
    this.series = new ReportSeries(rec, { seed, startTs })
  }

  /** Entry `i` (encoding every entry up to it on first use). */
  at(i: number): TimelineEntry {
    while (this.entries.length <= i) {
      const report = this.series.next()
      const ts = reportTs(report)
      const state = normalizeReport(asReport(report), ts)
      this.entries.push({ ts, delta: frameBody(this.prev ?? state, state), key: frameBody(undefined, state) })
      this.prev = state
    }
    return this.entries[i] as TimelineEntry
  }
}
