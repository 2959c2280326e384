// The `rtcpulse` command line. Flags mirror the environment variables of collector/config.ts.
import { ConfigError } from '../lib/env.ts'
import { CONFIG_VARS, loadConfig } from '../collector/config.ts'
import { mintToken } from '../collector/auth.ts'
import { loadAnalyzerConfig } from '../analyzer/config.ts'
import type { PluginFactory } from '../collector/main.ts'
import { describeParseArgsError, idFlag, intFlag, isParseArgsError, parseFlags } from './flags.ts'

const USAGE = `usage: rtcpulse <command> [options]

commands:
  start            run the collector (and the analyzer) on the embedded store or CLICKHOUSE_URL
  token            mint a stream token: rtcpulse token --app APP [--session ID] [--peer ID] [--user ID]
                   [--ttl SECONDS] [--kid KID] (--ttl: 3600 by default, at most RTCPULSE_MAX_TOKEN_TTL_S, 86400 by default)
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

// The server and the store load only for the commands that use them (about a second), so that `token`
// and every refused flag answer at once.

/** Optional parts registered by other modules (the analyzer adds itself here). */
export async function loadPlugins(): Promise<PluginFactory[]> {
  const [{ analyzerPlugin }, { webView }] = await Promise.all([
    import('../analyzer/plugin.ts'),
    import('../dashboards/web/index.ts'),
  ])
  return [analyzerPlugin, webView]
}

const START_USAGE =
  'rtcpulse start [--port N] [--host ADDR] [--data-dir DIR] [--clickhouse-url URL] [--log-level LEVEL] [--dev]'
const TOKEN_USAGE =
  'rtcpulse token --app APP [--session ID] [--peer ID] [--user ID] [--ttl SECONDS] [--kid KID]'
const DELETE_USAGE = 'rtcpulse delete --app APP (--session ID | --user ID)'

async function start(args: string[]): Promise<void> {
  const { values } = parseFlags(
    args,
    {
      port: { type: 'string' },
      host: { type: 'string' },
      'data-dir': { type: 'string' },
      'clickhouse-url': { type: 'string' },
      'log-level': { type: 'string' },
      dev: { type: 'boolean' },
      help: { type: 'boolean' },
    },
    START_USAGE,
  )
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
  const given = new Map<string, string>()
  for (const [flag, name] of Object.entries(FLAG_ENV)) {
    const v = values[flag as keyof typeof values]
    if (typeof v === 'string') {
      env[name] = v
      given.set(name, flag)
    }
  }
  if (values.dev) env.RTCPULSE_DEV = '1'
  // Checked before anything starts, so that a bad flag is reported as the flag, not as its variable.
  try {
    if (loadConfig(env).analyzer) loadAnalyzerConfig(env)
  } catch (err) {
    if (!(err instanceof ConfigError)) throw err
    const m = /^([A-Z_]+)=/.exec(err.message)
    const flag = m && given.get(m[1] as string)
    throw flag ? new ConfigError(`--${flag} ${err.message.slice(m[0].length)}`, { cause: err }) : err
  }
  const { startCollector } = await import('../collector/main.ts')
  const running = await startCollector(env, await loadPlugins())
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
  const { values } = parseFlags(
    args,
    {
      app: { type: 'string' },
      session: { type: 'string' },
      peer: { type: 'string' },
      user: { type: 'string' },
      ttl: { type: 'string' },
      kid: { type: 'string' },
      help: { type: 'boolean' },
    },
    TOKEN_USAGE,
  )
  if (values.help) return void process.stdout.write(`usage: ${TOKEN_USAGE}\n`)
  const app = idFlag('app', values.app)
  const session = idFlag('session', values.session)
  const peer = idFlag('peer', values.peer)
  const user = idFlag('user', values.user)
  if (!app) throw new ConfigError(`--app is required (usage: ${TOKEN_USAGE})`)
  const config = loadConfig({ ...process.env, RTCPULSE_DEV: process.env.RTCPULSE_KEYS ? '0' : '1' })
  // A token the collector would refuse is better refused here (RTCPULSE_MAX_TOKEN_TTL_S, same env).
  const ttl = intFlag('ttl', values.ttl, Math.min(3600, config.maxTokenTtlS), 1, config.maxTokenTtlS)
  const key = config.keys.find((k) => k.app === app && (!values.kid || k.kid === values.kid))
  if (!key)
    throw new ConfigError(
      `no key in RTCPULSE_KEYS for app ${app}${values.kid ? ` with kid ${values.kid}` : ''} (kid:app:secret)`,
    )
  // Bound claims (peer, user): the collector then refuses a hello for any other peer or user.
  const claims = {
    ...(session ? { sess: session } : {}),
    ...(peer ? { peer } : {}),
    ...(user ? { user } : {}),
  }
  process.stdout.write(mintToken(key, claims, ttl) + '\n')
}

async function del(args: string[]): Promise<void> {
  const { values } = parseFlags(
    args,
    {
      app: { type: 'string' },
      session: { type: 'string' },
      user: { type: 'string' },
      help: { type: 'boolean' },
    },
    DELETE_USAGE,
  )
  if (values.help) return void process.stdout.write(`usage: ${DELETE_USAGE}\n`)
  const app = idFlag('app', values.app)
  const session = idFlag('session', values.session)
  const user = idFlag('user', values.user)
  if (!app || Boolean(session) === Boolean(user))
    throw new ConfigError(
      `give --app APP and exactly one of --session ID or --user ID (usage: ${DELETE_USAGE})`,
    )
  const config = loadConfig({ ...process.env, RTCPULSE_DEV: process.env.RTCPULSE_KEYS ? '0' : '1' })
  const [{ openStore }, { deleteData }, { recordDeletion }] = await Promise.all([
    import('../store/open.ts'),
    import('../store/index.ts'),
    import('../collector/deletions.ts'),
  ])
  const store = await openStore(config)
  try {
    const scope = session ? { app, session } : { app, user: user as string }
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
    // A bad command line is one line on stderr and status 2; anything else is a bug worth its stack.
    if (err instanceof ConfigError || isParseArgsError(err)) {
      const message = err instanceof ConfigError ? err.message : describeParseArgsError(err)
      process.stderr.write(`rtcpulse ${command}: ${message.split('\n')[0]}\n`)
      process.exitCode = 2
    } else throw err
  }
}

if (import.meta.url === `file://${process.argv[1]}`) await main(process.argv.slice(2))
