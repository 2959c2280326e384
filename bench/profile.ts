// Profiles the collector under steady load: the same child as the collector benchmark, started with
// `node --cpu-prof`, one load step, then the main thread's samples inside the measure window are
// summarised (cpuprofile.ts) beside the per-thread CPU split of the same window (/proc).
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { runRamp } from './collector.ts'
import type { StepResult } from './collector.ts'
import { inclusiveOf, profileTable, summarizeProfile } from './cpuprofile.ts'
import type { ProfileSummary, TimeRange } from './cpuprofile.ts'

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))

// The collector's hot-path functions, for the inclusive-time table.
const HOT = [
  'processCallback',
  'processChunk',
  'parseClientFrame',
  'frame',
  'decode',
  'applyDelta',
  'deriveSecond',
  'toJsonEachRow',
  'insert',
  'writeBatch',
  '(garbage collector)',
]

export interface ProfileResult {
  store: 'chdb' | 'null' | 'chdb-ws-inflate'
  step: StepResult
  /** Where the .cpuprofile was kept (bench/results/, git-ignored). */
  file: string
  summary: ProfileSummary
  inclusive: Record<string, { totalMs: number; totalPct: number }>
  markdown: string
}

/** Runs `pcs` peer connections for `seconds` under the profiler and summarises the steady window. */
export async function profileCollector(
  store: 'chdb' | 'null' | 'chdb-ws-inflate',
  pcs: number,
  seconds: number,
): Promise<ProfileResult> {
  const dir = join(RESULTS, `cpuprof-${Date.now()}`)
  mkdirSync(dir, { recursive: true })
  let window: TimeRange | undefined
  const ramp = await runRamp({
    store,
    steps: [pcs],
    pcsPerClient: 2,
    sendMode: 'raw',
    connectRate: 500,
    settleSeconds: 5,
    measureSeconds: seconds,
    continueAfterFailure: true,
    nodeFlags: ['--cpu-prof', `--cpu-prof-dir=${dir}`, '--cpu-prof-interval=500'],
    onWindow: (_c, w) => (window = w),
    stopGraceMs: 120_000,
  })
  // One profile per thread that ran JavaScript (main, and tsx's loader worker): the main one is largest.
  const files = readdirSync(dir)
    .filter((f) => f.endsWith('.cpuprofile'))
    .map((f) => join(dir, f))
    .sort((a, b) => statSync(b).size - statSync(a).size)
  const main = files[0]
  if (!main || !window) throw new Error(`no profile written in ${dir}`)
  const file = join(RESULTS, `collector-${store}-${pcs}pcs.cpuprofile`)
  renameSync(main, file)
  rmSync(dir, { recursive: true, force: true })
  const summary = summarizeProfile(file, 30, window)
  const step = ramp.steps[0] as StepResult
  const threads = step.threads.map(([n, v]) => `${n} ${(v / step.windowSeconds).toFixed(2)}`).join(', ')
  const markdown =
    `Collector (${store} store) at ${step.pcs} pcs, ${step.framesPerSecond} frames/s, ${seconds} s window; ` +
    `CPU by thread (cores): ${threads}.\n` +
    `Main thread: ${summary.totalMs - summary.idleMs} ms busy of ${summary.totalMs} ms, GC ${summary.gcMs} ms.\n\n` +
    profileTable(summary, 25)
  return {
    store,
    step,
    file: file.slice(RESULTS.length - 'bench/results/'.length),
    summary,
    inclusive: inclusiveOf(file, HOT, window),
    markdown,
  }
}
