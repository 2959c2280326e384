// Collector under load: a real `rtcpulse start --dev` child on chDB (or the null store, to isolate
// storage), driven by the load generator child over real WebSockets. The load ramps through `steps`
// (peer connections at 1 Hz); each step is measured in a steady window and judged sustained or not.
// The largest sustained step is the collector's capacity on this machine, or on the CPUs it is pinned to
// (`collectorCpus`, e.g. one core with the load generator on the other, as issue 14 measured).
import { Histogram } from './histogram.ts'
import type { HistogramSnapshot } from './histogram.ts'
import { r } from './histogram.ts'
import { startCollectorProcess } from './loadgen/collector-process.ts'
import type { CollectorProcess } from './loadgen/collector-process.ts'
import { startLoadgen } from './loadgen/driver.ts'
import type { Loadgen } from './loadgen/driver.ts'
import type { WindowStats } from './loadgen/protocol.ts'
import { cpuSeconds, machineBusySeconds, rssBytes, threadCpu, threadCpuDelta } from './proc.ts'

export interface RampOptions {
  store: 'chdb' | 'null' | 'chdb-ws-inflate'
  /** Peer connections after each step, ascending. */
  steps: number[]
  pcsPerClient: number
  sendMode: 'raw' | 'ws' | 'plain'
  /** New WebSocket clients per second while growing. */
  connectRate: number
  settleSeconds: number
  measureSeconds: number
  /** Keep measuring steps after the first one that is not sustained (default: stop). */
  continueAfterFailure?: boolean
  env?: Record<string, string>
  /** CPUs for the collector and for the load generator, as `taskset -c` takes them (default: any). */
  collectorCpus?: string
  loadgenCpus?: string
  /** Source tree of the collector (bench/loadgen/collector-process.ts checkoutRef); default this one. */
  root?: string
  nodeFlags?: string[]
  /** How long the collector may take to shut down gracefully before SIGKILL (a profile is written on exit). */
  stopGraceMs?: number
  /** Called after each step, e.g. to print it. */
  onStep?: (s: StepResult) => void
  /** Called with the collector process once a step's measure window is over, before the next grows. */
  onWindow?: (c: CollectorProcess, window: { fromUs: number; toUs: number }, step: StepResult) => void
}

export interface StepResult {
  pcs: number
  clients: number
  windowSeconds: number
  /** Acknowledged frames per second in the window. */
  framesPerSecond: number
  sentPerSecond: number
  ackMs: { p50: number; p90: number; p99: number; max: number }
  /** hello → welcome of the clients added by this step. */
  welcomeMs: { p50: number; p99: number; max: number }
  /** Seconds from the first new client to the last welcome. */
  growSeconds: number
  unackedAtEnd: number
  collectorCores: number
  /** Collector CPU seconds per 1,000 acknowledged frames (= per 1,000 connection-seconds at 1 Hz). */
  cpuPer1000Frames: number
  rssMiB: number
  threads: [string, number][]
  /** Collector CPU by kind of thread, cores (threadSplit). */
  split: ThreadSplit
  loadgenCores: number
  loadgenLagP99Ms: number
  /** Busy CPU of everything else on the machine during the window, cores. */
  otherCores: number
  wireBytesPerFrame: number
  textBytesPerFrame: number
  pendingFrames: number
  errors: Record<string, number>
  closes: Record<string, number>
  sustained: boolean
  reasons: string[]
}

export interface RampResult {
  store: 'chdb' | 'null' | 'chdb-ws-inflate'
  pcsPerClient: number
  sendMode: 'raw' | 'ws' | 'plain'
  steps: StepResult[]
  /** Largest step that was sustained (null if none). */
  maxSustainedPcs: number | null
  env: Record<string, string>
  /** CPUs the collector was pinned to (undefined: any). */
  collectorCpus?: string
}

/**
 * Collector CPU by kind of thread, cores. `js`: the main thread. `pool`: threads named `node` other than
 * main, i.e. libuv's pool (permessage-deflate inflate, chDB's async query and insert calls, which parse
 * and write the parts) and V8's helpers (GC). `merges`: chDB's MergeMutate pool. `inserts`: chDB's
 * other threads, which are its insert pipeline (ThreadPool, renamed while they run as Segmentator,
 * ChunkParser, QueryCompPipeEx: parsing JSONEachRow and writing parts) and its small schedule pools.
 */
export interface ThreadSplit {
  js: number
  pool: number
  merges: number
  inserts: number
}

/** Groups a threadCpuDelta over `seconds` into a ThreadSplit (cores). */
export function threadSplit(threads: [string, number][], seconds: number): ThreadSplit {
  const out: ThreadSplit = { js: 0, pool: 0, merges: 0, inserts: 0 }
  for (const [name, cpu] of threads) {
    const kind =
      name === 'main (JS)' ? 'js' : name === 'node' ? 'pool' : /^Merge/.test(name) ? 'merges' : 'inserts'
    out[kind] += cpu
  }
  for (const k of ['js', 'pool', 'merges', 'inserts'] as const) out[k] = r(out[k] / seconds, 2)
  return out
}

// DESIGN.md: an ack only lets the SDK drop a frame from its buffer; p99 ≤ 1 s (issue 14).
const P99_LIMIT_MS = 1000
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms))
const monotonicUs = (): number => Number(process.hrtime.bigint() / 1000n)
const q = (h: HistogramSnapshot, p: number): number => r(Histogram.from(h).quantile(p), 1)

/**
 * Waits until every client asked for has connected and every open one is welcomed, at most `timeoutMs`.
 * A client whose connect is still scheduled is not closed: counting it so returned during the ramp.
 * Returns the last status.
 */
async function waitReady(lg: Loadgen, timeoutMs: number): Promise<WindowStats> {
  const until = performance.now() + timeoutMs
  for (;;) {
    const s = await lg.window(false)
    if ((s.scheduled === 0 && s.ready >= s.clients) || performance.now() > until) return s
    await sleep(250)
  }
}

function judge(s: Omit<StepResult, 'sustained' | 'reasons'>, offered: number): string[] {
  const reasons: string[] = []
  if (s.ackMs.p99 > P99_LIMIT_MS) reasons.push(`ack p99 ${s.ackMs.p99} ms > ${P99_LIMIT_MS} ms`)
  if (s.framesPerSecond < offered * 0.97)
    reasons.push(`acked ${s.framesPerSecond}/s < 97% of ${offered}/s offered`)
  if (s.unackedAtEnd > offered)
    reasons.push(`backlog: ${s.unackedAtEnd} frames unacknowledged (> 1 s of load)`)
  const closes = Object.values(s.closes).reduce((a, b) => a + b, 0)
  if (closes > 0) reasons.push(`collector closed ${closes} connection(s): ${JSON.stringify(s.closes)}`)
  const errors = Object.values(s.errors).reduce((a, b) => a + b, 0)
  if (errors > 0) reasons.push(`errors: ${JSON.stringify(s.errors)}`)
  if (s.loadgenLagP99Ms > 100)
    reasons.push(
      `load generator fell behind (lag p99 ${s.loadgenLagP99Ms} ms): result bound by the generator`,
    )
  return reasons
}

/** Runs the ramp. Always stops both children, even when a step throws. */
export async function runRamp(opts: RampOptions): Promise<RampResult> {
  const collector = await startCollectorProcess({
    store: opts.store,
    env: opts.env,
    nodeFlags: opts.nodeFlags,
    cpus: opts.collectorCpus,
    root: opts.root,
  })
  let lg: Loadgen | undefined
  const steps: StepResult[] = []
  try {
    lg = await startLoadgen(
      {
        url: `${collector.url.replace(/^http/, 'ws')}/v1/stream`,
        pcsPerClient: opts.pcsPerClient,
        sendMode: opts.sendMode,
        runId: `r${Date.now().toString(36)}`,
      },
      opts.loadgenCpus,
    )
    let clients = 0
    for (const pcs of opts.steps) {
      const target = Math.ceil(pcs / opts.pcsPerClient)
      const add = target - clients
      const growStart = performance.now()
      await lg.window(true)
      if (add > 0) await lg.grow(add, (add / opts.connectRate) * 1000)
      clients = target
      const grown = await waitReady(lg, 60_000 + (add / opts.connectRate) * 1000)
      const growSeconds = (performance.now() - growStart) / 1000
      const welcome = grown.welcome
      await sleep(opts.settleSeconds * 1000)

      // Measure window.
      await lg.window(true)
      const cpu0 = cpuSeconds(collector.pid)
      const th0 = threadCpu(collector.pid)
      const busy0 = machineBusySeconds()
      const self0 = process.cpuUsage()
      const fromUs = monotonicUs()
      await sleep(opts.measureSeconds * 1000)
      const w = await lg.window(true)
      const toUs = monotonicUs()
      const cpu = cpuSeconds(collector.pid) - cpu0
      const threads = threadCpuDelta(th0, threadCpu(collector.pid))
      const selfCpu = process.cpuUsage(self0)
      const other = machineBusySeconds() - busy0 - cpu - w.cpuSeconds - (selfCpu.user + selfCpu.system) / 1e6
      const pending = await collector.metric('rtcpulse_pending_frames').catch(() => NaN)
      const base = {
        pcs: w.pcs,
        clients: w.clients,
        windowSeconds: r(w.seconds, 1),
        framesPerSecond: Math.round(w.framesAcked / w.seconds),
        sentPerSecond: Math.round(w.framesSent / w.seconds),
        ackMs: { p50: q(w.ack, 0.5), p90: q(w.ack, 0.9), p99: q(w.ack, 0.99), max: r(w.ack.max, 0) },
        welcomeMs: { p50: q(welcome, 0.5), p99: q(welcome, 0.99), max: r(welcome.max, 0) },
        growSeconds: r(growSeconds, 1),
        unackedAtEnd: w.unacked,
        collectorCores: r(cpu / w.seconds, 2),
        cpuPer1000Frames: r((cpu / Math.max(1, w.framesAcked)) * 1000, 3),
        rssMiB: Math.round(rssBytes(collector.pid) / 2 ** 20),
        threads,
        split: threadSplit(threads, w.seconds),
        loadgenCores: r(w.cpuSeconds / w.seconds, 2),
        loadgenLagP99Ms: q(w.lag, 0.99),
        otherCores: r(Math.max(0, other) / w.seconds, 2),
        wireBytesPerFrame: Math.round(w.bytesWritten / Math.max(1, w.framesSent)),
        textBytesPerFrame: Math.round(w.textBytes / Math.max(1, w.framesSent)),
        pendingFrames: pending,
        errors: w.errors,
        closes: { ...grown.closes, ...w.closes },
      }
      const reasons = judge(base, pcs)
      const step: StepResult = { ...base, sustained: reasons.length === 0, reasons }
      steps.push(step)
      opts.onStep?.(step)
      opts.onWindow?.(collector, { fromUs, toUs }, step)
      if (!step.sustained && !opts.continueAfterFailure) break
    }
  } finally {
    await lg?.stop()
    await collector.stop(opts.stopGraceMs)
  }
  const ok = steps.filter((s) => s.sustained)
  return {
    store: opts.store,
    pcsPerClient: opts.pcsPerClient,
    sendMode: opts.sendMode,
    steps,
    maxSustainedPcs: ok.length ? Math.max(...ok.map((s) => s.pcs)) : null,
    env: opts.env ?? {},
    collectorCpus: opts.collectorCpus,
  }
}

/** One line per step for the console. */
export function formatStep(s: StepResult): string {
  const per1k = (cores: number): number => r((cores / Math.max(1, s.framesPerSecond)) * 1000, 3)
  const top = (['js', 'pool', 'merges', 'inserts'] as const)
    .map((k) => `${k} ${s.split[k]} = ${per1k(s.split[k])}`)
    .join(', ')
  return (
    `  ${String(s.pcs).padStart(6)} pcs  ${String(s.framesPerSecond).padStart(6)} fr/s  ack p50 ${s.ackMs.p50} p99 ${s.ackMs.p99} ms  ` +
    `collector ${s.collectorCores} cores = ${s.cpuPer1000Frames} s/1k frames (${top})  RSS ${s.rssMiB} MiB  ` +
    `welcome p99 ${s.welcomeMs.p99} ms  loadgen ${s.loadgenCores} cores lag p99 ${s.loadgenLagP99Ms} ms  other ${s.otherCores}  ` +
    `${s.sustained ? 'OK' : `NOT SUSTAINED: ${s.reasons.join('; ')}`}`
  )
}
