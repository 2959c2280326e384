// Reads the dump chrome://webrtc-internals exports ("Create a WebRTC-Internals dump") into per-second
// getStats() reports, so it can go through the collector's derivation and the analyzer like live data.
//
// Format (Chromium content/browser/resources/webrtc/ dump_creator / stats_helper): { UserAgent,
// getUserMedia: [...], PeerConnections: { "<pid>-<lid>": { url, rtcConfiguration, updateLog: [{ time,
// type, value }], stats: { "<statsId>-<field>": { statsType, startTime, endTime, values: "[json]" } } } } }.
// Each series holds the last samples of one field of one stats object, taken once per poll (1 s) from
// startTime to endTime; sample i is at startTime + i·(endTime − startTime)/(n − 1). Series whose name
// holds `[` are webrtc-internals' computed rates (e.g. `[bytesSent_in_bits/s]`) and are skipped.
import type { OfflineEvent, OfflinePc, OfflineSession, Stat } from './offline.ts'

export interface InternalsSeries {
  statsType?: string
  startTime?: string
  endTime?: string
  values?: string | unknown[]
}

export interface InternalsPc {
  url?: string
  stats?: Record<string, InternalsSeries>
  updateLog?: { time?: string; type?: string; value?: string }[]
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
  type: string
  field: string
  start: number
  end: number
  values: unknown[]
}

/**
 * Rebuilds one pc's reports, one per poll, in time order. Never throws on odd series (they are skipped).
 *
 * Every poll adds one point to the series of every object present, so a series covers consecutive polls
 * up to its last one. Polls are not exactly evenly spaced, so sample times are not computed per series
 * (that would scatter one poll over neighbouring seconds): the polls form one grid, and every series is
 * placed on it by its end time, sample i at poll (last − (n − 1 − i)).
 */
export function pcReports(stats: Record<string, InternalsSeries>): Stat[][] {
  const series: Parsed[] = []
  for (const [name, s] of Object.entries(stats)) {
    if (name.includes('[')) continue
    const dash = name.lastIndexOf('-')
    if (dash <= 0) continue
    const field = name.slice(dash + 1)
    if (field === 'id' || field === 'type' || field === 'timestamp') continue
    let values: unknown
    try {
      values = typeof s.values === 'string' ? JSON.parse(s.values) : s.values
    } catch {
      continue
    }
    const start = Date.parse(s.startTime ?? '')
    const end = Date.parse(s.endTime ?? '')
    if (!Array.isArray(values) || values.length === 0 || !Number.isFinite(start)) continue
    series.push({
      id: name.slice(0, dash),
      type: s.statsType ?? '',
      field,
      start,
      end: Number.isFinite(end) ? end : start,
      values,
    })
  }
  if (series.length === 0) return []
  // The grid: as many polls as the longest series, from the start to the end most of those share.
  // remote-* objects carry the time of the RTCP report they describe, which lags the poll, so the grid
  // is not taken from any single series.
  const n = Math.max(...series.map((s) => s.values.length))
  const full = series.filter((s) => s.values.length === n)
  const start = mode(full.map((s) => s.start))
  const end = mode(full.map((s) => s.end))
  const step = n > 1 && end > start ? (end - start) / (n - 1) : 1000
  const grid = Array.from({ length: n }, (_, i) => Math.round(start + i * step))
  // A stats timestamp is never after its poll: a sample belongs to the first poll at or after it (with a
  // quarter step of slack for the grid's own rounding).
  const pollAt = (t: number): number => Math.max(0, Math.min(n - 1, Math.ceil((t - start) / step - 0.25)))
  const reports = grid.map(() => new Map<string, Stat>())
  for (const s of series) {
    const last = pollAt(s.end)
    s.values.forEach((v, i) => {
      const at = last - (s.values.length - 1 - i)
      if (at < 0 || v === null || v === undefined) return
      const report = reports[at] as Map<string, Stat>
      let obj = report.get(s.id)
      if (!obj) report.set(s.id, (obj = { id: s.id, type: s.type, timestamp: grid[at] as number }))
      obj[s.field] = value(v)
    })
  }
  return reports.map((r) => [...r.values()]).filter((r) => r.length > 0)
}

const STATE_EVENTS = new Set(['connectionstatechange', 'iceconnectionstatechange', 'signalingstatechange'])

/** Connection-state changes of the update log as the SDK would send them (`name`, `data.state`). */
export function pcEvents(log: InternalsPc['updateLog']): OfflineEvent[] {
  const out: OfflineEvent[] = []
  for (const e of log ?? []) {
    if (!e.type || !STATE_EVENTS.has(e.type)) continue
    // `time` is whatever the browser wrote (ISO, or a locale string on older versions): unparseable is skipped.
    const t = Date.parse(e.time ?? '')
    if (!Number.isFinite(t)) continue
    out.push({ t, name: e.type, data: { state: e.value ?? '' } })
  }
  return out
}

/**
 * Converts a parsed dump into an offline session of one peer (the browser that exported it), one pc per
 * PeerConnections entry. Throws DumpError when `json` has no PeerConnections with stats.
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
  const pcs: OfflinePc[] = []
  for (const [pc, data] of Object.entries(dump.PeerConnections)) {
    const reports = pcReports(data.stats ?? {})
    if (reports.length === 0) continue
    pcs.push({ peer: ids.peer, pc, reports, events: pcEvents(data.updateLog) })
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
