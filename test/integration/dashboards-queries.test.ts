// Every ClickHouse query in the generated Grafana dashboards — panel targets, template variables and
// annotations — runs without error on chDB and returns rows, against a real recorded call fed through a
// real collector, after the grafana-clickhouse-datasource's variable and macro expansion
// (test/helpers/dashboards-macros.ts). A query that only fails in Grafana is a dashboard nobody notices
// is broken until the call they need to debug.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { feedRecordedCall } from '../helpers/dashboards-data.ts'
import type { RecordedCall } from '../helpers/dashboards-data.ts'
import { ALL, expandQuery, grafanaInterval } from '../helpers/dashboards-macros.ts'
import type { ExpandContext } from '../helpers/dashboards-macros.ts'
import { scoreForDashboards } from '../helpers/dashboards-analyzer.ts'

const CLICKHOUSE = 'grafana-clickhouse-datasource'
const DASHBOARDS = ['rtcpulse-session', 'rtcpulse-fleet'] as const

interface Target {
  refId?: string
  rawSql?: string
  datasource?: { type?: string }
}
interface PanelJson {
  id?: number
  title?: string
  type: string
  datasource?: { type?: string }
  targets?: Target[]
}
interface DashboardJson {
  panels: PanelJson[]
  templating: { list: Array<{ name: string; type: string; query?: unknown; datasource?: { type?: string } }> }
  annotations?: { list: Array<{ name: string; datasource?: { type?: string }; target?: Target }> }
}

interface Query {
  name: string
  sql: string
  /** Variables that must return something for the dashboard to be usable. */
  variable?: string
}

function queriesOf(file: string): Query[] {
  const d = JSON.parse(
    readFileSync(new URL(`../../dashboards/grafana/${file}.json`, import.meta.url), 'utf8'),
  ) as DashboardJson
  const out: Query[] = []
  for (const v of d.templating.list) {
    if (v.type === 'query' && v.datasource?.type === CLICKHOUSE && typeof v.query === 'string')
      out.push({ name: `variable ${v.name}`, sql: v.query, variable: v.name })
  }
  for (const a of d.annotations?.list ?? []) {
    if (a.datasource?.type === CLICKHOUSE && a.target?.rawSql)
      out.push({ name: `annotation ${a.name}`, sql: a.target.rawSql })
  }
  for (const p of d.panels) {
    for (const t of p.targets ?? []) {
      if ((t.datasource ?? p.datasource)?.type !== CLICKHOUSE) continue
      if (!t.rawSql) throw new Error(`panel ${p.title} has a ClickHouse target without rawSql`)
      out.push({ name: `panel ${p.id} "${p.title}" ${t.refId ?? ''}`.trim(), sql: t.rawSql })
    }
  }
  return out
}

let c: TestCollector
let call: RecordedCall
let scored = false

beforeAll(async () => {
  c = await startTestCollector()
  // Two calls: the freeze recording with a lossy, slow network in app `demo` (the one the session
  // dashboard shows: it scores poorly and has issues of several types) and the clean baseline in app
  // `other`, so fleet breakdowns have more than one group.
  call = await feedRecordedCall(c.streamUrl, 'call-freeze', {
    app: 'demo',
    recording: 'freeze',
    impairment: { loss: 0.08, rttMs: 600, jitterMs: 60 },
  })
  await feedRecordedCall(c.streamUrl, 'call-baseline', {
    app: 'other',
    recording: 'baseline',
    endsAgoMs: 60_000,
  })
  scored = await scoreForDashboards(c.store, ['demo', 'other'])
}, 90_000)

afterAll(async () => {
  await c?.stop()
})

/** The range from an hour before the call to now, or the last `rangeMs`. */
function context(vars: ExpandContext['vars'], rangeMs?: number): ExpandContext {
  const to = new Date(Date.now() + 60_000)
  const from = new Date(rangeMs ? to.getTime() - rangeMs : call.startMs - 3_600_000)
  return { from, to, intervalMs: grafanaInterval(to.getTime() - from.getTime()), vars }
}

// Each dashboard runs once with its multi-value variables on All and once with values picked, so both
// branches of $__conditionalAll execute (both peers: a sender-only or receiver-only pick would leave
// the other direction's panels legitimately empty). The fleet also runs over a week, where its time
// series read the hourly rollups (dashboards/grafana/rollups.ts).
const VARIANTS: Record<
  (typeof DASHBOARDS)[number],
  Array<{ label: string; vars: () => ExpandContext['vars']; rangeMs?: number }>
> = {
  'rtcpulse-session': [
    { label: 'all peers', vars: () => ({ app: call.app, session: call.session, peer: [ALL] }) },
    { label: 'peers picked', vars: () => ({ app: call.app, session: call.session, peer: [...call.peers] }) },
  ],
  'rtcpulse-fleet': [
    { label: 'all apps', vars: () => ({ app: [ALL] }) },
    { label: 'one app', vars: () => ({ app: [call.app] }) },
    { label: 'all apps, 7 days', vars: () => ({ app: [ALL] }), rangeMs: 7 * 86_400_000 },
  ],
}

describe('Grafana ClickHouse queries', () => {
  it('has final analyzer scores for both apps to query', () => {
    expect(scored).toBe(true)
  })

  for (const dashboard of DASHBOARDS) {
    const queries = queriesOf(dashboard)

    it(`${dashboard} has ClickHouse queries to test`, () => {
      expect(queries.length).toBeGreaterThan(5)
    })

    for (const variant of VARIANTS[dashboard]) {
      describe(`${dashboard} (${variant.label})`, () => {
        for (const q of queries) {
          it(`${q.name} executes and returns rows`, async () => {
            const ctx = context(variant.vars(), variant.rangeMs)
            const sql = expandQuery(q.sql, ctx, { app: ['demo', 'other'], peer: [...call.peers] })
            const rows = await c.store.query(sql).catch((err: unknown) => {
              throw new Error(`${q.name} failed: ${(err as Error).message}\n--- SQL ---\n${sql}`)
            })
            expect(rows.length, `${q.name} returned no rows\n--- SQL ---\n${sql}`).toBeGreaterThan(0)
          })
        }
      })
    }
  }
})
