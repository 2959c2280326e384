// The `rtcpulse` command line. Flags mirror the environment variables of collector/config.ts.
import { parseArgs } from 'node:util'
import { CONFIG_VARS, ConfigError, loadConfig } from '../collector/config.ts'
import { mintToken } from '../collector/auth.ts'
import { recordDeletion } from '../collector/deletions.ts'
import { startCollector } from '../collector/main.ts'
import type { PluginFactory } from '../collector/main.ts'
import { analyzerPlugin } from '../analyzer/plugin.ts'
import { webView } from '../dashboards/web/index.ts'
import { deleteData } from '../store/index.ts'
import { openStore } from '../store/open.ts'

const USAGE = `usage: rtcpulse <command> [options]

commands:
  start            run the collector (and the analyzer) on the embedded store or CLICKHOUSE_URL
  token            mint a stream token: rtcpulse token --app APP [--session ID] [--peer ID] [--user ID] [--ttl SECONDS]
  delete           delete stored data: rtcpulse delete --app APP (--session ID | --user ID)
                   (embedded store: stop the collector first, or use DELETE /api/v1/sessions/:id)
  analyze FILE     score a chrome://webrtc-internals dump offline

start options (each overrides its environment variable):
  --port N  --host ADDR  --data-dir DIR  --clickhouse-url URL  --log-level LEVEL  --dev
`

const FLAG_ENV: Record<string, string> = {
  port: 'PORT',
  host: 'HOST',
  'data-dir': 'RTCPULSE_DATA_DIR',
  'clickhouse-url': 'CLICKHOUSE_URL',
  'log-level': 'LOG_LEVEL',
}

/** Optional parts registered by other modules (the analyzer adds itself here). */
export const plugins: PluginFactory[] = [analyzerPlugin, webView]

async function start(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'clickhouse-url': { type: 'string' },
      'log-level': { type: 'string' },
      dev: { type: 'boolean' },
      help: { type: 'boolean' },
    },
  })
  if (values.help) {
    process.stdout.write(
      USAGE +
        '\nenvironment:\n' +
        CONFIG_VARS.map(([n, d, m]) => `  ${n.padEnd(32)} ${d.padEnd(10)} ${m}`).join('\n') +
        '\n',
    )
    return
  }
  const env: Record<string, string | undefined> = { ...process.env }
  for (const [flag, name] of Object.entries(FLAG_ENV)) {
    const v = values[flag as keyof typeof values]
    if (typeof v === 'string') env[name] = v
  }
  if (values.dev) env.RTCPULSE_DEV = '1'
  const running = await startCollector(env, plugins)
  process.stdout.write(
    `rtcpulse collector listening on ${running.url} (stream: ${running.url.replace(/^http/, 'ws')}/v1/stream)\n`,
  )
  const shutdown = (signal: string): void => {
    process.stdout.write(`${signal}: flushing and closing\n`)
    void running.stop().then(() => process.exit(0))
  }
  process.once('SIGINT', () => shutdown('SIGINT'))
  process.once('SIGTERM', () => shutdown('SIGTERM'))
}

function token(args: string[]): void {
  const { values } = parseArgs({
    args,
    options: {
      app: { type: 'string' },
      session: { type: 'string' },
      peer: { type: 'string' },
      user: { type: 'string' },
      ttl: { type: 'string' },
      kid: { type: 'string' },
    },
  })
  const config = loadConfig({ ...process.env, RTCPULSE_DEV: process.env.RTCPULSE_KEYS ? '0' : '1' })
  const key = config.keys.find((k) => k.app === values.app && (!values.kid || k.kid === values.kid))
  if (!values.app || !key)
    throw new ConfigError(`no key in RTCPULSE_KEYS for app ${values.app ?? '(give --app)'}`)
  const ttl = values.ttl ? Number(values.ttl) : 3600
  const claims = {
    ...(values.session ? { sess: values.session } : {}),
    ...(values.peer ? { peer: values.peer } : {}),
    ...(values.user ? { user: values.user } : {}),
  }
  process.stdout.write(mintToken(key, claims, ttl) + '\n')
}

async function del(args: string[]): Promise<void> {
  const { values } = parseArgs({
    args,
    options: { app: { type: 'string' }, session: { type: 'string' }, user: { type: 'string' } },
  })
  if (!values.app || Boolean(values.session) === Boolean(values.user))
    throw new ConfigError('delete needs --app APP and exactly one of --session ID or --user ID')
  const config = loadConfig({ ...process.env, RTCPULSE_DEV: process.env.RTCPULSE_KEYS ? '0' : '1' })
  const store = await openStore(config)
  try {
    const scope = values.session
      ? { app: values.app, session: values.session }
      : { app: values.app, user: values.user as string }
    // Recorded first: collectors close this scope's live streams and refuse its hellos at their next poll.
    await recordDeletion(store, scope)
    const result = await deleteData(store, scope)
    process.stdout.write(JSON.stringify({ deleted: scope, ...result }) + '\n')
  } finally {
    await store.close()
  }
}

/** Runs the CLI with `argv` (without node and script). */
export async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv
  try {
    if (command === 'start') await start(rest)
    else if (command === 'token') token(rest)
    else if (command === 'delete') await del(rest)
    else if (command === 'analyze') {
      const mod = await import('../analyzer/cli.ts')
      await mod.analyzeCommand(rest)
    } else {
      process.stdout.write(USAGE)
      process.exitCode = command === undefined || command === 'help' || command === '--help' ? 0 : 2
    }
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`rtcpulse: ${err.message}\n`)
      process.exitCode = 2
    } else throw err
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2))
