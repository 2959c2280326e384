// Derives a recorded or built report sequence second by second, as the collector does per frame: each
// second against the previous one's snapshot. For the derive tests.
import { normalizeReport } from '../../core/delta.ts'
import { deriveSecond } from '../../core/derive.ts'
import type { Derived, Snapshot } from '../../core/derive.ts'
import { asReport } from './reports.ts'
import type { Stat } from './reports.ts'

/** One Derived per report, in order; a report's time is its first object's timestamp. */
export function deriveAll(seq: Stat[][]): Derived[] {
  let snap: Snapshot | undefined
  return seq.map((stats) => {
    const ts = stats[0]?.timestamp ?? 0
    const d = deriveSecond(normalizeReport(asReport(stats), ts), ts, snap)
    snap = d.snapshot
    return d
  })
}
