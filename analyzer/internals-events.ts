// The update log of a webrtc-internals dump as the SDK's connection-state events. Its shape changed:
// Chrome 86 wrote `{ time: "11/5/2020, 9:34:11 PM", type: "iceConnectionStateChange", value: "checking" }`
// (a locale time without its zone, signaling states as enum names), recent Chrome writes `{ timestamp:
// <epoch ms>, type: "oniceconnectionstatechange", value: "\"checking\"" }`.
import type { InternalsPc } from './internals.ts'
import type { OfflineEvent } from './offline.ts'

const STATE_EVENTS = new Set(['connectionstatechange', 'iceconnectionstatechange', 'signalingstatechange'])

/**
 * An update-log entry's state as the SDK sends it. Recent exports write the value as JSON (`"\"checking\""`);
 * Chrome 86 wrote signaling states as enum names (`SignalingStateHaveLocalOffer` → `have-local-offer`).
 */
function stateValue(raw: string): string {
  let v = raw
  if (v.startsWith('"')) {
    try {
      const parsed: unknown = JSON.parse(v)
      if (typeof parsed === 'string') v = parsed
    } catch {
      // not JSON: kept as written
    }
  }
  const named = /^SignalingState([A-Z]\w*)$/.exec(v)
  return named ? (named[1] as string).replace(/([a-z])([A-Z])/g, '$1-$2').toLowerCase() : v
}

// Older Chrome (86 here) wrote `time` as a locale string in the exporter's time zone (`11/5/2020,
// 9:34:11 PM`), which the dump does not name: read as UTC, then moved by the whole quarter hours that
// bring the log's first entry closest to the pc's first stats sample (a pc logs its creation seconds
// before its first stats). Zones lie within ±14 h of UTC; a larger shift means the string was misread.
const QUARTER_HOUR = 15 * 60_000

/**
 * Connection-state changes of the update log as the SDK would send them (`name`, `data.state`). Reads
 * every export shape: `type` with or without the `on` prefix and in any case, `timestamp` (epoch ms) or
 * `time` (ISO or a locale string, aligned to `firstStatsMs` when given). Unreadable entries are skipped.
 */
export function pcEvents(log: InternalsPc['updateLog'], firstStatsMs?: number): OfflineEvent[] {
  const entries = (log ?? []).map((e) => {
    const type = (e.type ?? '').toLowerCase().replace(/^on/, '')
    const ts = e.timestamp
    const iso = typeof e.time === 'string' && /^\d{4}-\d\d-\d\dT/.test(e.time)
    const t = typeof ts === 'number' ? ts : Date.parse(iso ? (e.time ?? '') : `${e.time ?? ''} UTC`)
    return { type, t, local: typeof ts !== 'number' && !iso, value: e.value ?? '' }
  })
  const first = entries.find((e) => e.local && Number.isFinite(e.t))
  let shift = 0
  if (first && firstStatsMs !== undefined && Number.isFinite(firstStatsMs)) {
    shift = Math.round((firstStatsMs - first.t) / QUARTER_HOUR) * QUARTER_HOUR
    if (Math.abs(shift) > 14 * 3_600_000) return []
  }
  const out: OfflineEvent[] = []
  for (const e of entries) {
    if (!STATE_EVENTS.has(e.type) || !Number.isFinite(e.t)) continue
    out.push({ t: e.t + (e.local ? shift : 0), name: e.type, data: { state: stateValue(e.value) } })
  }
  return out
}
