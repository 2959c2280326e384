// The collector under test: `node bin/rtcpulse.js start --dev` in a child process on the embedded chDB
// store in a fresh temp folder, exactly as an operator would start it.
import { execFileSync, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../..', import.meta.url))

export interface CollectorProcess {
  pid: number
  /** http://127.0.0.1:port */
  url: string
  dataDir: string
  /** Reads one Prometheus sample of the collector's /metrics (sum over labels); NaN when absent. */
  metric(name: string): Promise<number>
  /** Warnings and errors the collector logged so far (pino level ≥ warn, and stderr), last ~10 KB. */
  readonly log: string
  /** SIGTERM (graceful: flush, close), SIGKILL after `graceMs`; removes the data folder. */
  stop(graceMs?: number): Promise<void>
}

export interface CollectorOptions {
  /** Extra environment (e.g. RTCPULSE_BATCH_MS). */
  env?: Record<string, string>
  /** Extra node flags, e.g. ['--cpu-prof', '--cpu-prof-dir=…']. */
  nodeFlags?: string[]
  /**
   * `chdb`: `rtcpulse start --dev`. `null`: the same collector over a store that discards writes, to
   * isolate storage. `chdb-ws-inflate`: chDB with ws's own three-trip inflate instead of
   * collector/inflate.ts. Both from variant-collector.ts.
   */
  store?: 'chdb' | 'null' | 'chdb-ws-inflate'
  /** CPUs the collector may run on, as `taskset -c` takes them (e.g. `1`); default: any. */
  cpus?: string
  /** Source tree to run (default: this checkout); see checkoutRef(). */
  root?: string
}

/**
 * Extracts the tree of git revision `ref` into a temp folder sharing this checkout's node_modules, so a
 * benchmark can run the collector as committed there beside the current one. Returns the folder.
 */
export function checkoutRef(ref: string): string {
  const dir = mkdtempSync(join(tmpdir(), 'rtcpulse-ref-'))
  const tar = execFileSync('git', ['archive', '--format=tar', ref], { cwd: ROOT, maxBuffer: 1 << 30 })
  execFileSync('tar', ['-x', '-C', dir], { input: tar })
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'))
  return dir
}

/** Starts the collector (`node bin/rtcpulse.js start --dev`) and resolves once it listens. Rejects if it exits or stays silent for 60 s. */
export async function startCollectorProcess(opts: CollectorOptions = {}): Promise<CollectorProcess> {
  const dataDir = mkdtempSync(join(tmpdir(), 'rtcpulse-bench-'))
  const root = opts.root ?? ROOT
  // Any BENCH_ variable (variant-collector.ts) selects the variant collector.
  const variant = Object.keys(opts.env ?? {}).some((k) => k.startsWith('BENCH_'))
  const args =
    opts.store === 'null' || opts.store === 'chdb-ws-inflate' || variant
      ? [...(opts.nodeFlags ?? []), '--import', 'tsx', join(root, 'bench/loadgen/variant-collector.ts')]
      : [...(opts.nodeFlags ?? []), join(root, 'bin/rtcpulse.js'), 'start', '--dev']
  // taskset execs node in place: the child's pid is the collector's, and every thread it starts
  // (libuv pool, V8 helpers, chDB's pools) inherits the CPU set.
  const child: ChildProcess = spawn(
    opts.cpus ? 'taskset' : process.execPath,
    opts.cpus ? ['-c', opts.cpus, process.execPath, ...args] : args,
    {
      cwd: root,
      env: {
        ...process.env,
        PORT: '0',
        HOST: '127.0.0.1',
        RTCPULSE_DATA_DIR: dataDir,
        LOG_LEVEL: 'warn',
        // One host opens every simulated client; the per-IP cap is for the internet, not this test.
        RTCPULSE_MAX_CONNECTIONS_PER_IP: '1000000',
        // Measure ingest alone; the analyzer is benchmarked on its own.
        RTCPULSE_ANALYZER: '0',
        ...(opts.store === 'null' ? { BENCH_STORE: 'null' } : {}),
        ...(opts.store === 'chdb-ws-inflate' ? { BENCH_STORE: 'chdb', BENCH_WS_INFLATE: '1' } : {}),
        ...opts.env,
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  // pino logs JSON lines to stdout; keep warnings and errors (and any stderr) to show after the run.
  let stderr = ''
  const keep = (text: string): void => {
    stderr += text
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000)
  }
  child.stderr?.on('data', (d: Buffer) => keep(d.toString()))
  child.stdout?.on('data', (d: Buffer) => {
    for (const line of d.toString().split('\n')) {
      // The dev-mode banner is expected here; anything else at warn or above is worth reading.
      if (/"level":(40|50|60)/.test(line) && !line.includes('DEV MODE')) keep(line + '\n')
    }
  })
  const url = await new Promise<string>((resolve, reject) => {
    let out = ''
    const timer = setTimeout(() => reject(new Error(`collector did not start in 60 s:\n${stderr}`)), 60_000)
    child.stdout?.on('data', (d: Buffer) => {
      out += d.toString()
      const m = /listening on (http:\/\/[^\s]+)/.exec(out)
      if (m?.[1]) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.once('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`collector exited with ${code}:\n${stderr}`))
    })
  })
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
  return {
    pid: child.pid as number,
    url,
    dataDir,
    get log() {
      return stderr
    },
    async metric(name) {
      const text = await (await fetch(`${url}/metrics`)).text()
      let sum = NaN
      for (const line of text.split('\n')) {
        if (line.startsWith(name) && (line[name.length] === ' ' || line[name.length] === '{')) {
          sum = (Number.isNaN(sum) ? 0 : sum) + Number(line.slice(line.lastIndexOf(' ') + 1))
        }
      }
      return sum
    },
    async stop(graceMs = 30_000) {
      if (child.exitCode === null) {
        child.kill('SIGTERM')
        const timer = setTimeout(() => child.kill('SIGKILL'), graceMs)
        await exited
        clearTimeout(timer)
      }
      if (stderr.trim())
        process.stderr.write(`[collector warnings/errors, last 3 KB]\n${stderr.slice(-3000)}\n`)
      rmSync(dataDir, { recursive: true, force: true })
    },
  }
}
