// Delta encoding of getStats() reports. The SDK encodes, the collector decodes with the same module,
// so the two can never disagree about what a frame means. No I/O, no DOM, no Node: plain data in and out.
//
// State model: stats id -> fields, without `id` (it is the key) and without `timestamp` when it equals
// the report's timestamp, which it does for nearly every object libwebrtc emits (webrtc-stats §5: all
// stats of one getStats() call share one timestamp). An object whose only change is the timestamp
// therefore costs nothing on the wire.

import type { StatValue, StatsFrame, StatsPatch } from './protocol.ts'

export type StatsObject = Record<string, StatValue>
/** Decoded report: stats id -> fields (see the state model above). */
export type StatsState = Map<string, StatsObject>

/** Anything with the shape of an RTCStatsReport: iterating values gives stats dictionaries. */
export interface ReportLike {
  forEach(cb: (value: { id: string; timestamp?: number; [k: string]: unknown }) => void): void
}

/**
 * A map of stats by id, as an RTCStatsReport is: iterating it gives [id, dictionary] pairs (a maplike's
 * entries, WebIDL "maplike declarations"). A StatsState iterates the same way; an array does not.
 */
export type KeyedReport = Iterable<[string, { timestamp?: number; [k: string]: unknown }]>

/** Normalises one report at `ts` into the state model with every field. */
export const normalizeReport = (report: ReportLike, ts: number): StatsState =>
  readReport(report, undefined, ts)[0]

export interface EncodedDelta {
  key: boolean
  d: Record<string, StatsPatch>
  rm: string[]
}

/**
 * Encodes `next` against `prev`: changed or added fields per id, `null` for removed fields, removed ids in
 * `rm`. Without `prev` the result is a keyframe holding every object in full. An added object is `next`'s
 * own, not a copy: neither may be changed afterwards. Never throws.
 */
export function encodeDelta(prev: StatsState | undefined, next: StatsState): EncodedDelta {
  const d: Record<string, StatsPatch> = {}
  const rm: string[] = []
  // A keyframe is the delta against nothing: every object is new.
  for (const [id, obj] of next) {
    const old = prev?.get(id)
    if (!old) {
      d[id] = obj
      continue
    }
    let patch: StatsPatch | undefined
    for (const k in obj) {
      const v = obj[k] as StatValue
      const o = old[k]
      // Object values (`qualityLimitationDurations`) compare by content; a browser emits their keys in
      // one order. (A scalar `o` never serialises like an object `v`, so only `v` needs the type check.)
      if (o !== v && (typeof v != 'object' || JSON.stringify(o) != JSON.stringify(v))) (patch ??= {})[k] = v
    }
    for (const k in old) if (!(k in obj)) (patch ??= {})[k] = null
    if (patch) d[id] = patch
  }
  prev?.forEach((_, id) => next.has(id) || rm.push(id))
  return { key: !prev, d, rm }
}

/**
 * Reads `report` and delta-encodes it against `prev` (what this returned for the previous report of the
 * same source; undefined: every object is new) in one pass: each field is read once and compared with its
 * previous value as it is read, nothing else is copied. Fields are kept as readReport keeps them (`omit`,
 * `ts` likewise); `all` looks at every previous field again (after `omit` changed). Returns the patches
 * (the caller's), the removed ids, the state for the next call (`prev` itself, changed: not to be shared)
 * and the ts used. Never a keyframe unless `prev` is undefined: build one from the state.
 */
export function encodeReport(
  report: KeyedReport,
  prev?: StatsState,
  omit?: RegExp,
  ts?: number,
  all?: boolean,
): [Record<string, StatsPatch>, string[], StatsState, number] {
  const next: StatsState = new Map()
  const d: Record<string, StatsPatch> = {}
  const rm: string[] = []
  // Whether a field is left out of the state (readReport's rules; see there). Only ever tested for truth.
  const drop = (k: string, v: unknown): unknown =>
    k == 'id' ||
    (k == 'timestamp' && v == ts) ||
    v == null ||
    // eslint-disable-next-line @typescript-eslint/unbound-method
    (v as []).map ||
    (omit && (((omit as Memo).memo ??= {})[k] ??= omit.test(k)))
  // for…of, not forEach: Chromium calls a forEach callback from C++ once per stats object, which costs
  // more than stepping an iterator (bench/RESULTS.md, issue 17).
  for (const [id, stat] of report) {
    ts ??= stat.timestamp
    const had = prev?.get(id)
    const old = had ?? {}
    // A new object is a patch of every field, a copy apart from the state's.
    let patch: StatsPatch | false = !had && {}
    let kept = 0
    for (const k in stat) {
      const v = stat[k] as StatValue
      // Most fields are unchanged since the last poll: one comparison, nothing else to check. (A stats
      // dictionary has no member whose value is undefined — WebIDL converts only present members — so an
      // unchanged value is a kept field.)
      // An object value (`qualityLimitationDurations`, a new object on every read) counts as changed: it
      // is, every second, for a sending video stream (its `none` duration grows; libwebrtc's
      // QualityLimitationReasonTracker), and a content compare would serialise it twice per poll.
      if (v !== old[k]) {
        if (drop(k, v)) continue
        ;(patch ||= {})[k] = old[k] = v
      }
      kept++
    }
    // Fewer fields kept than the state now holds (what it had and what was added): some were removed.
    if (all || kept < Object.keys(old).length)
      for (const k in old)
        if (drop(k, stat[k])) {
          delete old[k]
          ;(patch ||= {})[k] = null
        }
    next.set(id, old)
    if (patch) d[id] = patch
  }
  prev?.forEach((_, id) => next.has(id) || rm.push(id))
  return [d, rm, next, ts ?? Date.now()]
}

/**
 * Reads one report into the state model in one pass: `ts` defaults to the first object's timestamp
 * (webrtc-stats §5: all stats of one getStats() call share one). Drops fields that are not stats values
 * (undefined, arrays) and those whose name `omit` matches (the collector's `welcome.omit`). Returns the
 * state and the ts used.
 */
type Memo = RegExp & { memo?: Record<string, boolean> }

export function readReport(report: ReportLike, omit?: RegExp, ts?: number): [StatsState, number] {
  const state: StatsState = new Map()
  report.forEach((stat) => {
    ts ??= stat.timestamp
    const obj: StatsObject = {}
    for (const k in stat) {
      const v = stat[k]
      // Stats values are numbers, strings, booleans and records; undefined and arrays (the only values with
      // a `map`: stats are WebIDL dictionaries of plain data) are dropped.
      // A report repeats the same field names: each is tested against `omit` once, the answer kept on it.
      if (
        k == 'id' ||
        (k == 'timestamp' && v == ts) ||
        v == null ||
        (v as []).map ||
        (omit && (((omit as Memo).memo ??= {})[k] ??= omit.test(k)))
      )
        continue
      obj[k] = v as StatValue
    }
    state.set(stat.id, obj)
  })
  return [state, ts ?? Date.now()]
}

/**
 * Applies a stats frame to `state` in place and returns it (a keyframe starts from empty). Patches are
 * trusted to be validated already (collector/protocol.ts); an unknown id in a patch creates the object.
 */
export function applyDelta(state: StatsState, frame: Pick<StatsFrame, 'key' | 'd' | 'rm'>): StatsState {
  if (frame.key) state.clear()
  frame.rm?.forEach((id) => state.delete(id))
  for (const id in frame.d) {
    const patch = frame.d[id] as StatsPatch
    let obj = state.get(id)
    if (!obj) state.set(id, (obj = {}))
    for (const k in patch) {
      const v = patch[k]
      if (v == null) delete obj[k]
      else obj[k] = v
    }
  }
  return state
}

/** Merges delta `b` (later) into delta `a` (earlier): the result applied once equals applying a then b. */
export function mergeDelta(a: EncodedDelta, b: EncodedDelta): EncodedDelta {
  if (b.key) return b
  const d: Record<string, StatsPatch> = { ...a.d }
  const removed = new Set(a.rm)
  for (const id of b.rm) {
    removed.add(id)
    delete d[id]
  }
  for (const id in b.d) {
    const patch = b.d[id] as StatsPatch
    // Removed by `a` then re-added by `b`: the id stays in `rm` (applied first), so the new object does
    // not inherit the old one's fields.
    d[id] = removed.has(id) ? { ...patch } : { ...d[id], ...patch }
  }
  return { key: a.key, d, rm: a.key ? [] : [...removed] }
}

/** A full stats object with `id` and `timestamp` restored, as getStats() returned it. */
export function materialize(state: StatsState, id: string, ts: number): StatsObject & { id: string } {
  const obj = state.get(id)
  return { timestamp: ts, ...obj, id }
}

/** Copies a state deeply enough that later `applyDelta` calls on either copy do not affect the other. */
export function cloneState(state: StatsState): StatsState {
  const out: StatsState = new Map()
  for (const [id, obj] of state) out.set(id, { ...obj })
  return out
}
