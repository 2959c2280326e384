// Debian's Prometheus and Alertmanager as child processes on loopback, each with its configuration and
// storage in a temp folder, plus a local HTTP server standing in for the pager (Alertmanager's webhook
// receiver). Started and stopped by pid; nothing listens beyond 127.0.0.1.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { toYaml } from '../../dashboards/yaml.ts'
import { freePort } from './ports.ts'

export const PROMETHEUS_BIN = '/usr/bin/prometheus'
export const ALERTMANAGER_BIN = '/usr/bin/prometheus-alertmanager'

export { freePort }

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls `check` every 200 ms until it returns a value, or rejects after `timeoutMs` naming `what`. */
export async function until<T>(
  what: string,
  check: () => Promise<T | undefined>,
  timeoutMs: number,
): Promise<T> {
  const deadline = Date.now() + timeoutMs
  let last = ''
  for (;;) {
    try {
      const v = await check()
      if (v !== undefined) return v
    } catch (err) {
      last = err instanceof Error ? err.message : JSON.stringify(err)
    }
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}${last ? `: ${last}` : ''}`)
    await sleep(200)
  }
}

interface Daemon {
  url: string
  dir: string
  stop(): Promise<void>
}

async function startDaemon(
  name: string,
  bin: string,
  args: (port: number, dir: string) => string[],
  setup: (dir: string) => void,
): Promise<Daemon> {
  const dir = mkdtempSync(join(tmpdir(), `rtcpulse-${name}-`))
  setup(dir)
  const port = await freePort()
  const child: ChildProcess = spawn(bin, args(port, dir), { stdio: ['ignore', 'ignore', 'pipe'] })
  let log = ''
  child.stderr?.on('data', (d: Buffer) => {
    log = (log + d.toString('utf8')).slice(-4000)
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  const url = `http://127.0.0.1:${port}`
  try {
    await until(
      `${name} to be ready`,
      async () => {
        if (child.exitCode !== null) throw new Error(`${name} exited with ${child.exitCode}: ${log}`)
        const res = await fetch(`${url}/-/ready`)
        return res.ok ? true : undefined
      },
      20_000,
    )
  } catch (err) {
    child.kill('SIGKILL')
    throw err
  }
  return {
    url,
    dir,
    async stop() {
      if (child.exitCode === null && child.pid !== undefined) {
        child.kill('SIGTERM')
        const killer = setTimeout(() => child.kill('SIGKILL'), 5000)
        await exited
        clearTimeout(killer)
      }
      rmSync(dir, { recursive: true, force: true })
    },
  }
}

export interface ScrapeJob {
  job: string
  path: string
  /** host:port */
  target: string
}

export interface PrometheusOptions {
  jobs: ScrapeJob[]
  /** Rule files' YAML text, by file name. */
  rules: Record<string, string>
  /** Alertmanager base URL. */
  alertmanager: string
  /** Scrape and rule evaluation interval (default 1s). */
  interval?: string
}

export interface Prometheus extends Daemon {
  /** Runs an instant query; resolves with [labels, value] pairs. */
  query(expr: string): Promise<Array<{ metric: Record<string, string>; value: number }>>
}

/** Starts Prometheus scraping `jobs`, evaluating `rules` and notifying `alertmanager`, all every second. */
export async function startPrometheus(o: PrometheusOptions): Promise<Prometheus> {
  const interval = o.interval ?? '1s'
  const d = await startDaemon(
    'prometheus',
    PROMETHEUS_BIN,
    (port, dir) => [
      `--config.file=${dir}/prometheus.yml`,
      `--storage.tsdb.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      // Resend firing alerts every second rather than every minute (state changes go out at once anyway).
      '--rules.alert.resend-delay=1s',
      '--log.level=warn',
    ],
    (dir) => {
      for (const [file, text] of Object.entries(o.rules)) writeFileSync(join(dir, file), text)
      const config = {
        global: { scrape_interval: interval, evaluation_interval: interval, scrape_timeout: interval },
        rule_files: Object.keys(o.rules).map((f) => join(dir, f)),
        alerting: { alertmanagers: [{ static_configs: [{ targets: [new URL(o.alertmanager).host] }] }] },
        scrape_configs: o.jobs.map((j) => ({
          job_name: j.job,
          metrics_path: j.path,
          static_configs: [{ targets: [j.target] }],
        })),
      }
      writeFileSync(join(dir, 'prometheus.yml'), toYaml(config))
    },
  )
  return {
    ...d,
    async query(expr) {
      const res = await fetch(`${d.url}/api/v1/query?query=${encodeURIComponent(expr)}`)
      const body = (await res.json()) as {
        status: string
        error?: string
        data?: { result: Array<{ metric: Record<string, string>; value: [number, string] }> }
      }
      if (body.status !== 'success') throw new Error(`query ${expr} failed: ${body.error}`)
      return (body.data?.result ?? []).map((r) => ({ metric: r.metric, value: Number(r.value[1]) }))
    },
  }
}

export interface AlertmanagerOptions {
  /** Where the webhook receiver posts. */
  webhook: string
  /** Grouping as in dashboards/alerts/alertmanager.example.yml. */
  groupBy?: string[]
}

/**
 * Starts Alertmanager without clustering, routing rtcpulse alerts (service="rtcpulse", as in the example
 * configuration) to the webhook with 1 s group wait and interval, resolved notifications included.
 */
export async function startAlertmanager(o: AlertmanagerOptions): Promise<Daemon> {
  return startDaemon(
    'alertmanager',
    ALERTMANAGER_BIN,
    (port, dir) => [
      `--config.file=${dir}/alertmanager.yml`,
      `--storage.path=${dir}/data`,
      `--web.listen-address=127.0.0.1:${port}`,
      '--cluster.listen-address=',
      '--log.level=warn',
    ],
    (dir) => {
      const config = {
        global: { resolve_timeout: '10s' },
        route: {
          receiver: 'null',
          group_by: o.groupBy ?? ['alertname', 'instance', 'app'],
          group_wait: '1s',
          group_interval: '1s',
          repeat_interval: '1h',
          routes: [{ matchers: ['service="rtcpulse"'], receiver: 'pager' }],
        },
        receivers: [
          { name: 'null' },
          { name: 'pager', webhook_configs: [{ url: o.webhook, send_resolved: true }] },
        ],
      }
      writeFileSync(join(dir, 'alertmanager.yml'), toYaml(config))
    },
  )
}

/** One notification as Alertmanager's webhook receiver posts it (version 4). */
export interface WebhookMessage {
  status: 'firing' | 'resolved'
  receiver: string
  groupLabels: Record<string, string>
  commonLabels: Record<string, string>
  commonAnnotations: Record<string, string>
  alerts: Array<{
    status: 'firing' | 'resolved'
    labels: Record<string, string>
    annotations: Record<string, string>
    startsAt: string
    endsAt: string
  }>
}

export interface Webhook {
  url: string
  received: Array<{ at: number; message: WebhookMessage }>
  /** Resolves with the first notification (past or future) matching `pred`. */
  waitFor(what: string, pred: (m: WebhookMessage) => boolean, timeoutMs: number): Promise<WebhookMessage>
  close(): Promise<void>
}

/** A local HTTP server collecting Alertmanager webhook notifications: the stand-in for the pager. */
export async function startWebhook(): Promise<Webhook> {
  const received: Webhook['received'] = []
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (c: Buffer) => chunks.push(c))
    req.on('end', () => {
      try {
        received.push({
          at: Date.now(),
          message: JSON.parse(Buffer.concat(chunks).toString('utf8')) as WebhookMessage,
        })
        res.end('ok')
      } catch {
        res.statusCode = 400
        res.end()
      }
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/pager`,
    received,
    waitFor: (what, pred, timeoutMs) =>
      until(what, () => Promise.resolve(received.find((r) => pred(r.message))?.message), timeoutMs),
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections()
        server.close(() => resolve())
      }),
  }
}
