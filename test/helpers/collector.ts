// Starts a real collector in this test process on port 0, on chDB in a temp folder (one per test file:
// chDB binds one data directory per process) and a database of its own per call.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { randomBytes } from 'node:crypto'
import { startCollector } from '../../collector/main.ts'
import type { PluginFactory, Running, StartOptions } from '../../collector/main.ts'

let dataDir: string | undefined

/** The temp data folder shared by every collector this test process starts. */
export function testDataDir(): string {
  return (dataDir ??= mkdtempSync(join(tmpdir(), 'rtcpulse-test-')))
}

/** A fresh database name, so tests can run side by side. */
export const guid = (prefix = 't'): string => `${prefix}_${randomBytes(6).toString('hex')}`

export interface TestCollector extends Running {
  /** ws://…/v1/stream */
  streamUrl: string
  database: string
}

/** Starts a dev-mode collector (no auth unless env sets RTCPULSE_KEYS) with a short batch delay. */
export async function startTestCollector(
  env: Record<string, string> = {},
  plugins: readonly PluginFactory[] = [],
  options: StartOptions = {},
): Promise<TestCollector> {
  const database = env.CLICKHOUSE_DATABASE ?? guid('db')
  const running = await startCollector(
    {
      PORT: '0',
      HOST: '127.0.0.1',
      RTCPULSE_DATA_DIR: testDataDir(),
      CLICKHOUSE_DATABASE: database,
      LOG_LEVEL: 'silent',
      RTCPULSE_BATCH_MS: '20',
      RTCPULSE_DEV: env.RTCPULSE_KEYS ? '0' : '1',
      ...env,
    },
    plugins,
    options,
  )
  return { ...running, database, streamUrl: `${running.url.replace(/^http/, 'ws')}/v1/stream` }
}
