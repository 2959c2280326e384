// The analyzer's own settings, read once from the environment by whoever starts it (the collector's
// plugin or analyzer/main.ts). Fails fast with ConfigError naming the variable, like collector/config.ts.
import { timingSafeEqual, createHash } from 'node:crypto'
import { ConfigError, bool, int } from '../lib/env.ts'
import type { Env } from '../lib/env.ts'

export interface AnalyzerConfig {
  /** How often live sessions are re-scored, ms. */
  intervalMs: number
  /** Length of the rolling window a live session is scored over, ms. */
  windowMs: number
  /** A session with no new frame for this long is finalised, ms. */
  idleMs: number
  /** How far back (by report timestamp) the analyzer looks for active sessions, ms. */
  lookbackMs: number
  /** Frame rate a camera stream should reach, fps. */
  expectedFps: number
  /** Sessions scored per query batch. */
  batchSize: number
  /** An analyzer instance whose heartbeat is this old is gone and its sessions move to the others, ms. */
  memberTtlMs: number
  /** API keys: each is scoped to one app, or to every app with `*`. */
  apiKeys: ApiKey[]
  /** Development mode: API requests without a key are accepted. */
  dev: boolean
}

export interface ApiKey {
  app: string
  key: string
}

// The same parsers as the collector's, so both fail with the same messages.
export { bool }

/** `app:key,app2:key2,*:adminkey` → keys; a key needs 16+ characters. */
export function parseApiKeys(raw: string | undefined): ApiKey[] {
  if (!raw) return []
  return raw.split(',').map((entry) => {
    const i = entry.indexOf(':')
    const app = entry.slice(0, i).trim()
    const key = entry.slice(i + 1).trim()
    if (i <= 0 || !app || key.length < 16) {
      throw new ConfigError(
        'RTCPULSE_API_KEYS is invalid: expected comma-separated app:key entries (app `*` for every app) with keys of 16+ characters',
      )
    }
    return { app, key }
  })
}

/** Validates the analyzer's variables. Throws ConfigError naming the first bad one. */
export function loadAnalyzerConfig(env: Env): AnalyzerConfig {
  return {
    intervalMs: int(env, 'RTCPULSE_ANALYZER_INTERVAL_MS', 5000, 100, 600_000),
    windowMs: 1000 * int(env, 'RTCPULSE_ANALYZER_WINDOW_S', 60, 5, 3600),
    idleMs: 1000 * int(env, 'RTCPULSE_ANALYZER_IDLE_S', 30, 1, 86_400),
    lookbackMs: 1000 * int(env, 'RTCPULSE_ANALYZER_LOOKBACK_S', 900, 10, 7 * 86_400),
    expectedFps: int(env, 'RTCPULSE_ANALYZER_EXPECTED_FPS', 30, 1, 240),
    batchSize: int(env, 'RTCPULSE_ANALYZER_BATCH', 2000, 1, 100_000),
    memberTtlMs: 1000 * int(env, 'RTCPULSE_ANALYZER_MEMBER_TTL_S', 20, 1, 3600),
    apiKeys: parseApiKeys(env.RTCPULSE_API_KEYS),
    dev: bool(env, 'RTCPULSE_DEV', false),
  }
}

/** The analyzer's variables with their defaults, for READMEs and --help. */
export const ANALYZER_VARS: ReadonlyArray<[name: string, def: string, meaning: string]> = [
  ['RTCPULSE_ANALYZER_INTERVAL_MS', '5000', 'how often live sessions are re-scored (ms)'],
  ['RTCPULSE_ANALYZER_WINDOW_S', '60', 'rolling window a live session is scored over (s)'],
  ['RTCPULSE_ANALYZER_IDLE_S', '30', 'a session silent this long is finalised (s)'],
  ['RTCPULSE_ANALYZER_LOOKBACK_S', '900', 'how far back (report time) active sessions are looked for (s)'],
  ['RTCPULSE_ANALYZER_EXPECTED_FPS', '30', 'frame rate camera video should reach'],
  ['RTCPULSE_ANALYZER_BATCH', '2000', 'sessions scored per query batch'],
  [
    'RTCPULSE_ANALYZER_MEMBER_TTL_S',
    '20',
    'an analyzer silent this long is gone and its sessions move to the others (s; at least 3 intervals)',
  ],
  ['RTCPULSE_API_KEYS', '(unset)', 'API keys app:key,… (`*:key` for every app); none needed with --dev'],
  ['RTCPULSE_ANALYZER_PORT', '8081', 'standalone analyzer (analyzer/main.ts) HTTP port'],
]

const digest = (s: string): Buffer => createHash('sha256').update(s).digest()

/** The key matching `presented` (constant-time compare of digests), or undefined. */
export function findApiKey(keys: readonly ApiKey[], presented: string): ApiKey | undefined {
  const d = digest(presented)
  let found: ApiKey | undefined
  for (const k of keys) if (timingSafeEqual(digest(k.key), d)) found ??= k
  return found
}
