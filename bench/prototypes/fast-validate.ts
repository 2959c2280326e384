// PROTOTYPE (not used by the collector): a hand-written check of a stats frame equal to the zod
// `statsSchema` of collector/protocol.ts for every frame it accepts, that validates the parsed object in
// place (no copy). Proposed use in parseClientFrame: `if (isValidStatsFrame(raw)) return { ok: true, frame: raw }`
// before zod, and zod as the slow path that also writes the error message. Anything unusual (a
// `__proto__` key, which zod's record drops rather than refuses) goes to zod too.
import type { StatsFrame } from '../../sdk/src/protocol.ts'

const ID = /^[\x21-\x7e]{1,128}$/
const TOP = new Set(['t', 'pc', 'seq', 'ts', 'key', 'd', 'rm', 'gap'])

const plainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function statValue(v: unknown): boolean {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v)
    case 'string':
      return v.length <= 4096
    case 'boolean':
      return true
    case 'object': {
      // qualityLimitationDurations and similar: a record of numbers with short keys.
      if (!plainObject(v)) return false
      for (const k in v) if (k.length > 64 || k === '__proto__' || typeof v[k] !== 'number') return false
      return true
    }
    default:
      return false
  }
}

/** True when `raw` is a stats frame zod's statsSchema would accept unchanged. Never throws. */
export function isValidStatsFrame(raw: unknown): raw is StatsFrame {
  if (!plainObject(raw)) return false
  for (const k in raw) if (!TOP.has(k)) return false
  const { t, pc, seq, ts, key, d, rm, gap } = raw
  if (t !== 'stats' || typeof pc !== 'string' || !ID.test(pc)) return false
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 0) return false
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) return false
  if (key !== undefined && typeof key !== 'boolean') return false
  if (gap !== undefined && (typeof gap !== 'number' || !Number.isInteger(gap) || gap < 0 || gap > 0xffffffff))
    return false
  if (rm !== undefined) {
    if (!Array.isArray(rm) || rm.length > 10_000) return false
    for (const id of rm) if (typeof id !== 'string' || id.length > 256) return false
  }
  if (!plainObject(d)) return false
  for (const id in d) {
    if (id.length === 0 || id.length > 256 || id === '__proto__') return false
    const patch = d[id]
    if (!plainObject(patch)) return false
    for (const k in patch) {
      if (k.length === 0 || k.length > 64 || k === '__proto__') return false
      const v = patch[k]
      if (v !== null && !statValue(v)) return false
    }
  }
  return true
}
