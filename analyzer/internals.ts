// Reads the dump chrome://webrtc-internals exports ("Create a WebRTC-Internals dump") into per-second
// getStats() reports, so it can go through the collector's derivation and the analyzer like live data.
//
// Format (Chromium content/browser/resources/webrtc/ dump_creator / stats_helper): { UserAgent,
// getUserMedia: [...], PeerConnections: { "<pid>-<lid>": { url, rtcConfiguration, updateLog: [...],
// stats: { "<statsId>-<field>": { statsType, startTime, endTime, values: "[json]" } } } } }. Each series
// holds the last samples of one field of one stats object, one per poll (1 s), from startTime to
// endTime. What changed since 2020: `statsType` is absent from older exports (Chrome 86; internals-type.ts
// infers it), `values` may be an array rather than its JSON, recent exports add each object's `type` and
// `timestamp` series (the real poll times), and the update log's shape (internals-events.ts). Series
// whose name holds `[` are webrtc-internals' computed rates (e.g. `[bytesSent_in_bits/s]`) and are
// skipped. Legacy goog stats and the rtcstats file format are refused with a message naming them.
import { pcEvents } from './internals-events.ts'
import { inferStatsType } from './internals-type.ts'
import type { OfflinePc, OfflineSession, Stat } from './offline.ts'

export { pcEvents }

export interface InternalsSeries {
  statsType?: string
  startTime?: string
  endTime?: string
  values?: string | unknown[]
}

export interface InternalsPc {
  url?: string
  stats?: Record<string, InternalsSeries>
  /** `time` (ISO or locale string) in older exports (Chrome 86), `timestamp` (epoch ms) in recent ones. */
  updateLog?: { time?: string; timestamp?: number; type?: string; value?: string }[]
}

export interface InternalsDump {
  UserAgent?: string
  getUserMedia?: unknown[]
  PeerConnections?: Record<string, InternalsPc>
}

/** Thrown when the input is not a webrtc-internals dump; the message says what is wrong. */
export class DumpError extends Error {
  override readonly name = 'DumpError'
}

/**
 * Parses a dump file's text. Throws DumpError, naming the format, for the other file webrtc-internals
 * can export (the rtcstats `RTCStatsDump` format: a header line, then one JSON array per event) and for
 * text that is not JSON.
 */
export function parseDumpText(text: string, file: string): unknown {
  if (text.startsWith('RTCStatsDump'))
    throw new DumpError(
      `${file} is an rtcstats dump ("RTCStatsDump"), which rtcpulse does not read: in ` +
        'chrome://webrtc-internals use "Create a WebRTC-Internals dump" (the JSON format) instead',
    )
  try {
    return JSON.parse(text) as unknown
  } catch (err) {
    throw new DumpError(`${file} is not JSON (${(err as Error).message})`)
  }
}

/** A series value as getStats() had it: JSON object strings (qualityLimitationDurations) become objects. */
function value(v: unknown): unknown {
  if (typeof v === 'string' && v.startsWith('{')) {
    try {
      return JSON.parse(v) as unknown
    } catch {
      return v
    }
  }
  return v
}

/** The most frequent value; of equally frequent ones the latest (a lagging RTCP time is earlier). */
function mode(values: number[]): number {
  const counts = new Map<number, number>()
  for (const v of values) counts.set(v, (counts.get(v) ?? 0) + 1)
  let best = values[0] as number
  for (const [v, c] of counts)
    if (c > (counts.get(best) ?? 0) || (c === counts.get(best) && v > best)) best = v
  return best
}

interface Parsed {
  id: string
  field: string
  start: number
  end: number
  values: unknown[]
}

// Fields getStats() returns as numbers or strings that some exports wrote as the other (Chrome 86 wrote
// `ssrc` as a string; recent exports write `mid` as a number): back to the type webrtc-stats §8 gives.
const NUMERIC = new Set(['ssrc'])
const TEXT = new Set(['mid', 'rid'])

// audioLevel is 0..1 (webrtc-stats §8.6, 1.0 = 0 dBov). Chrome 86 wrote inbound-rtp's on libwebrtc's
// int16 scale (0..32767, its track's audioLevel is the same value over 32767) and −1 before any audio.
const INT16_MAX = 32767

/** A series value as getStats() defines it; undefined drops the sample (a placeholder, not a value). */
function coerce(field: string, v: unknown): unknown {
  if (NUMERIC.has(field) && typeof v === 'string' && /^\d+$/.test(v)) return Number(v)
  if (field === 'audioLevel' && typeof v === 'number') return v < 0 ? undefined : v > 1 ? v / INT16_MAX : v
  if (TEXT.has(field) && typeof v === 'number') return String(v)
  return value(v)
}

/** Index of the first poll at or after `t` (with `slack` ms of tolerance), by binary search. */
function pollAt(grid: number[], t: number, slack: number): number {
  let lo = 0
  let hi = grid.length - 1
  if (t - slack > (grid[hi] as number)) return hi
  while (lo < hi) {
    const mid = (lo + hi) >> 1
    if ((grid[mid] as number) >= t - slack) hi = mid
    else lo = mid + 1
  }
  return lo
}

/** The types of a pc's objects: `statsType`, else the object's own `type` series, else inferred. */
function objectTypes(stats: Record<string, InternalsSeries>, series: Parsed[]): Map<string, string> {
  const declared = new Map<string, string>()
  const fields = new Map<string, Map<string, unknown>>()
  for (const [name, s] of Object.entries(stats)) {
    const dash = name.lastIndexOf('-')
    if (dash > 0 && s.statsType) declared.set(name.slice(0, dash), s.statsType)
  }
  for (const s of series) {
    let f = fields.get(s.id)
    if (!f) fields.set(s.id, (f = new Map<string, unknown>()))
    f.set(s.field, s.values[s.values.length - 1])
  }
  const types = new Map<string, string>()
  for (const [id, f] of fields) {
    const own = f.get('type')
    types.set(id, declared.get(id) ?? (typeof own === 'string' && own ? own : inferStatsType(id, f)))
  }
  return types
}

/**
 * The poll times. Recent exports (Chrome 144 to 149 here) keep each object's `timestamp` series: the polls are
 * then the timestamps of the longest series of a local object (remote-* objects carry the time of the
 * RTCP report they describe, which lags the poll). Older exports keep only a series' first and last
 * time: an even grid from the start to the end most full-length series share.
 */
function pollGrid(series: Parsed[], types: Map<string, string>): number[] {
  const n = Math.max(...series.map((s) => s.values.length))
  const stamped = series.find(
    (s) =>
      s.field === 'timestamp' &&
      s.values.length === n &&
      !(types.get(s.id) ?? '').startsWith('remote-') &&
      s.values.every((v, i) => typeof v === 'number' && (i === 0 || v > (s.values[i - 1] as number))),
  )
  if (stamped) return stamped.values.map((v) => Math.round(v as number))
  const full = series.filter((s) => s.values.length === n)
  const start = mode(full.map((s) => s.start))
  const end = mode(full.map((s) => s.end))
  const step = n > 1 && end > start ? (end - start) / (n - 1) : 1000
  return Array.from({ length: n }, (_, i) => Math.round(start + i * step))
}

/**
 * Rebuilds one pc's reports, one per poll, in time order. Never throws on odd series (they are skipped).
 *
 * Every poll adds one point to the series of every object present, so a series covers consecutive polls
 * up to its last one. Polls are not exactly evenly spaced, so sample times are not computed per series
 * (that would scatter one poll over neighbouring seconds): the polls form one grid, and every series is
 * placed on it by its end time, sample i at poll (last − (n − 1 − i)). An object's `timestamp` is its
 * own when the export kept it, else its poll's.
 */
export function pcReports(stats: Record<string, InternalsSeries>): Stat[][] {
  const series: Parsed[] = []
  for (const [name, s] of Object.entries(stats)) {
    if (name.includes('[')) continue
    const dash = name.lastIndexOf('-')
    if (dash <= 0) continue
    const field = name.slice(dash + 1)
    if (field === 'id') continue
    let values: unknown
    try {
      values = typeof s.values === 'string' ? JSON.parse(s.values) : s.values
    } catch {
      continue
    }
    const start = Date.parse(s.startTime ?? '')
    const end = Date.parse(s.endTime ?? '')
    if (!Array.isArray(values) || values.length === 0 || !Number.isFinite(start)) continue
    series.push({ id: name.slice(0, dash), field, start, end: Number.isFinite(end) ? end : start, values })
  }
  if (series.length === 0) return []
  const types = objectTypes(stats, series)
  const grid = pollGrid(series, types)
  const n = grid.length
  const steps = grid.slice(1).map((t, i) => t - (grid[i] as number))
  const step = steps.length > 0 ? (steps.sort((a, b) => a - b)[steps.length >> 1] as number) : 1000
  // A stats timestamp is never after its poll: a sample belongs to the first poll at or after it (with a
  // quarter step of slack for the grid's own rounding).
  // remote-* objects end on the time of their last RTCP report, which can lag the last poll by seconds
  // (a receiver report every few seconds): one present until its local object's last poll ends there.
  const lastPoll = new Map<string, number>()
  const localOf = new Map<string, string>()
  for (const s of series) {
    lastPoll.set(s.id, Math.max(lastPoll.get(s.id) ?? 0, pollAt(grid, s.end, step / 4)))
    const v = s.values[s.values.length - 1]
    if (s.field === 'localId' && typeof v === 'string') localOf.set(s.id, v)
  }
  const ends = (s: Parsed): number => {
    const own = pollAt(grid, s.end, step / 4)
    const local = (types.get(s.id) ?? '').startsWith('remote-') ? localOf.get(s.id) : undefined
    const localLast = local === undefined ? undefined : lastPoll.get(local)
    return localLast !== undefined && localLast > own && localLast - (s.values.length - 1) >= 0
      ? localLast
      : own
  }
  const reports = grid.map(() => new Map<string, Stat>())
  for (const s of series) {
    if (s.field === 'type') continue
    const last = ends(s)
    s.values.forEach((v, i) => {
      const at = last - (s.values.length - 1 - i)
      if (at < 0 || at >= n || v === null || v === undefined) return
      const report = reports[at] as Map<string, Stat>
      let obj = report.get(s.id)
      if (!obj)
        report.set(s.id, (obj = { id: s.id, type: types.get(s.id) ?? '', timestamp: grid[at] as number }))
      if (s.field === 'timestamp') {
        if (typeof v === 'number' && Number.isFinite(v)) obj.timestamp = v
      } else {
        const c = coerce(s.field, v)
        if (c !== undefined) obj[s.field] = c
      }
    })
  }
  return reports.map((r) => [...r.values()]).filter((r) => r.length > 0)
}

const LEGACY =
  'this dump holds Chrome\'s legacy (non-standard, "goog…") getStats() format, which has no ' +
  'standard RTP stream stats to score: create the dump again in chrome://webrtc-internals with stats ' +
  'read from the "Standardized (promise-based) getStats() API" (the default; recent Chrome has no other)'

// Legacy stats (the callback getStats(), shown by webrtc-internals when "Legacy Non-Standard" was
// chosen): ids such as `ssrc_<n>_send`, `bweforvideo`, `Conn-audio-1-0`, fields named goog… .
const LEGACY_ID = /^(ssrc_\d+_(send|recv)|bweforvideo|Conn-|Channel-|googTrack_|googLibjingleSession_)/

/** True when a dump's stats are legacy goog stats and none are standard RTP stream stats. */
function isLegacy(pcs: Record<string, InternalsPc>): boolean {
  let legacy = false
  for (const data of Object.values(pcs)) {
    for (const [name, s] of Object.entries(data.stats ?? {})) {
      const dash = name.lastIndexOf('-')
      const id = dash > 0 ? name.slice(0, dash) : name
      const type = s.statsType || inferStatsType(id, new Map<string, unknown>())
      if (type === 'outbound-rtp' || type === 'inbound-rtp') return false
      if (LEGACY_ID.test(id) || name.slice(dash + 1).startsWith('goog')) legacy = true
    }
  }
  return legacy
}

/**
 * Converts a parsed dump into an offline session of one peer (the browser that exported it), one pc per
 * PeerConnections entry. Throws DumpError when `json` has no PeerConnections with stats, or only legacy
 * goog stats (the message names the format and how to export the standard one).
 */
export function parseInternalsDump(
  json: unknown,
  ids: { app: string; session: string; peer: string },
): OfflineSession {
  const dump = json as InternalsDump
  if (
    typeof dump !== 'object' ||
    dump === null ||
    typeof dump.PeerConnections !== 'object' ||
    dump.PeerConnections === null
  ) {
    throw new DumpError('not a webrtc-internals dump: no "PeerConnections" object')
  }
  if (isLegacy(dump.PeerConnections)) throw new DumpError(LEGACY)
  const pcs: OfflinePc[] = []
  for (const [pc, data] of Object.entries(dump.PeerConnections)) {
    const reports = pcReports(data.stats ?? {})
    if (reports.length === 0) continue
    const firstStats = Math.min(...(reports[0] ?? []).map((st) => st.timestamp))
    pcs.push({ peer: ids.peer, pc, reports, events: pcEvents(data.updateLog, firstStats) })
  }
  if (pcs.length === 0)
    throw new DumpError('the dump holds no stats: keep webrtc-internals open during the call')
  return {
    app: ids.app,
    session: ids.session,
    peers: [{ peer: ids.peer, userAgent: dump.UserAgent ?? '', sdk: 'webrtc-internals' }],
    pcs,
  }
}
