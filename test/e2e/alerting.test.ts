// Alerts reach on-call end to end, with real components: a collector (with the analyzer inside it)
// writing to a ClickHouse HTTP stand-in, Debian's Prometheus scraping /metrics and /metrics/analyzer
// and evaluating the alert rules, Debian's Alertmanager routing to a local webhook that stands in for
// the pager. A degraded condition must page, and recovery must send "resolved":
//   1. the store becomes unreachable → RtcpulseStoreWritesFailing → store back → resolved;
//   2. degraded calls make an app's sessions poor → RtcpulsePoorSessions → good calls → resolved.
//
// The rules are the generated ones (dashboards/alerts/rules.ts) with every duration divided by 60 —
// `for: 15m` becomes 15 s, `[1h]` windows 60 s (scaleRule) — so minutes of alerting happen in seconds;
// thresholds and expressions are unchanged. Scrapes and evaluations run every second.
import { existsSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { prometheusRuleFile } from '../../dashboards/alerts/prometheus.ts'
import { ALL_RULES, ANALYZER_JOB, JOB, scaleRule } from '../../dashboards/alerts/rules.ts'
import { startClickHouseStandIn } from '../helpers/ch-http-standin.ts'
import type { StandIn } from '../helpers/ch-http-standin.ts'
import { startTestCollector, testDataDir } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { drivenAnalyzer } from '../helpers/dashboards-analyzer.ts'
import { feedRecordedCall } from '../helpers/dashboards-data.ts'
import {
  ALERTMANAGER_BIN,
  PROMETHEUS_BIN,
  startAlertmanager,
  startPrometheus,
  startWebhook,
  until,
} from '../helpers/prometheus.ts'
import type { Prometheus, Webhook, WebhookMessage } from '../helpers/prometheus.ts'
import { reportSequence } from '../helpers/reports.ts'
import { connect, helloFor, statsFrames } from '../helpers/stream-client.ts'

const SPEEDUP = 60
const installed = existsSync(PROMETHEUS_BIN) && existsSync(ALERTMANAGER_BIN)

const about =
  (alertname: string, status: 'firing' | 'resolved', labels: Record<string, string> = {}) =>
  (m: WebhookMessage): boolean =>
    m.status === status &&
    m.alerts.some(
      (a) => a.labels.alertname === alertname && Object.entries(labels).every(([k, v]) => a.labels[k] === v),
    )

describe.skipIf(!installed)(
  'alerting end to end (Debian prometheus and prometheus-alertmanager; skipped when either is missing)',
  () => {
    let standIn: StandIn
    let collector: TestCollector
    let prometheus: Prometheus
    let alertmanager: Awaited<ReturnType<typeof startAlertmanager>>
    let webhook: Webhook
    const analyzer = drivenAnalyzer()

    beforeAll(async () => {
      webhook = await startWebhook()
      standIn = await startClickHouseStandIn(testDataDir())
      collector = await startTestCollector({ CLICKHOUSE_URL: standIn.url }, [analyzer.plugin])
      alertmanager = await startAlertmanager({ webhook: webhook.url })
      const groups = [...new Set(ALL_RULES.map((r) => r.group))]
      const target = new URL(collector.url).host
      prometheus = await startPrometheus({
        jobs: [
          { job: JOB, path: '/metrics', target },
          { job: ANALYZER_JOB, path: '/metrics/analyzer', target },
        ],
        rules: Object.fromEntries(
          groups.map((g) => [
            `${g}.yml`,
            prometheusRuleFile(
              g,
              ALL_RULES.filter((r) => r.group === g).map((r) => scaleRule(r, SPEEDUP)),
              [],
            ),
          ]),
        ),
        alertmanager: alertmanager.url,
      })
      await until(
        'Prometheus to scrape the collector and the analyzer',
        async () => ((await prometheus.query('sum(up)'))[0]?.value === 2 ? true : undefined),
        15_000,
      )
    }, 60_000)

    afterAll(async () => {
      await prometheus?.stop()
      await alertmanager?.stop()
      await collector?.stop()
      await standIn?.close()
      await webhook?.close()
    })

    it('pages when store writes fail and resolves when they recover', async () => {
      // A client streaming ten frames a second keeps batches coming, as real traffic would.
      const frames = statsFrames('pc1', reportSequence('sender', 400))
      const client = await connect(collector.streamUrl)
      client.send(helloFor('alerting-store'))
      await client.waitFor((f) => f.t === 'welcome')
      let next = 0
      const pump = setInterval(() => {
        const f = frames[next++]
        if (f) client.send(f)
      }, 100)
      try {
        await client.waitFor((f) => f.t === 'ack')
        standIn.down()
        const fired = await webhook.waitFor(
          'RtcpulseStoreWritesFailing to be delivered',
          about('RtcpulseStoreWritesFailing', 'firing'),
          25_000,
        )
        const alert = fired.alerts.find((a) => a.labels.alertname === 'RtcpulseStoreWritesFailing')
        expect(alert?.labels).toMatchObject({ severity: 'critical', service: 'rtcpulse', job: JOB })
        expect(alert?.annotations.runbook_url).toMatch(/RUNBOOK\.md#rtcpulsestorewritesfailing$/)

        standIn.up()
        await webhook.waitFor(
          'RtcpulseStoreWritesFailing to resolve',
          about('RtcpulseStoreWritesFailing', 'resolved'),
          30_000,
        )
        // Recovered for real: the frames held during the outage are stored and acknowledged.
        const sent = next
        await client.waitFor((f) => f.t === 'ack' && (f.seq.pc1 ?? 0) >= sent - 5, 10_000)
      } finally {
        clearInterval(pump)
        client.close()
      }
    }, 90_000)

    it('pages when an app has too many poor sessions and resolves once calls are good again', async () => {
      const app = 'alerting-meet'
      const bad = { loss: 0.08, rttMs: 600, jitterMs: 60 }
      const calls = (n: number, prefix: string, impairment = {}): Promise<unknown> =>
        Promise.all(
          Array.from({ length: n }, (_, i) =>
            feedRecordedCall(collector.streamUrl, `${prefix}-${i}`, {
              app,
              recording: 'baseline',
              impairment,
            }),
          ),
        )
      const scrapedScored = async (n: number): Promise<void> => {
        await until(
          `Prometheus to see ${n} scored sessions of ${app}`,
          async () => {
            const r = await prometheus.query(`rtcpulse_analyzer_sessions_scored_total{app="${app}"}`)
            return (r[0]?.value ?? 0) >= n ? true : undefined
          },
          10_000,
        )
      }

      // One good call first, so the app's counters exist before the bad ones arrive (an increase is
      // measured between samples, and a series' first sample has nothing before it).
      await calls(1, 'good-first')
      await analyzer.tick()
      await scrapedScored(1)

      await calls(5, 'degraded', bad)
      await analyzer.tick()
      await scrapedScored(6)
      const fired = await webhook.waitFor(
        'RtcpulsePoorSessions to be delivered',
        about('RtcpulsePoorSessions', 'firing', { app }),
        40_000,
      )
      const alert = fired.alerts.find((a) => a.labels.alertname === 'RtcpulsePoorSessions')
      expect(alert?.labels).toMatchObject({ severity: 'critical', service: 'rtcpulse', app })
      expect(alert?.annotations.summary).toBe(`83.3% of ${app} sessions in the last hour were poor`)

      // Recovery: enough good calls bring the poor share to 5/26 = 19%, under the 20% threshold.
      await calls(20, 'good', {})
      await analyzer.tick()
      await webhook.waitFor(
        'RtcpulsePoorSessions to resolve',
        about('RtcpulsePoorSessions', 'resolved', { app }),
        20_000,
      )
      // It resolved because the share fell, not because the scaled one-hour volume window emptied.
      const [share] = await prometheus.query(`rtcpulse_analyzer_poor_session_ratio{app="${app}"}`)
      expect(share?.value).toBeLessThan(0.2)
      const [volume] = await prometheus.query(
        `max by (app) (increase(rtcpulse_analyzer_sessions_scored_total{app="${app}"}[60s]))`,
      )
      expect(volume?.value).toBeGreaterThanOrEqual(5)
    }, 90_000)
  },
)
