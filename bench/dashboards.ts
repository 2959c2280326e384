// Dashboard figures (issue 16: the whole fleet dashboard ≤ 1 s and every panel ≤ 200 ms over 7 days of
// 10,000 ten-minute sessions a day with 90 days of scores; drill-down panels ≤ 50 ms; session list and
// compare ≤ 100 ms). Fills a realistic fleet (fleet-fill.ts), then runs every ClickHouse query of the
// generated fleet and session dashboards as the Grafana datasource sends it (variables and macros
// expanded by test/helpers/dashboards-macros.ts, as the dashboards' query test does), and times the
// analyzer API routes over HTTP. `compareRef` also times the dashboards as committed at that git
// revision on the same store: the before of a before/after. `storeDir` keeps the filled store in that
// folder and reuses it when a fill of the same shape completed there (a 7-day fill takes ~30 min).
import { execFileSync } from 'node:child_process'
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { createAdaptorServer } from '@hono/node-server'
import { Hono } from 'hono'
import { mountAnalyzerApi } from '../analyzer/api.ts'
import { openStore } from '../store/open.ts'
import type { Store } from '../store/index.ts'
import { ALL, expandQuery, grafanaInterval } from '../test/helpers/dashboards-macros.ts'
import { DAY_MS, fillFleet, fleetOf } from './fleet-fill.ts'
import type { Fleet, FleetShape } from './fleet-fill.ts'
import { quantile, r } from './histogram.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const CLICKHOUSE = 'grafana-clickhouse-datasource'

export interface PanelTime {
  name: string
  ms: number
  rows: number
}
export interface DashboardTime {
  dashboard: string
  label: string
  totalMs: number
  panels: PanelTime[]
}
export interface DashboardsResult {
  shape: FleetShape
  fillSeconds: number
  rows: Record<string, number>
  dashboards: DashboardTime[]
  api: Record<string, { p50: number; p99: number; n: number }>
}

interface Query {
  name: string
  sql: string
}
interface DashboardJson {
  panels: Array<{
    id?: number
    title?: string
    datasource?: { type?: string }
    targets?: Array<{ rawSql?: string; datasource?: { type?: string } }>
  }>
  templating: { list: Array<{ name: string; type: string; query?: unknown; datasource?: { type?: string } }> }
}

/** Every ClickHouse query of a dashboard JSON text: variables, then panel targets. */
function queriesOf(text: string): Query[] {
  const d = JSON.parse(text) as DashboardJson
  const out: Query[] = []
  for (const v of d.templating.list)
    if (v.type === 'query' && v.datasource?.type === CLICKHOUSE && typeof v.query === 'string')
      out.push({ name: `variable ${v.name}`, sql: v.query })
  for (const p of d.panels)
    for (const t of p.targets ?? [])
      if ((t.datasource ?? p.datasource)?.type === CLICKHOUSE && t.rawSql)
        out.push({ name: `${p.title ?? p.id}`, sql: t.rawSql })
  return out
}

function dashboardText(file: string, ref: string | undefined): string {
  const path = `dashboards/grafana/${file}.json`
  return ref
    ? execFileSync('git', ['show', `${ref}:${path}`], { cwd: ROOT, encoding: 'utf8' })
    : readFileSync(join(ROOT, path), 'utf8')
}

/** Runs each query `runs` times (the median counts); Grafana runs a dashboard's panels one by one here. */
async function timeDashboard(
  store: Store,
  dashboard: string,
  label: string,
  text: string,
  range: { from: number; to: number },
  vars: Record<string, string | string[]>,
  runs: number,
): Promise<DashboardTime> {
  const ctx = {
    from: new Date(range.from),
    to: new Date(range.to),
    intervalMs: grafanaInterval(range.to - range.from),
    vars,
  }
  const panels: PanelTime[] = []
  for (const q of queriesOf(text)) {
    const sql = expandQuery(q.sql, ctx, { app: ['meet', 'classroom', 'support'] })
    const times: number[] = []
    let rows = 0
    for (let i = 0; i < runs; i++) {
      const t0 = performance.now()
      rows = (await store.query(sql)).length
      times.push(performance.now() - t0)
    }
    panels.push({ name: q.name, ms: r(quantile(times, 0.5), 1), rows })
  }
  return {
    dashboard,
    label,
    totalMs: r(
      panels.reduce((s, p) => s + p.ms, 0),
      0,
    ),
    panels,
  }
}

async function timeRoute(url: string, n: number): Promise<{ p50: number; p99: number; n: number }> {
  const times: number[] = []
  for (let i = -3; i < n; i++) {
    const t0 = performance.now()
    const res = await fetch(url)
    const body = await res.text()
    if (res.status !== 200) throw new Error(`${url}: HTTP ${res.status} ${body.slice(0, 200)}`)
    if (i >= 0) times.push(performance.now() - t0)
  }
  return { p50: r(quantile(times, 0.5), 1), p99: r(quantile(times, 0.99), 1), n }
}

/** Fills a fleet of `shape` and times every dashboard query and the API routes; logs as it goes. */
export async function dashboardsBench(
  shape: FleetShape,
  log: (line: string) => void,
  compareRef?: string,
  storeDir?: string,
): Promise<DashboardsResult> {
  const dir = storeDir ?? mkdtempSync(join(tmpdir(), 'rtcpulse-bench-dash-'))
  if (storeDir) mkdirSync(storeDir, { recursive: true })
  // The fill's shape and clock, written once it completed: a reused store is timed at the fill's `now`.
  const marker = join(dir, 'fleet-fill.json')
  const kept = existsSync(marker)
    ? (JSON.parse(readFileSync(marker, 'utf8')) as { shape: FleetShape; now: number; fillSeconds: number })
    : undefined
  const reuse = kept && JSON.stringify(kept.shape) === JSON.stringify(shape) ? kept : undefined
  if (kept && !reuse) throw new Error(`${dir} holds a fill of another shape: ${JSON.stringify(kept.shape)}`)
  const store = await openStore({ dataDir: dir, database: 'bench_dash', clickhouse: undefined })
  const app = new Hono()
  mountAnalyzerApi(app, { store, config: { apiKeys: [], dev: true, expectedFps: 30 } })
  const server = createAdaptorServer({ fetch: app.fetch })
  try {
    const now = reuse?.now ?? Date.now()
    const t0 = performance.now()
    let fleet: Fleet
    if (reuse) {
      fleet = fleetOf(shape, now)
      log(`  reusing the fleet filled in ${dir} (${reuse.fillSeconds} s)`)
    } else {
      fleet = await fillFleet(store, shape, now, (m) => log(`  ${m}`))
    }
    const fillSeconds = reuse?.fillSeconds ?? r((performance.now() - t0) / 1000, 0)
    if (storeDir && !reuse) writeFileSync(marker, JSON.stringify({ shape, now, fillSeconds }) + '\n')
    const rows: Record<string, number> = {}
    for (const x of await store.query<{ table: string; rows: number }>(
      `SELECT table, sum(rows) AS rows FROM system.parts WHERE database = currentDatabase() AND active
       GROUP BY table ORDER BY table`,
    ))
      rows[x.table] = x.rows
    log(`  rows: ${JSON.stringify(rows)}`)

    const ranges: Array<[string, number]> = [['24 h', DAY_MS]]
    if (shape.days >= 7) ranges.push(['7 d', 7 * DAY_MS])
    const dashboards: DashboardTime[] = []
    const revisions: Array<[string, string | undefined]> = [['now', undefined]]
    if (compareRef) revisions.unshift([compareRef, compareRef])
    // A degraded session of the last day (class 3), for the drill-down.
    const session = fleet.sessionId(shape.days - 1, 5003 % shape.perDay)
    for (const [rev, ref] of revisions) {
      for (const [label, span] of ranges) {
        const fleetTime = await timeDashboard(
          store,
          'rtcpulse-fleet',
          `${label} @ ${rev}`,
          dashboardText('rtcpulse-fleet', ref),
          { from: now - span, to: now },
          { app: [ALL] },
          ref ? 1 : 3,
        )
        dashboards.push(fleetTime)
        log(`  fleet ${fleetTime.label}: ${fleetTime.totalMs} ms total`)
        for (const p of fleetTime.panels)
          log(`    ${String(p.ms).padStart(8)} ms  ${p.name} (${p.rows} rows)`)
      }
      const sessionTime = await timeDashboard(
        store,
        'rtcpulse-session',
        `24 h @ ${rev}`,
        dashboardText('rtcpulse-session', ref),
        { from: now - DAY_MS, to: now },
        { app: 'meet', session, peer: [ALL] },
        3,
      )
      dashboards.push(sessionTime)
      log(`  session ${sessionTime.label}: ${sessionTime.totalMs} ms total`)
      for (const p of sessionTime.panels)
        log(`    ${String(p.ms).padStart(8)} ms  ${p.name} (${p.rows} rows)`)
    }

    const url = await new Promise<string>((resolve, reject) => {
      server.once('error', reject)
      server.listen(0, '127.0.0.1', () =>
        resolve(`http://127.0.0.1:${(server.address() as AddressInfo).port}`),
      )
    })
    const day = `from=${now - DAY_MS}&to=${now}`
    const routes: Record<string, string> = {
      'sessions (24 h)': `/api/v1/sessions?app=meet&${day}`,
      'sessions (30 d default, score < 6)': `/api/v1/sessions?app=meet&scoreBelow=6`,
      'compare codec VP8/H264 (24 h)': `/api/v1/compare?app=meet&by=codec&a=VP8&b=H264&${day}`,
      'compare codec VP8/H264 (30 d default)': `/api/v1/compare?app=meet&by=codec&a=VP8&b=H264`,
      'compare browser (24 h)': `/api/v1/compare?app=meet&by=browser&a=Chrome%20131&b=Firefox%20133&${day}`,
      'session detail': `/api/v1/sessions/${session}?app=meet`,
    }
    const api: DashboardsResult['api'] = {}
    for (const [name, path] of Object.entries(routes)) {
      api[name] = await timeRoute(url + path, 10)
      log(`  API ${name}: p50 ${api[name].p50} ms, p99 ${api[name].p99} ms`)
    }
    return { shape, fillSeconds, rows, dashboards, api }
  } finally {
    if (server.listening) await new Promise<void>((resolve) => server.close(() => resolve()))
    await store.close()
    if (!storeDir) rmSync(dir, { recursive: true, force: true })
  }
}
