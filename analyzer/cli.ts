// `rtcpulse analyze FILE [--json] [--fps N]`: scores a chrome://webrtc-internals dump offline with the
// same derivation, SQL and scoring as a live session, on an embedded store in a temporary folder.
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { basename, join } from 'node:path'
import { parseArgs } from 'node:util'
import { gunzipSync } from 'node:zlib'
import { ConfigError } from '../lib/env.ts'
import { createChdbStore } from '../store/chdb.ts'
import type { Store } from '../store/index.ts'
import { migrate, removeRetention } from '../store/migrate.ts'
import { analyzeSessions } from './analyze.ts'
import { storeAnalysis } from './persist.ts'
import { DumpError, parseDumpText, parseInternalsDump } from './internals.ts'
import { storeSession } from './offline.ts'
import { detailJson, sessionDetail } from './detail.ts'
import { renderReport } from './report.ts'

const USAGE = `usage: rtcpulse analyze FILE [--json] [--fps N]

Scores a chrome://webrtc-internals dump (JSON, optionally gzipped) offline and prints a report.
  --json    print the same JSON as GET /api/v1/sessions/:id, per-second series included
  --fps N   frame rate camera video should reach (default 30)
`

export interface AnalyzeResult {
  text: string
  json: Record<string, unknown>
}

/**
 * Analyses a parsed dump in `store` (migrated; a fresh database is best). `name` becomes the session id.
 * Throws DumpError on input that is not a dump; rejects with StoreError.
 */
export async function analyzeDump(
  store: Store,
  dump: unknown,
  name: string,
  expectedFps = 30,
): Promise<AnalyzeResult> {
  const session = parseInternalsDump(dump, { app: 'offline', session: name, peer: 'local' })
  await storeSession(store, session)
  const [analysis] = await analyzeSessions(store, 'offline', [name], { expectedFps, final: true })
  // A dump without streams is worth a report only when it shows a failed call (SCORING.md §0).
  if (!analysis || (analysis.streams.length === 0 && analysis.outcome === 'ok'))
    throw new DumpError('the dump holds no RTP streams to score')
  await storeAnalysis(store, analysis)
  const detail = await sessionDetail(store, 'offline', name, { series: true, expectedFps })
  if (!detail) throw new DumpError('the dump holds no RTP streams to score')
  return { text: renderReport(detail.analysis, name), json: detailJson(detail) }
}

/** Reads a dump file: JSON text or gzip of it. Throws DumpError when it is neither, or an rtcstats dump. */
export function readDump(file: string): unknown {
  let buf = readFileSync(file)
  if (buf[0] === 0x1f && buf[1] === 0x8b) buf = gunzipSync(buf)
  return parseDumpText(buf.toString('utf8'), file)
}

/** Entry point of `rtcpulse analyze`. Throws ConfigError on bad arguments (the CLI prints it, exit 2). */
export async function analyzeCommand(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { json: { type: 'boolean' }, fps: { type: 'string' }, help: { type: 'boolean' } },
  })
  if (values.help) {
    process.stdout.write(USAGE)
    return
  }
  const file = positionals[0]
  if (!file || positionals.length > 1) throw new ConfigError(`give exactly one dump file\n${USAGE}`)
  const fps = values.fps === undefined ? 30 : Number(values.fps)
  if (!Number.isInteger(fps) || fps < 1 || fps > 240)
    throw new ConfigError('--fps must be an integer from 1 to 240')
  let dump: unknown
  try {
    dump = readDump(file)
  } catch (err) {
    if (err instanceof DumpError || (err as { code?: string }).code === 'ENOENT')
      throw new ConfigError((err as Error).message)
    throw err
  }
  const dir = mkdtempSync(join(tmpdir(), 'rtcpulse-analyze-'))
  const store = await createChdbStore({ dataDir: dir, database: 'offline' })
  try {
    await migrate(store)
    await removeRetention(store)
    const result = await analyzeDump(store, dump, basename(file), fps).catch((err: unknown) => {
      throw err instanceof DumpError ? new ConfigError(err.message) : err
    })
    process.stdout.write(values.json ? JSON.stringify(result.json, null, 2) + '\n' : result.text)
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
