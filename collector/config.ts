// Configuration from the environment, validated once at start. Only main files call loadConfig.
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: readonly LogLevel[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** A signing key: tokens signed with it may only claim `app`. */
export interface SigningKey {
  kid: string
  app: string
  secret: string
}

export interface Config {
  port: number
  host: string
  dataDir: string
  database: string
  clickhouse: { url: string; username: string; password: string } | undefined
  tls: { certFile: string; keyFile: string } | undefined
  logLevel: LogLevel
  /** Insecure development mode: no tokens required. */
  dev: boolean
  keys: SigningKey[]
  /** Browser origins allowed per app (`*` allows any); empty means origins are not checked. */
  allowedOrigins: Map<string, string[]>
  batchMaxRows: number
  batchMaxDelayMs: number
  maxFrameBytes: number
  maxFramesPerSecond: number
  maxPcsPerConnection: number
  maxConnectionsPerIp: number
  /** Frames accepted but not yet stored, across all connections, before clients are pushed back. */
  maxPendingFrames: number
  analyzer: boolean
}

/** Thrown by loadConfig; the message names the variable and what it accepts. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

type Env = Record<string, string | undefined>

function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return def
  const v = Number(raw)
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is invalid: expected an integer from ${min} to ${max}`,
    )
  }
  return v
}

function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return def
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false
  throw new ConfigError(`${name}=${JSON.stringify(raw)} is invalid: expected true or false`)
}

function parseKeys(raw: string | undefined): SigningKey[] {
  if (!raw) return []
  return raw.split(',').map((entry) => {
    const [kid, app, ...rest] = entry.trim().split(':')
    const secret = rest.join(':')
    if (!kid || !app || secret.length < 16) {
      throw new ConfigError(
        'RTCPULSE_KEYS is invalid: expected comma-separated kid:app:secret entries with secrets of 16+ characters',
      )
    }
    return { kid, app, secret }
  })
}

function parseOrigins(raw: string | undefined): Map<string, string[]> {
  const out = new Map<string, string[]>()
  if (!raw) return out
  for (const entry of raw.split(';')) {
    const [app, list] = entry.split('=')
    if (!app?.trim() || !list) {
      throw new ConfigError('RTCPULSE_ALLOWED_ORIGINS is invalid: expected app=origin1,origin2;app2=origin3')
    }
    out.set(
      app.trim(),
      list.split(',').map((o) => o.trim()),
    )
  }
  return out
}

/** Validates the environment into a Config. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env): Config {
  const logLevel = (env.LOG_LEVEL ?? 'info') as LogLevel
  if (!LOG_LEVELS.includes(logLevel)) {
    throw new ConfigError(
      `LOG_LEVEL=${JSON.stringify(env.LOG_LEVEL)} is invalid: expected one of ${LOG_LEVELS.join(', ')}`,
    )
  }
  const url = env.CLICKHOUSE_URL
  if (url !== undefined && url !== '') {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new ConfigError(`CLICKHOUSE_URL=${JSON.stringify(url)} is invalid: expected http(s)://host:port`)
    }
    if (parsed.protocol !== 'http:' && parsed.protocol !== 'https:') {
      throw new ConfigError(
        `CLICKHOUSE_URL=${JSON.stringify(url)} is invalid: expected an http:// or https:// URL`,
      )
    }
  }
  const database = env.CLICKHOUSE_DATABASE || 'rtcpulse'
  if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(database)) {
    throw new ConfigError(
      `CLICKHOUSE_DATABASE=${JSON.stringify(database)} is invalid: expected letters, digits and _`,
    )
  }
  const certFile = env.TLS_CERT || undefined
  const keyFile = env.TLS_KEY || undefined
  if (Boolean(certFile) !== Boolean(keyFile)) {
    throw new ConfigError('TLS_CERT and TLS_KEY must be given together (PEM file paths)')
  }
  const dev = bool(env, 'RTCPULSE_DEV', false)
  const keys = parseKeys(env.RTCPULSE_KEYS)
  if (!dev && keys.length === 0) {
    throw new ConfigError(
      'RTCPULSE_KEYS is not set: give kid:app:secret signing keys, or run with --dev (RTCPULSE_DEV=1) to accept unauthenticated streams',
    )
  }
  const host = env.HOST || '127.0.0.1'
  return {
    port: int(env, 'PORT', 8080, 0, 65535),
    host,
    dataDir: env.RTCPULSE_DATA_DIR || './data',
    database,
    clickhouse: url
      ? { url, username: env.CLICKHOUSE_USER || 'default', password: env.CLICKHOUSE_PASSWORD ?? '' }
      : undefined,
    tls: certFile && keyFile ? { certFile, keyFile } : undefined,
    logLevel,
    dev,
    keys,
    allowedOrigins: parseOrigins(env.RTCPULSE_ALLOWED_ORIGINS),
    batchMaxRows: int(env, 'RTCPULSE_BATCH_ROWS', 20_000, 1, 1_000_000),
    batchMaxDelayMs: int(env, 'RTCPULSE_BATCH_MS', 200, 1, 60_000),
    maxFrameBytes: int(env, 'RTCPULSE_MAX_FRAME_BYTES', 256 * 1024, 1024, 16 * 1024 * 1024),
    maxFramesPerSecond: int(env, 'RTCPULSE_MAX_FRAMES_PER_SECOND', 50, 1, 100_000),
    maxPcsPerConnection: int(env, 'RTCPULSE_MAX_PCS', 32, 1, 10_000),
    maxConnectionsPerIp: int(env, 'RTCPULSE_MAX_CONNECTIONS_PER_IP', 1000, 1, 1_000_000),
    maxPendingFrames: int(env, 'RTCPULSE_MAX_PENDING_FRAMES', 200_000, 100, 100_000_000),
    analyzer: bool(env, 'RTCPULSE_ANALYZER', true),
  }
}

/** Every variable loadConfig reads, with its default, for the README and `rtcpulse start --help`. */
export const CONFIG_VARS: ReadonlyArray<[name: string, def: string, meaning: string]> = [
  ['PORT', '8080', 'HTTP and WebSocket port (0 picks a free one)'],
  ['HOST', '127.0.0.1', 'interface to listen on; 0.0.0.0 for all'],
  ['RTCPULSE_DATA_DIR', './data', 'embedded chDB folder (used when CLICKHOUSE_URL is unset)'],
  ['CLICKHOUSE_URL', '(unset)', 'ClickHouse server HTTP URL; switches from chDB to the server'],
  ['CLICKHOUSE_USER', 'default', 'ClickHouse user'],
  ['CLICKHOUSE_PASSWORD', '(empty)', 'ClickHouse password'],
  ['CLICKHOUSE_DATABASE', 'rtcpulse', 'database for all tables (both backends)'],
  ['TLS_CERT / TLS_KEY', '(unset)', 'PEM files; when both are set the collector serves https/wss'],
  ['LOG_LEVEL', 'info', 'fatal, error, warn, info, debug, trace or silent'],
  ['RTCPULSE_DEV', 'false', 'insecure development mode: accept streams without a token (--dev)'],
  ['RTCPULSE_KEYS', '(unset)', 'token signing keys, kid:app:secret,… (required unless --dev)'],
  [
    'RTCPULSE_ALLOWED_ORIGINS',
    '(unset)',
    'browser origins per app: app=https://a.example,https://b.example;app2=*',
  ],
  ['RTCPULSE_BATCH_ROWS', '20000', 'rows that trigger a batch write'],
  ['RTCPULSE_BATCH_MS', '200', 'longest a row waits before its batch is written (ms)'],
  ['RTCPULSE_MAX_FRAME_BYTES', '262144', 'largest accepted frame; larger closes with 1009'],
  ['RTCPULSE_MAX_FRAMES_PER_SECOND', '50', 'frames per second per connection; more closes with 4029'],
  ['RTCPULSE_MAX_PCS', '32', 'peer connections per monitor connection'],
  ['RTCPULSE_MAX_CONNECTIONS_PER_IP', '1000', 'concurrent streams per client IP; more closes with 4029'],
  [
    'RTCPULSE_MAX_PENDING_FRAMES',
    '200000',
    'frames held unstored in memory before clients are pushed back (1013)',
  ],
  ['RTCPULSE_ANALYZER', 'true', 'run the analyzer inside the collector process'],
]
