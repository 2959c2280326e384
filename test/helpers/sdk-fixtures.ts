// Real getStats() reports for SDK tests: the shared libwebrtc fixtures (one report per side) and the
// recorded 30-second sequences of a loopback @roamhq/wrtc call (test/fixtures/recorded/).
import { existsSync, readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { normalizeReport } from '../../core/delta.ts'
import type { KeyedReport, ReportLike, StatsState } from '../../core/delta.ts'

export type Stat = { id: string; timestamp?: number; [k: string]: unknown }

const SHARED = '/work/shared/fixtures/libwebrtc'
const RECORDED = fileURLToPath(new URL('../fixtures/recorded/', import.meta.url))

/** An array of stats objects as an RTCStatsReport holds them: a map by id. */
export const asReport = (stats: readonly Stat[]): ReportLike & KeyedReport =>
  new Map(stats.map((s) => [s.id, s]))

/** The report's timestamp as the SDK takes it: the first object's. */
export const reportTs = (stats: readonly Stat[]): number => stats[0]?.timestamp ?? 0

/** normalizeReport of one recorded report, at its own timestamp. */
export const stateOf = (stats: readonly Stat[]): StatsState =>
  normalizeReport(asReport(stats), reportTs(stats))

/** Named sequences of consecutive reports (one entry per second); single shared reports are length 1. */
export function reportSequences(): Array<{ name: string; reports: Stat[][] }> {
  const out: Array<{ name: string; reports: Stat[][] }> = []
  for (const side of ['sender', 'receiver']) {
    const shared = `${SHARED}/${side}-report.json`
    if (existsSync(shared))
      out.push({ name: `shared ${side}`, reports: [JSON.parse(readFileSync(shared, 'utf8')) as Stat[]] })
    const recorded = `${RECORDED}${side}-30s.json`
    if (existsSync(recorded)) {
      const { reports } = JSON.parse(readFileSync(recorded, 'utf8')) as { reports: Stat[][] }
      out.push({ name: `recorded ${side}`, reports })
    }
  }
  return out
}
