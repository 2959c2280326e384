// `npm run bench [-- [--quick] [name …]]`: runs the benchmarks (all, or those named), each in a fresh
// child process (chDB binds one data folder per process, and no benchmark should inherit another's heap
// or JIT state), prints every figure with the machine it ran on, and writes bench/results/latest.json.
//   names: sdk sdk-browser hotpath insert-formats storage collector collector-null collector-ws-inflate profile analyzer dashboards
//   --quick   smaller version of each (whole run under two minutes)
//   --wait-quiet  before each benchmark, wait (≤ 2 min) until other processes use < 0.3 cores
//   sdk-browser options: --browsers=chromium,firefox --ns=1,5,10,25 --steady=30 (seconds per N)
//     --compare-script=<file> (another minified build, e.g. an older commit's, measured beside this one)
//     --profile-dir=<dir> (a V8 CPU profile of each Chromium steady state, for bench/cpuprofile.ts)
//     --frames-dir=<dir> (the frames each pc sent in the steady state, for bench/frame-bytes.ts)
//     --compare-omit=<regexp> (the compare script's collector asks for this welcome.omit, e.g. an older default)
//   dashboards options: --days=7 --sessions=10000 --score-days=90 --compare-ref=<git rev> (also times
//     the dashboards as committed there, on the same store); --quick is 1 day and 7 days of scores;
//     --store-dir=<dir> keeps the filled store there and reuses it in later runs of the same shape
//   collector options: --steps=1000,5000  --pcs-per-client=2  --send-mode=raw|ws|plain  --continue  --env=RTCPULSE_BATCH_MS=1000
//     --collector-cpus=1 --loadgen-cpus=0 (taskset lists: pin each side)  --compare-ref=<git rev> and/or
//     --compare-env=K=V (first runs the same ramp on that baseline, then prints both and their ratio)
import { execFileSync, fork } from 'node:child_process'
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { RampResult } from './collector.ts'
import type { SustainedOptions } from './storage.ts'
import { describeMachine, machine } from './machine.ts'
import { machineBusySeconds } from './proc.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
const RESULTS = fileURLToPath(new URL('./results/', import.meta.url))
const NAMES = [
  'sdk',
  'sdk-browser',
  'hotpath',
  'insert-formats',
  'storage',
  'collector',
  'collector-null',
  'collector-ws-inflate',
  'profile',
  'analyzer',
  'dashboards',
] as const
type Name = (typeof NAMES)[number]

const FULL_STEPS = [
  250, 500, 750, 1000, 1500, 2000, 2500, 3500, 5000, 7500, 10000, 15000, 20000, 25000, 30000,
]
const QUICK_STEPS = [500, 1000]

const log = (line: string): void => void process.stdout.write(line + '\n')

function printRamp(res: RampResult): void {
  log(
    `  largest sustained: ${res.maxSustainedPcs ?? 'none'} peer connections at 1 Hz ` +
      `(${res.pcsPerClient} pcs per WebSocket, ${res.sendMode} frames, store ${res.store}${Object.keys(res.env).length ? `, env ${JSON.stringify(res.env)}` : ''})`,
  )
}

interface Options {
  quick: boolean
  /** Extra collector environment. */
  env: Record<string, string>
  steps?: number[]
  pcsPerClient?: number
  sendMode?: 'raw' | 'ws' | 'plain'
  /** Measure every step even after one is not sustained. */
  continueAfterFailure?: boolean
  /** dashboards: fleet size and the git revision to compare with. */
  days?: number
  sessions?: number
  scoreDays?: number
  compareRef?: string
  /** collector: the baseline's environment, instead of --env's. */
  compareEnv?: Record<string, string>
  collectorCpus?: string
  loadgenCpus?: string
  storeDir?: string
  /** sdk-browser: browsers, N values and seconds of steady state per N. */
  browsers?: ('chromium' | 'firefox')[]
  ns?: number[]
  steadyS?: number
  /** sdk-browser: another minified build (file) to measure beside this checkout's. */
  compareScript?: string
  /** sdk-browser: write a CPU profile of each Chromium steady state into this folder. */
  profileDir?: string
  /** sdk-browser: write the steady-state frames of each pc into this folder. */
  framesDir?: string
  /** sdk-browser: RTCPULSE_SDK_OMIT of the compare script's collector. */
  compareOmit?: string
}

/** Runs one benchmark in this process and returns its result (printing as it goes). */
async function runOne(name: Name, opts: Options): Promise<unknown> {
  const { quick, env } = opts
  // Imported here, in the child that runs them: the parent stays small and never loads chDB.
  switch (name) {
    case 'sdk': {
      const { bundleSize, pollCpu, wireBytes } = await import('./sdk.ts')
      const seconds = quick ? 300 : 1200
      const wire = [await wireBytes('sender', seconds), await wireBytes('receiver', seconds)]
      for (const w of wire) {
        log(
          `  ${w.role}: ${w.wireBytesPerSecond} B/s on the wire (permessage-deflate, incl. WS headers; real ws socket ${w.realSocketBytesPerSecond} B/s), ` +
            `${w.jsonBytesPerSecond} B/s JSON; steady delta ${w.wireDeltaMedianBytes} B; keyframe ${w.keyframeBytes} B JSON; ` +
            `without context takeover ${w.wireNoTakeoverBytesPerSecond} B/s; raw getStats ${w.rawReportBytes} B (${w.rawReportGzipBytes} B gzipped)`,
        )
      }
      const cpu = [pollCpu('sender', quick ? 1000 : 5000), pollCpu('receiver', quick ? 1000 : 5000)]
      for (const c of cpu) {
        log(
          `  ${c.role} poll CPU outside getStats(): p50 ${c.p50Us} µs, p99 ${c.p99Us} µs, max ${c.maxUs} µs ` +
            `(read+encode+JSON ${c.encodeUs}, ack/retire ${c.ackUs} µs)`,
        )
      }
      const bundle = bundleSize()
      log(
        bundle.available
          ? `  bundle ${bundle.file}: ${bundle.minBytes} B min, ${bundle.gzipBytes} B min+gzip -9`
          : `  bundle size: skipped — ${bundle.reason}`,
      )
      return { wire, cpu, bundle }
    }
    case 'sdk-browser': {
      // Real Chromium and Firefox, SFU-shaped: one receiving pc with 2N inbound streams (issue 17).
      const { browserSdk } = await import('./sdk-browser.ts')
      const ns = opts.ns ?? (quick ? [1, 5] : [1, 5, 10, 25])
      const all = []
      for (const browser of opts.browsers ?? (['chromium', 'firefox'] as const)) {
        const compare = opts.compareScript && readFileSync(opts.compareScript, 'utf8')
        for (const f of await browserSdk(
          browser,
          ns,
          opts.steadyS ?? (quick ? 10 : 30),
          undefined,
          compare,
          opts.profileDir,
          opts.framesDir,
          opts.compareOmit,
        )) {
          log(
            `  ${f.browser}${compare ? ` ${f.script}` : ''} N=${f.n}: stats objects ${f.statsObjects.send}/${f.statsObjects.recv} (send/recv), ` +
              `report ${f.reportKb.send}/${f.reportKb.recv} KB; SDK ms per poll p50/p99 send ${f.pollMs.send.join('/')}, ` +
              `recv ${f.pollMs.recv.join('/')} (fastest ${f.pollMinMs.send}/${f.pollMinMs.recv}); ` +
              `floor p50 forEach ${f.floorMs.send.each}/${f.floorMs.recv.each}, read all ${f.floorMs.send.read}/${f.floorMs.recv.read} ` +
              `(fastest ${f.floorMinMs.send.each}/${f.floorMinMs.recv.each}, ${f.floorMinMs.send.read}/${f.floorMinMs.recv.read})${f.isolated ? '' : ' [100 µs clock]'}; WebSocket.send ${f.sendMs.join('/')}; per ack ${f.ackMs.join('/')}; wire ${f.wireBps.send}/${f.wireBps.recv} B/s; ` +
              `largest frame ${f.maxFrameChars} chars` +
              (f.cpuMs
                ? `; CPU ms (trace) per poll p50/p99 send ${f.cpuMs.poll.send.join('/')}, recv ${f.cpuMs.poll.recv.join('/')} ` +
                  `(wall ${f.cpuMs.wallPoll.send.join('/')}, ${f.cpuMs.wallPoll.recv.join('/')}); forEach floor CPU ` +
                  `${f.cpuMs.each.send.join('/')}, ${f.cpuMs.each.recv.join('/')}, for…of ${f.cpuMs.iter.send.join('/')}, ` +
                  `${f.cpuMs.iter.recv.join('/')}; WebSocket.send CPU ${f.cpuMs.send.join('/')}; empty dispatch ${f.cpuMs.noop.join('/')}`
                : ''),
          )
          all.push(f)
        }
      }
      return all
    }
    case 'hotpath': {
      const { buildFrames, inflateCosts, parseCost, stageCosts } = await import('./hotpath.ts')
      const frames = buildFrames(8, quick ? 100 : 300)
      const before = stageCosts(frames, 'before', quick ? 2 : 5)
      const shipped = stageCosts(frames, 'shipped', quick ? 2 : 5)
      const json = stageCosts(frames, 'json', quick ? 2 : 5)
      const parse = parseCost(frames, quick ? 2 : 5)
      log(
        `  per frame (${shipped.bytesPerFrame} B JSON), shipped: ${JSON.stringify(shipped.us)} = ${shipped.totalUs} µs`,
      )
      log(`  per frame, JSON rows (before issue 14): ${JSON.stringify(json.us)} = ${json.totalUs} µs`)
      log(`  per frame, before (zod, spreads): ${JSON.stringify(before.us)} = ${before.totalUs} µs`)
      log(`  parseClientFrame as shipped: ${parse} µs/frame`)
      const inflate = await inflateCosts([1000, 10000], quick ? 1 : 3)
      for (const i of inflate)
        log(
          `  inflate ${i.mode.padEnd(9)} at ${i.messagesPerSecond}/s on 1,000 sockets: ${i.cpuUsPerMessage} µs CPU/message`,
        )
      return { before, json, shipped, parseClientFrameUs: parse, inflate }
    }
    case 'insert-formats': {
      const { insertFormatCosts } = await import('./insert-formats.ts')
      const out = []
      for (const n of quick ? [1000] : [250, 1000, 4000]) {
        const costs = await insertFormatCosts(n, quick ? 2 : Math.max(2, 8000 / n), quick ? 1 : 2)
        for (const c of costs)
          log(
            `  ${n} frames/batch ${c.format.padEnd(12)}: insert ${c.insertCpuS.total} CPU s/1k frames ${JSON.stringify(c.insertCpuS)}, encode ${c.encodeCpuS}, ${c.bytesPerFrame} B/frame`,
          )
        out.push({ framesPerBatch: n, costs })
      }
      return out
    }
    case 'storage': {
      const storage = await import('./storage.ts')
      const size = await storage.bytesOnDisk(quick ? 20 : 200, quick ? 300 : 600)
      log(
        `  stream_seconds: ${size.streamSecond.bytesPerRow} B per stream-second on disk after OPTIMIZE FINAL ` +
          `(${size.streamSecond.rows} rows, ${size.sessions} sessions × ${size.secondsPerSession} s × 2 pcs; ` +
          `top columns ${JSON.stringify(size.streamSecond.topColumns.slice(0, 4))})`,
      )
      log(
        `  transport_seconds ${size.transportSecond.bytesPerRow} B/row, raw_frames ${size.rawFrame.bytesPerRow} B/frame; ` +
          `all tables ${size.bytesPerPcSecond} B per pc-second`,
      )
      const inserts = await storage.insertThroughput([1000, 10_000, 50_000], quick ? 30_000 : 150_000)
      for (const i of inserts) {
        log(
          `  insert ${i.format} batches of ${i.batchRows}: ${i.rowsPerSecond} rows/s ` +
            `(JSON building alone ${i.serializeRowsPerSecond} rows/s), ${i.cpuPer1000Rows} CPU s/1k rows`,
        )
      }
      const batches = await storage.frameBatchThroughput(
        quick ? [1000, 5000] : [1000, 5000, 20_000],
        quick ? 10_000 : 40_000,
      )
      for (const b of batches) {
        log(
          `  ingest-style batch of ${b.framesPerBatch} frames (all tables): ${b.framesPerSecond} frames/s, ` +
            `${b.msPerBatch} ms/batch ${JSON.stringify(b.msByTable)}`,
        )
      }
      // The store alone at a steady rate. The first two differ only in when batches are written.
      const variants: Omit<SustainedOptions, 'framesPerSecond' | 'seconds'>[] = [
        {
          label: 'back-to-back writes, as ingest.ts did under load before pacing',
          batchMs: 200,
          backToBack: true,
        },
        { label: 'paced 200 ms batches, as ingest.ts paces them now', batchMs: 200 },
      ]
      if (!quick) {
        variants.push(
          { label: 'paced 1000 ms batches', batchMs: 1000 },
          {
            label: 'paced 200 ms, raw_frames.frame CODEC(ZSTD(1)) instead of ZSTD(6)',
            batchMs: 200,
            rawCodec: 'ZSTD(1)',
          },
          { label: 'paced 200 ms, JSONCompactEachRow instead of JSONEachRow', batchMs: 200, compact: true },
          { label: 'paced 200 ms, without raw_frames', batchMs: 200, skipRaw: true },
        )
      }
      const sustained = []
      for (const v of variants) {
        const s = await storage.sustainedIngest({
          framesPerSecond: quick ? 1000 : 2000,
          seconds: quick ? 5 : 15,
          ...v,
        })
        sustained.push(s)
        log(
          `  store alone at ${s.framesPerSecond} frames/s, ${s.label}: ${s.cpuPer1000Frames} CPU s per 1k frames ` +
            `(${s.achievedFramesPerSecond} frames/s achieved; ${s.threads.map(([n, c]) => `${n} ${c}`).join(', ')})`,
        )
      }
      storage.cleanupStorage()
      return { size, inserts, batches, sustained }
    }
    case 'collector':
    case 'collector-null':
    case 'collector-ws-inflate': {
      const { formatStep, runRamp } = await import('./collector.ts')
      const { checkoutRef } = await import('./loadgen/collector-process.ts')
      const ramp = (root: string | undefined, rampEnv: Record<string, string>): Promise<RampResult> =>
        runRamp({
          store: name === 'collector' ? 'chdb' : name === 'collector-null' ? 'null' : 'chdb-ws-inflate',
          steps: opts.steps ?? (quick ? QUICK_STEPS : FULL_STEPS),
          pcsPerClient: opts.pcsPerClient ?? 2,
          sendMode: opts.sendMode ?? 'raw',
          continueAfterFailure: opts.continueAfterFailure,
          connectRate: quick ? 1000 : 500,
          settleSeconds: quick ? 3 : 8,
          measureSeconds: quick ? 6 : 15,
          env: rampEnv,
          collectorCpus: opts.collectorCpus,
          loadgenCpus: opts.loadgenCpus,
          root,
          onStep: (s) => log(formatStep(s)),
        })
      if (!opts.compareRef && !opts.compareEnv) {
        const res = await ramp(undefined, env)
        printRamp(res)
        return res
      }
      // Before and after in one run, one right after the other on the same machine and load generator
      // settings: compare their ratio rather than either with a figure from another day.
      const label = `${opts.compareRef ?? 'this tree'}${opts.compareEnv ? ` ${JSON.stringify(opts.compareEnv)}` : ''}`
      log(`  baseline: ${label}`)
      const root = opts.compareRef ? checkoutRef(opts.compareRef) : undefined
      const before = await ramp(root, opts.compareEnv ?? env).finally(
        () => root && rmSync(root, { recursive: true, force: true }),
      )
      printRamp(before)
      log(`  this tree${Object.keys(env).length ? ` ${JSON.stringify(env)}` : ''}`)
      const after = await ramp(undefined, env)
      printRamp(after)
      for (const a of after.steps) {
        const b = before.steps.find((x) => x.pcs === a.pcs)
        if (!b) continue
        log(
          `  ${a.pcs} pcs: CPU s/1k frames ${b.cpuPer1000Frames} → ${a.cpuPer1000Frames} ` +
            `(×${Math.round((a.cpuPer1000Frames / b.cpuPer1000Frames) * 100) / 100}), ack p99 ${b.ackMs.p99} → ${a.ackMs.p99} ms, ` +
            `other load ${b.otherCores} / ${a.otherCores} cores`,
        )
      }
      return { baseline: { label, ...before }, current: after }
    }
    case 'profile': {
      const { profileCollector } = await import('./profile.ts')
      const p = await profileCollector('chdb', quick ? 1000 : 2000, quick ? 8 : 20)
      log(`  ${p.markdown.split('\n').slice(0, 2).join('\n  ')}`)
      log(
        `  top self time: ${p.summary.functions
          .slice(0, 8)
          .map((f) => `${f.name} ${f.selfPct}%`)
          .join(', ')}`,
      )
      log(`  profile kept at ${p.file} (open in Chrome DevTools › Performance)`)
      return p
    }
    case 'analyzer': {
      const { analyzerBench } = await import('./analyzer.ts')
      const a = await analyzerBench(quick ? 200 : 10_000, quick ? 10 : 50, 600, quick ? 50 : 200)
      if (!a.available) log(`  not available: ${a.reason}`)
      else {
        log(
          `  scored ${a.sessions} ten-minute sessions (${a.generatedSessions} generated, the rest varied copies; ` +
            `${a.streamSeconds} stream-seconds in ${a.parts} parts) in ${a.scoreSeconds} s (${a.scoreCpuSeconds} CPU s of this process), batches of ${a.batch}; ` +
            `storing the scores ${a.storeSeconds} s; waited ${a.settledMs.map((m) => `${m} ms`).join(' and ')} for background merges before scoring and before the detail timings`,
        )
        log(
          `  detail API over HTTP: stored p50 ${a.detailMs.p50} ms p99 ${a.detailMs.p99} ms (${a.detailMs.n} requests); ` +
            `not yet scored p50 ${a.detailUnscoredMs.p50} ms p99 ${a.detailUnscoredMs.p99} ms (${a.detailUnscoredMs.n})`,
        )
      }
      return a
    }
    case 'dashboards': {
      const { dashboardsBench } = await import('./dashboards.ts')
      const days = opts.days ?? (quick ? 1 : 7)
      const shape = {
        days,
        perDay: opts.sessions ?? 10_000,
        scoreDays: Math.max(days, opts.scoreDays ?? (quick ? 7 : 90)),
        templates: 10,
        chunk: 2500,
      }
      log(
        `  fleet: ${shape.days} day(s) of ${shape.perDay} ten-minute sessions a day, ${shape.scoreDays} days of scores`,
      )
      return dashboardsBench(shape, log, opts.compareRef, opts.storeDir)
    }
  }
}

/** Samples machine-wide busy CPU for `ms`, in cores (this process is idle meanwhile). */
async function backgroundCores(ms = 3000): Promise<number> {
  const b0 = machineBusySeconds()
  await new Promise((res) => setTimeout(res, ms))
  return Math.round(((machineBusySeconds() - b0) / (ms / 1000)) * 100) / 100
}

async function waitQuiet(limit: number, maxMs: number): Promise<number> {
  const until = Date.now() + maxMs
  let load = await backgroundCores()
  while (load > limit && Date.now() < until) {
    log(`  (machine busy: ${load} cores used by other processes; waiting for it to quiet down)`)
    load = await backgroundCores()
  }
  return load
}

function git(args: string[]): string {
  try {
    return execFileSync('git', args, { cwd: ROOT, encoding: 'utf8' }).trim()
  } catch {
    return ''
  }
}

/** K=V pairs of every `flag` argument (e.g. `--env=`), or undefined when there is none. */
function envOf(argv: string[], flag: string): Record<string, string> | undefined {
  const list = argv.filter((x) => x.startsWith(flag))
  if (list.length === 0) return undefined
  const env: Record<string, string> = {}
  for (const a of list) {
    const [k, ...v] = a.slice(flag.length).split('=')
    if (k) env[k] = v.join('=')
  }
  return env
}
const compareEnv = (argv: string[]): Record<string, string> | undefined => envOf(argv, '--compare-env=')

async function main(): Promise<void> {
  const argv = process.argv.slice(2)
  if (argv[0] === '--child') {
    // Child mode: run one benchmark, hand the result to the parent.
    const [, name, opts] = argv
    const result = await runOne(name as Name, JSON.parse(opts ?? '{}') as Options)
    process.send?.({ result }, () => process.exit(0))
    return
  }
  const quick = argv.includes('--quick')
  const waitForQuiet = argv.includes('--wait-quiet')
  const env = envOf(argv, '--env=') ?? {}
  const value = (flag: string): string | undefined =>
    argv.find((a) => a.startsWith(`--${flag}=`))?.slice(flag.length + 3)
  const opts: Options = {
    quick,
    env,
    steps: value('steps')?.split(',').map(Number),
    pcsPerClient: value('pcs-per-client') ? Number(value('pcs-per-client')) : undefined,
    sendMode: (['raw', 'ws', 'plain'] as const).find((m) => m === value('send-mode')),
    continueAfterFailure: argv.includes('--continue'),
    days: value('days') ? Number(value('days')) : undefined,
    sessions: value('sessions') ? Number(value('sessions')) : undefined,
    scoreDays: value('score-days') ? Number(value('score-days')) : undefined,
    compareRef: value('compare-ref'),
    compareEnv: compareEnv(argv),
    collectorCpus: value('collector-cpus'),
    loadgenCpus: value('loadgen-cpus'),
    storeDir: value('store-dir'),
    browsers: value('browsers')
      ?.split(',')
      .filter((b): b is 'chromium' | 'firefox' => b === 'chromium' || b === 'firefox'),
    ns: value('ns')?.split(',').map(Number),
    steadyS: value('steady') ? Number(value('steady')) : undefined,
    compareScript: value('compare-script'),
    profileDir: value('profile-dir'),
    framesDir: value('frames-dir'),
    compareOmit: value('compare-omit'),
  }
  const unknown = argv.filter((a) => !a.startsWith('--') && !NAMES.includes(a as Name))
  if (unknown.length) {
    process.stderr.write(`unknown benchmark(s): ${unknown.join(', ')}; choose from ${NAMES.join(', ')}\n`)
    process.exit(2)
  }
  const chosen = NAMES.filter((n) => argv.includes(n))
  const names = chosen.length
    ? chosen
    : NAMES.filter(
        (n) => !quick || (n !== 'collector-null' && n !== 'collector-ws-inflate' && n !== 'dashboards'),
      )
  const m = machine()
  const started = new Date()
  log(`rtcpulse benchmarks${quick ? ' (quick)' : ''} on ${describeMachine(m)}`)
  log(
    `commit ${git(['rev-parse', '--short', 'HEAD'])}${git(['status', '--porcelain', 'collector', 'store', 'sdk', 'analyzer']) ? ' + uncommitted changes' : ''}`,
  )
  const results: Record<string, unknown> = {}
  const timings: Record<string, { seconds: number; backgroundCores: number }> = {}
  for (const name of names) {
    log(`\n== ${name}`)
    const background = waitForQuiet ? await waitQuiet(0.3, 120_000) : await backgroundCores(1000)
    if (background > 0.3)
      log(`  warning: other processes use ${background} cores of ${m.cores}; figures below are pessimistic`)
    const t0 = performance.now()
    try {
      results[name] = await new Promise((resolve, reject) => {
        const child = fork(fileURLToPath(import.meta.url), ['--child', name, JSON.stringify(opts)], {
          execArgv: ['--import', 'tsx', '--max-old-space-size=6144'],
          stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
        })
        let got: unknown
        child.on('message', (msg: { result: unknown }) => (got = msg.result))
        child.on('exit', (code) =>
          code === 0 && got !== undefined ? resolve(got) : reject(new Error(`${name} exited with ${code}`)),
        )
      })
    } catch (err) {
      log(`  FAILED: ${(err as Error).message}`)
      results[name] = { error: (err as Error).message }
    }
    timings[name] = { seconds: Math.round((performance.now() - t0) / 100) / 10, backgroundCores: background }
    log(`  (${timings[name].seconds} s)`)
  }
  mkdirSync(RESULTS, { recursive: true })
  // A run of some benchmarks keeps the others' last figures (each says when and how it ran).
  let previous: { results?: Record<string, unknown>; runs?: Record<string, unknown> } = {}
  try {
    previous = JSON.parse(readFileSync(`${RESULTS}latest.json`, 'utf8')) as typeof previous
  } catch {
    // First run, or an unreadable file: start afresh.
  }
  const runs: Record<string, unknown> = { ...previous.runs }
  for (const name of names)
    runs[name] = { started: started.toISOString(), quick, options: opts, ...timings[name] }
  const out = {
    machine: m,
    started: started.toISOString(),
    quick,
    commit: git(['rev-parse', 'HEAD']),
    dirty: git(['status', '--porcelain', 'collector', 'store', 'sdk', 'analyzer'])
      .split('\n')
      .filter(Boolean),
    options: opts,
    timings,
    runs,
    results: { ...previous.results, ...results },
  }
  writeFileSync(`${RESULTS}latest.json`, JSON.stringify(out, null, 2) + '\n')
  log(`\nwrote bench/results/latest.json (${Math.round((Date.now() - started.getTime()) / 1000)} s total)`)
}

await main()
