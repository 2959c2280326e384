// Soak benchmark (not a unit test): the collector as an operator runs it (`rtcpulse start --dev`, a child
// process on chDB in a temp folder) under a steady load for a long time, to show that memory and the
// acknowledgement backlog stay flat (issue 6: 30 minutes at half the measured capacity, RSS flat within
// 10%, no growth in pending acks). The load comes from the benchmark's load generator child (real
// WebSockets, recorded libwebrtc report series at 1 Hz per peer connection).
//
//   npx tsx bench/soak.ts [--minutes 30] [--connections N] [--pcs-per-connection 2] [--capacity PCS]
//                         [--warmup-minutes W] [--sample-seconds 10] [--analyzer] [--judge FILE]
//
// Default load: half the capacity: --capacity PCS, else the largest sustained step of the last
// `npm run bench collector` (bench/results/latest.json), else measured first with the same ramp.
// Every 10 s it prints the collector's RSS, its pending (unstored, so unacked) frames, the generator's
// unacknowledged frames and ack latency. At the end: whether RSS stayed flat after warm-up (the median
// of each five-minute window within 10% of the first's; single samples swing with merges and are
// reported beside it), and whether the unacked backlog grew (least-squares slope over the run after
// warm-up). Exits 1 when either check fails. Writes bench/results/soak-<time>.json; `--judge FILE`
// judges such a file again.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { parseArgs } from 'node:util'
import { Histogram, r } from './histogram.ts'
import { startCollectorProcess } from './loadgen/collector-process.ts'
import { startLoadgen } from './loadgen/driver.ts'
import { describeMachine, machine } from './machine.ts'
import { cpuSeconds, rssBytes } from './proc.ts'

const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const DESIGN_TARGET_PCS = 20_000
const RAMP_STEPS = [
  250, 500, 1000, 1500, 2000, 3000, 4000, 6000, 8000, 10_000, 15_000, 20_000, 25_000, 30_000,
]

const { values: args } = parseArgs({
  options: {
    minutes: { type: 'string', default: '30' },
    connections: { type: 'string' },
    'pcs-per-connection': { type: 'string', default: '2' },
    capacity: { type: 'string' },
    'warmup-minutes': { type: 'string' },
    'sample-seconds': { type: 'string', default: '10' },
    analyzer: { type: 'boolean', default: false },
    judge: { type: 'string' },
  },
})

const num = (name: string, v: string | undefined): number => {
  const n = Number(v)
  if (!Number.isFinite(n) || n <= 0) throw new Error(`--${name} must be a positive number, got ${v}`)
  return n
}

/**
 * Capacity in peer connections at 1 Hz, and where the figure comes from: --capacity, else the last
 * `npm run bench collector`, else measured here with the same ramp (a few minutes).
 */
async function capacity(pcsPerClient: number): Promise<{ pcs: number; source: string }> {
  if (args.capacity) return { pcs: num('capacity', args.capacity), source: '--capacity' }
  const latest = `${RESULTS}latest.json`
  if (existsSync(latest)) {
    const res = JSON.parse(readFileSync(latest, 'utf8')) as {
      results?: { collector?: { maxSustainedPcs?: number | null } }
    }
    const pcs = res.results?.collector?.maxSustainedPcs
    if (pcs) return { pcs, source: 'bench/results/latest.json (npm run bench collector)' }
  }
  log(
    '  no measured capacity: ramping to find it (bench/collector.ts, stops at the first step not sustained)',
  )
  const { formatStep, runRamp } = await import('./collector.ts')
  const ramp = await runRamp({
    store: 'chdb',
    steps: RAMP_STEPS.filter((p) => p <= DESIGN_TARGET_PCS * 1.5),
    pcsPerClient,
    sendMode: 'raw',
    connectRate: 500,
    settleSeconds: 5,
    measureSeconds: 10,
    onStep: (st) => log(formatStep(st)),
  })
  if (!ramp.maxSustainedPcs)
    throw new Error('the collector sustained no step of the ramp; give --connections')
  return { pcs: ramp.maxSustainedPcs, source: 'a ramp measured just now' }
}

interface Sample {
  atS: number
  rssMiB: number
  /** Collector: frames accepted and not yet stored (rtcpulse_pending_frames). */
  pendingFrames: number
  /** Generator: frames sent and not yet acknowledged, at the sample. */
  unacked: number
  framesPerSecond: number
  ackP99Ms: number
  collectorCores: number
  clients: number
  closes: number
  errors: number
}

/** Least-squares slope of y over x. */
function slope(xs: number[], ys: number[]): number {
  const n = xs.length
  const mx = xs.reduce((a, b) => a + b, 0) / n
  const my = ys.reduce((a, b) => a + b, 0) / n
  let num_ = 0
  let den = 0
  for (let i = 0; i < n; i++) {
    num_ += ((xs[i] as number) - mx) * ((ys[i] as number) - my)
    den += ((xs[i] as number) - mx) ** 2
  }
  return den === 0 ? 0 : num_ / den
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b)
  return s[Math.floor(s.length / 2)] as number
}

const log = (line: string): void => void process.stdout.write(line + '\n')
const sleep = (ms: number): Promise<void> => new Promise((res) => setTimeout(res, ms))

async function main(): Promise<number> {
  const minutes = num('minutes', args.minutes)
  const pcsPerClient = Math.round(num('pcs-per-connection', args['pcs-per-connection']))
  log(`soak: ${describeMachine(machine())}`)
  const cap = args.connections
    ? { pcs: NaN, source: 'not needed (--connections given)' }
    : await capacity(pcsPerClient)
  const clients = args.connections
    ? Math.round(num('connections', args.connections))
    : Math.max(1, Math.round(cap.pcs / 2 / pcsPerClient))
  const warmupS =
    (args['warmup-minutes'] ? num('warmup-minutes', args['warmup-minutes']) : Math.min(5, minutes / 5)) * 60
  const sampleS = num('sample-seconds', args['sample-seconds'])
  const pcs = clients * pcsPerClient
  log(
    `  ${clients} connections × ${pcsPerClient} pcs = ${pcs} peer connections at 1 Hz for ${minutes} min ` +
      `(capacity ${cap.pcs} pcs from ${cap.source}${args.connections ? '' : '; half of it'}), ` +
      `warm-up ${Math.round(warmupS)} s, a sample every ${sampleS} s${args.analyzer ? ', analyzer on' : ''}`,
  )

  const collector = await startCollectorProcess({ env: args.analyzer ? { RTCPULSE_ANALYZER: '1' } : {} })
  const samples: Sample[] = []
  let verdict = 1
  try {
    const lg = await startLoadgen({
      url: `${collector.url.replace(/^http/, 'ws')}/v1/stream`,
      pcsPerClient,
      sendMode: 'raw',
      runId: `soak${Date.now().toString(36)}`,
    })
    try {
      // Connect at 500 per second, as the capacity ramp does.
      await lg.grow(clients, (clients / 500) * 1000)
      const started = performance.now()
      await lg.window(true)
      let cpu0 = cpuSeconds(collector.pid)
      log('     t   RSS MiB   pending  unacked   frames/s  ack p99 ms  cores  clients  closes  errors')
      while (performance.now() - started < minutes * 60_000) {
        await sleep(sampleS * 1000)
        const w = await lg.window(true)
        const cpu1 = cpuSeconds(collector.pid)
        const s: Sample = {
          atS: Math.round((performance.now() - started) / 1000),
          rssMiB: Math.round(rssBytes(collector.pid) / 2 ** 20),
          pendingFrames: await collector.metric('rtcpulse_pending_frames').catch(() => NaN),
          unacked: w.unacked,
          framesPerSecond: Math.round(w.framesAcked / w.seconds),
          ackP99Ms: r(Histogram.from(w.ack).quantile(0.99), 1),
          collectorCores: r((cpu1 - cpu0) / w.seconds, 2),
          clients: w.clients,
          closes: Object.values(w.closes).reduce((a, b) => a + b, 0),
          errors: Object.values(w.errors).reduce((a, b) => a + b, 0),
        }
        cpu0 = cpu1
        samples.push(s)
        log(
          `${String(s.atS).padStart(6)}  ${String(s.rssMiB).padStart(8)}  ${String(s.pendingFrames).padStart(8)}  ` +
            `${String(s.unacked).padStart(7)}  ${String(s.framesPerSecond).padStart(9)}  ${String(s.ackP99Ms).padStart(10)}  ` +
            `${String(s.collectorCores).padStart(5)}  ${String(s.clients).padStart(7)}  ${String(s.closes).padStart(6)}  ` +
            `${String(s.errors).padStart(6)}${s.atS <= warmupS ? '  (warm-up)' : ''}`,
        )
      }
    } finally {
      await lg.stop()
    }
  } finally {
    await collector.stop()
  }

  const j = judge(samples, warmupS, pcs)
  if (!j) {
    log('too few samples after warm-up to judge; run longer')
    return 1
  }
  verdict = j.pass ? 0 : 1
  mkdirSync(RESULTS, { recursive: true })
  const file = `${RESULTS}soak-${new Date().toISOString().replace(/[:.]/g, '-')}.json`
  writeFileSync(
    file,
    JSON.stringify(
      {
        machine: machine(),
        clients,
        pcsPerClient,
        pcs,
        minutes,
        capacity: cap,
        warmupS,
        ...j,
        samples,
      },
      null,
      2,
    ) + '\n',
  )
  log(`wrote ${file.slice(file.indexOf('bench/'))}`)
  return verdict
}

/** Five-minute windows after warm-up: RSS is "flat" when each window's median stays within 10% of the first's. */
const RSS_WINDOW_S = 300

interface Judgement {
  rss: {
    windowMediansMiB: number[]
    drift: number
    flat: boolean
    minMiB: number
    maxMiB: number
    medianMiB: number
    largestSampleDeviation: number
  }
  unacked: { meanFrames: number; slopePerMin: number; pendingSlopePerMin: number; noGrowth: boolean }
  closes: number
  errors: number
  pass: boolean
}

/**
 * Judges a soak from its samples and prints why. RSS: merges allocate and free hundreds of MiB for a few
 * seconds, so single samples swing; what must stay flat is the level, i.e. the median of each five-minute
 * window, within 10% of the first window's. The largest single-sample deviation is reported beside it.
 * Backlog: the least-squares rise of unacked (and collector-pending) frames over the steady run must stay
 * below one second of load. Returns undefined when fewer than two windows follow the warm-up.
 */
export function judge(samples: Sample[], warmupS: number, pcs: number): Judgement | undefined {
  const steady = samples.filter((s) => s.atS > warmupS)
  const first = steady[0]
  if (!first || steady.length < 3) return undefined
  const windows: number[][] = []
  for (const s of steady) (windows[Math.floor((s.atS - first.atS) / RSS_WINDOW_S)] ??= []).push(s.rssMiB)
  const full = windows.filter((w) => w.length >= 3)
  if (full.length < 2) return undefined
  const windowMedians = full.map(median)
  const base = windowMedians[0] as number
  const drift = Math.max(...windowMedians.map((m) => Math.abs(m - base) / base))
  const rss = steady.map((s) => s.rssMiB)
  const rssMedian = median(rss)
  const largest = Math.max(...rss.map((v) => Math.abs(v - rssMedian) / rssMedian))
  const flat = drift <= 0.1
  const xs = steady.map((s) => s.atS / 60)
  const unackedSlope = slope(
    xs,
    steady.map((s) => s.unacked),
  )
  const pendingSlope = slope(
    xs,
    steady.map((s) => s.pendingFrames),
  )
  const steadyMinutes = ((steady.at(-1) as Sample).atS - first.atS) / 60
  // "No growth": over the whole steady run, the fitted backlog rises by less than one second of load.
  const noGrowth = unackedSlope * steadyMinutes < pcs && pendingSlope * steadyMinutes < pcs
  const closes = samples.reduce((a, s) => a + s.closes, 0)
  const errors = samples.reduce((a, s) => a + s.errors, 0)
  const meanUnacked = Math.round(steady.reduce((a, s) => a + s.unacked, 0) / steady.length)
  log(
    `RSS after warm-up, median per ${RSS_WINDOW_S / 60}-minute window: ${windowMedians.join(', ')} MiB; ` +
      `largest drift from the first ${r(drift * 100, 1)}% → ${flat ? 'FLAT (within 10%)' : 'NOT FLAT'}`,
  )
  log(
    `  single samples: median ${rssMedian} MiB, min ${Math.min(...rss)}, max ${Math.max(...rss)} ` +
      `(largest deviation ${r(largest * 100, 1)}%: merges' transient allocations)`,
  )
  log(
    `unacked frames after warm-up: mean ${meanUnacked}, slope ${r(unackedSlope, 1)} frames/min ` +
      `(collector pending ${r(pendingSlope, 1)} frames/min) over ${r(steadyMinutes, 1)} min ` +
      `→ ${noGrowth ? 'NO GROWTH (fitted rise < 1 s of load)' : 'GROWING'}`,
  )
  log(`connections closed by the collector: ${closes}; client errors: ${errors}`)
  const pass = flat && noGrowth && closes === 0 && errors === 0
  log(pass ? 'soak: PASS' : 'soak: FAIL')
  return {
    rss: {
      windowMediansMiB: windowMedians,
      drift,
      flat,
      minMiB: Math.min(...rss),
      maxMiB: Math.max(...rss),
      medianMiB: rssMedian,
      largestSampleDeviation: largest,
    },
    unacked: {
      meanFrames: meanUnacked,
      slopePerMin: unackedSlope,
      pendingSlopePerMin: pendingSlope,
      noGrowth,
    },
    closes,
    errors,
    pass,
  }
}

/** `--judge FILE`: judges the samples of an earlier run's JSON again (e.g. after the criteria changed). */
function rejudge(file: string): number {
  const run = JSON.parse(readFileSync(file, 'utf8')) as { samples: Sample[]; warmupS: number; pcs: number }
  const j = judge(run.samples, run.warmupS, run.pcs)
  if (!j) log('too few samples after warm-up to judge')
  return j?.pass ? 0 : 1
}

process.exitCode = args.judge ? rejudge(args.judge) : await main()
