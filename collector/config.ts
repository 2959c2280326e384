// Configuration from the environment, validated once at start. Only main files call loadConfig.
import { VERBOSE_FIELDS } from '../core/protocol.ts'
import { ConfigError, bool, int, logLevel } from '../lib/env.ts'
import type { Env, LogLevel } from '../lib/env.ts'
import { loadStoreConfig } from '../store/config.ts'
import { parseTrustedProxies } from './proxies.ts'
import type { TrustedProxies } from './proxies.ts'

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
  /** CLICKHOUSE_CLUSTER: the ClickHouse cluster the tables span (server only; store/cluster-ddl.ts). */
  cluster: string | undefined
  tls: { certFile: string; keyFile: string } | undefined
  logLevel: LogLevel
  /** Insecure development mode: no tokens required. */
  dev: boolean
  keys: SigningKey[]
  /** Longest token lifetime accepted (exp − iat, or exp − now without iat), seconds. */
  maxTokenTtlS: number
  /** Stats fields the SDK is asked to leave out (a RegExp source, '' for none), sent in `welcome`. */
  sdkOmit: string
  /** Browser origins allowed per app (`*` allows any); empty means origins are not checked. */
  allowedOrigins: Map<string, string[]>
  batchMaxRows: number
  batchMaxDelayMs: number
  maxFrameBytes: number
  /** Largest message (after inflation) before the hello is accepted: the hello itself is a few KiB. */
  maxHelloBytes: number
  /** Largest `POST /v1/ingest` body, read with or without Content-Length; larger answers 413. */
  maxIngestBytes: number
  maxFramesPerSecond: number
  maxPcsPerConnection: number
  maxConnectionsPerIp: number
  /** Concurrent streams opened with one token (a monitor reconnecting briefly holds two). */
  maxConnectionsPerToken: number
  /** Frames accepted but not yet stored, across all connections, before clients are pushed back. */
  maxPendingFrames: number
  /** Bytes of frame text accepted but not yet stored, across all connections (same pushback). */
  maxPendingBytes: number
  /** Per connection: bytes queued before `welcome` plus bytes accepted and not yet stored. */
  maxBufferedBytes: number
  /** Per connection: bytes of server frames the client has not read; more closes it (slow consumer). */
  maxSendBufferBytes: number
  /** Liveness ping interval; a socket that has not answered the previous ping is terminated. */
  pingIntervalMs: number
  /** A connection that sends no hello within this time is closed with 1013. */
  helloTimeoutMs: number
  /** Longest wait between retries of a failing store write, ms (starts at 100 and doubles). */
  storeRetryMaxMs: number
  /** Mask IP addresses (candidate stats, ICE events, the client address) before storage. */
  maskIps: boolean
  /** Days to keep rows, per table; tables not listed keep the TTL of their migration. */
  retentionDays: Map<string, number>
  analyzer: boolean
  /** Proxies whose X-Forwarded-For / Forwarded headers name the client (collector/proxies.ts). */
  trustedProxies: TrustedProxies
  /** How often each collector reads the deletions table to evict and refuse deleted scopes, ms. */
  deletionPollMs: number
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

/** Tables whose retention has its own variable `RTCPULSE_RETENTION_DAYS_<TABLE>`, with the schema default. */
export const RETENTION_TABLES: ReadonlyArray<[table: string, days: number]> = [
  ['raw_frames', 7],
  ['events', 90],
  ['stream_seconds', 90],
  ['transport_seconds', 90],
  ['peers', 400],
]

// Read one by one (not by scanning env) so that each variable is visible to the README check.
function parseRetention(env: Env): Map<string, number> {
  const raw: Record<string, string | undefined> = {
    raw_frames: env.RTCPULSE_RETENTION_DAYS_RAW_FRAMES,
    events: env.RTCPULSE_RETENTION_DAYS_EVENTS,
    stream_seconds: env.RTCPULSE_RETENTION_DAYS_STREAM_SECONDS,
    transport_seconds: env.RTCPULSE_RETENTION_DAYS_TRANSPORT_SECONDS,
    peers: env.RTCPULSE_RETENTION_DAYS_PEERS,
  }
  const out = new Map<string, number>()
  for (const [table, value] of Object.entries(raw)) {
    if (value === undefined || value === '') continue
    const name = `RTCPULSE_RETENTION_DAYS_${table.toUpperCase()}`
    out.set(table, int({ [name]: value }, name, 0, 1, 36_500))
  }
  return out
}

/** Validates the environment into a Config. Throws ConfigError naming the first bad variable. */
export function loadConfig(env: Env): Config {
  const level = logLevel(env)
  const store = loadStoreConfig(env)
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
  const maxFrameBytes = int(env, 'RTCPULSE_MAX_FRAME_BYTES', 256 * 1024, 1024, 16 * 1024 * 1024)
  const maxHelloBytes = int(
    env,
    'RTCPULSE_MAX_HELLO_BYTES',
    Math.min(16 * 1024, maxFrameBytes),
    1024,
    16 * 1024 * 1024,
  )
  if (maxHelloBytes > maxFrameBytes) {
    throw new ConfigError(
      `RTCPULSE_MAX_HELLO_BYTES=${maxHelloBytes} is invalid: it must be at most RTCPULSE_MAX_FRAME_BYTES (${maxFrameBytes})`,
    )
  }
  const maxIngestBytes = int(
    env,
    'RTCPULSE_MAX_INGEST_BYTES',
    Math.max(1024 * 1024, maxFrameBytes + maxHelloBytes),
    2048,
    2 ** 30,
  )
  if (maxIngestBytes < maxFrameBytes + maxHelloBytes) {
    throw new ConfigError(
      `RTCPULSE_MAX_INGEST_BYTES=${maxIngestBytes} is invalid: it must hold a hello and a frame, at least RTCPULSE_MAX_FRAME_BYTES + RTCPULSE_MAX_HELLO_BYTES (${maxFrameBytes + maxHelloBytes})`,
    )
  }
  const maxBufferedBytes = int(env, 'RTCPULSE_MAX_BUFFERED_BYTES', 4 * 1024 * 1024, 1024, 2 ** 31)
  if (maxBufferedBytes < maxFrameBytes) {
    throw new ConfigError(
      `RTCPULSE_MAX_BUFFERED_BYTES=${maxBufferedBytes} is invalid: it must be at least RTCPULSE_MAX_FRAME_BYTES (${maxFrameBytes})`,
    )
  }
  const sdkOmit = env.RTCPULSE_SDK_OMIT ?? VERBOSE_FIELDS
  try {
    new RegExp(sdkOmit)
  } catch (err) {
    throw new ConfigError(
      `RTCPULSE_SDK_OMIT is invalid: expected a regular expression of stats field names (${(err as Error).message})`,
    )
  }
  return {
    port: int(env, 'PORT', 8080, 0, 65535),
    sdkOmit,
    host,
    ...store,
    tls: certFile && keyFile ? { certFile, keyFile } : undefined,
    logLevel: level,
    dev,
    keys,
    maxTokenTtlS: int(env, 'RTCPULSE_MAX_TOKEN_TTL_S', 86_400, 60, 31_536_000),
    allowedOrigins: parseOrigins(env.RTCPULSE_ALLOWED_ORIGINS),
    batchMaxRows: int(env, 'RTCPULSE_BATCH_ROWS', 20_000, 1, 1_000_000),
    // Half the ack budget (DESIGN.md: p99 ≤ 1 s): fewer, larger parts for chDB to write and merge;
    // the other half is for the write (bench/RESULTS.md, collector: 100 vs 500 ms).
    batchMaxDelayMs: int(env, 'RTCPULSE_BATCH_MS', 500, 1, 60_000),
    maxFrameBytes,
    maxHelloBytes,
    maxIngestBytes,
    maxFramesPerSecond: int(env, 'RTCPULSE_MAX_FRAMES_PER_SECOND', 50, 1, 100_000),
    maxPcsPerConnection: int(env, 'RTCPULSE_MAX_PCS', 32, 1, 10_000),
    maxConnectionsPerIp: int(env, 'RTCPULSE_MAX_CONNECTIONS_PER_IP', 1000, 1, 1_000_000),
    maxConnectionsPerToken: int(env, 'RTCPULSE_MAX_CONNECTIONS_PER_TOKEN', 16, 1, 1_000_000),
    maxPendingFrames: int(env, 'RTCPULSE_MAX_PENDING_FRAMES', 200_000, 100, 100_000_000),
    maxPendingBytes: int(env, 'RTCPULSE_MAX_PENDING_BYTES', 256 * 1024 * 1024, 1024 * 1024, 2 ** 40),
    maxBufferedBytes,
    maxSendBufferBytes: int(env, 'RTCPULSE_MAX_SEND_BUFFER_BYTES', 1024 * 1024, 1024, 2 ** 31),
    pingIntervalMs: int(env, 'RTCPULSE_PING_INTERVAL_MS', 30_000, 50, 3_600_000),
    helloTimeoutMs: int(env, 'RTCPULSE_HELLO_TIMEOUT_MS', 10_000, 50, 600_000),
    storeRetryMaxMs: int(env, 'RTCPULSE_STORE_RETRY_MAX_MS', 5000, 100, 600_000),
    maskIps: bool(env, 'RTCPULSE_MASK_IPS', true),
    retentionDays: parseRetention(env),
    analyzer: bool(env, 'RTCPULSE_ANALYZER', true),
    trustedProxies: trustedProxies(env.RTCPULSE_TRUSTED_PROXIES),
    deletionPollMs: int(env, 'RTCPULSE_DELETION_POLL_MS', 5000, 100, 600_000),
  }
}

function trustedProxies(raw: string | undefined): TrustedProxies {
  try {
    return parseTrustedProxies(raw)
  } catch (err) {
    throw new ConfigError(
      `RTCPULSE_TRUSTED_PROXIES=${JSON.stringify(raw)} is invalid: ${(err as Error).message}`,
    )
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
  [
    'CLICKHOUSE_CLUSTER',
    '(unset)',
    'ClickHouse cluster name (remote_servers): replicated, sharded tables and ON CLUSTER DDL; needs CLICKHOUSE_URL',
  ],
  ['TLS_CERT / TLS_KEY', '(unset)', 'PEM files; when both are set the collector serves https/wss'],
  ['LOG_LEVEL', 'info', 'fatal, error, warn, info, debug, trace or silent'],
  ['RTCPULSE_DEV', 'false', 'insecure development mode: accept streams without a token (--dev)'],
  ['RTCPULSE_KEYS', '(unset)', 'token signing keys, kid:app:secret,… (required unless --dev)'],
  [
    'RTCPULSE_MAX_TOKEN_TTL_S',
    '86400',
    'longest token lifetime accepted (exp − iat, seconds); longer tokens are refused with 4001',
  ],
  [
    'RTCPULSE_ALLOWED_ORIGINS',
    '(unset)',
    'browser origins per app: app=https://a.example,https://b.example;app2=*',
  ],
  [
    'RTCPULSE_TRUSTED_PROXIES',
    '(unset)',
    'CIDRs of proxies whose X-Forwarded-For / Forwarded name the client: 10.0.0.0/8,fd00::/8',
  ],
  ['RTCPULSE_DELETION_POLL_MS', '5000', 'how often a collector reads deletions made on any collector (ms)'],
  ['RTCPULSE_BATCH_ROWS', '20000', 'rows that trigger a batch write'],
  ['RTCPULSE_BATCH_MS', '500', 'longest a row waits before its batch is written (ms), under load too'],
  ['RTCPULSE_MAX_FRAME_BYTES', '262144', 'largest accepted frame; larger closes with 1009'],
  [
    'RTCPULSE_MAX_HELLO_BYTES',
    '16384',
    'largest message (inflated) before the hello is accepted; larger closes with 1009',
  ],
  ['RTCPULSE_MAX_INGEST_BYTES', '1048576', 'largest POST /v1/ingest body (chunked too); larger answers 413'],
  [
    'RTCPULSE_SDK_OMIT',
    'see sdk/PROTOCOL.md',
    'stats fields SDKs leave out (regular expression, sent in welcome); empty for every field',
  ],
  ['RTCPULSE_MAX_FRAMES_PER_SECOND', '50', 'frames per second per connection; more closes with 4029'],
  ['RTCPULSE_MAX_PCS', '32', 'peer connections per monitor connection'],
  ['RTCPULSE_MAX_CONNECTIONS_PER_IP', '1000', 'concurrent streams per client IP; more closes with 4029'],
  [
    'RTCPULSE_MAX_CONNECTIONS_PER_TOKEN',
    '16',
    'concurrent streams opened with one token; more closes with 4029',
  ],
  [
    'RTCPULSE_MAX_PENDING_FRAMES',
    '200000',
    'frames held unstored in memory before clients are pushed back (1013)',
  ],
  [
    'RTCPULSE_MAX_PENDING_BYTES',
    '268435456',
    'bytes of frames held unstored in memory before clients are pushed back (1013)',
  ],
  [
    'RTCPULSE_MAX_BUFFERED_BYTES',
    '4194304',
    'per connection: bytes queued before welcome plus bytes not yet stored; more closes with 1013',
  ],
  [
    'RTCPULSE_MAX_SEND_BUFFER_BYTES',
    '1048576',
    'per connection: server bytes the client has not read; more closes it (slow consumer)',
  ],
  ['RTCPULSE_PING_INTERVAL_MS', '30000', 'liveness ping interval; a socket that misses a pong is closed'],
  ['RTCPULSE_HELLO_TIMEOUT_MS', '10000', 'a connection without a hello after this long is closed (1013)'],
  ['RTCPULSE_STORE_RETRY_MAX_MS', '5000', 'longest pause between retries of a failing store write (ms)'],
  ['RTCPULSE_MASK_IPS', 'true', 'mask IP addresses before storage (IPv4 to /24, IPv6 to /48)'],
  ...RETENTION_TABLES.map(([table, days]): [string, string, string] => [
    `RTCPULSE_RETENTION_DAYS_${table.toUpperCase()}`,
    String(days),
    `days to keep rows of ${table} (applied at start with ALTER TABLE … MODIFY TTL)`,
  ]),
  ['RTCPULSE_ANALYZER', 'true', 'run the analyzer inside the collector process'],
]
