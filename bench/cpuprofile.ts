// Summarises a V8 .cpuprofile (written by `node --cpu-prof`): self and inclusive time per function, and
// self time per source file. Usage: npx tsx bench/cpuprofile.ts FILE.cpuprofile [top=25]
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { originalPosition } from './sourcemap.ts'

interface ProfileNode {
  id: number
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number }
  hitCount?: number
  children?: number[]
}
interface CpuProfile {
  nodes: ProfileNode[]
  startTime: number
  endTime: number
  samples?: number[]
  timeDeltas?: number[]
}

export interface FunctionTime {
  name: string
  /** file:line, relative to the repository where possible (TypeScript lines mapped from tsx's output). */
  where: string
  /** The source line, for anonymous functions. */
  code?: string
  selfMs: number
  totalMs: number
  selfPct: number
  totalPct: number
}

export interface ProfileSummary {
  totalMs: number
  /** Time outside JavaScript and GC: the thread waiting for I/O (`(idle)`), or native code. */
  idleMs: number
  gcMs: number
  functions: FunctionTime[]
  files: { file: string; selfMs: number; selfPct: number }[]
}

const ROOT = fileURLToPath(new URL('..', import.meta.url))

function shortUrl(url: string): string {
  let u = url.replace(/^file:\/\//, '')
  if (u.startsWith(ROOT)) u = u.slice(ROOT.length)
  return u.replace(/^.*node_modules\//, 'node_modules/') || '(native)'
}

/** CLOCK_MONOTONIC µs, the clock of V8 profile timestamps (compare with process.hrtime.bigint() / 1000n). */
export interface TimeRange {
  fromUs: number
  toUs: number
}

/**
 * Reads and summarises a profile; time per node comes from the sample timeline (timeDeltas), µs → ms.
 * With `range`, only samples taken inside it count (e.g. the steady-state window of a load test).
 */
export function summarizeProfile(path: string, top = 25, range?: TimeRange): ProfileSummary {
  const prof = JSON.parse(readFileSync(path, 'utf8')) as CpuProfile
  const byId = new Map(prof.nodes.map((n) => [n.id, n]))
  const parent = new Map<number, number>()
  for (const n of prof.nodes) for (const c of n.children ?? []) parent.set(c, n.id)
  // Self time per node from samples; the delta *after* a sample is the time it stood for.
  const selfUs = new Map<number, number>()
  const samples = prof.samples ?? []
  const deltas = prof.timeDeltas ?? []
  let t = prof.startTime
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0
    const dt = deltas[i + 1] ?? 0
    if (range && (t < range.fromUs || t > range.toUs)) continue
    selfUs.set(samples[i] as number, (selfUs.get(samples[i] as number) ?? 0) + dt)
  }
  const code = new Map<string, string>()
  const key = (n: ProfileNode): string => {
    const f = n.callFrame
    const file = f.url.startsWith('file://') ? fileURLToPath(f.url) : ''
    const orig = file ? originalPosition(file, f.lineNumber, f.columnNumber) : undefined
    const k = `${f.functionName || '(anonymous)'}\u0000${shortUrl(f.url)}:${orig?.line ?? f.lineNumber + 1}`
    if (orig && !f.functionName) code.set(k, orig.text)
    return k
  }
  const self = new Map<string, number>()
  const total = new Map<string, number>()
  const files = new Map<string, number>()
  let idle = 0
  let gc = 0
  let all = 0
  for (const [id, us] of selfUs) {
    const n = byId.get(id)
    if (!n) continue
    all += us
    const fn = n.callFrame.functionName
    if (fn === '(idle)') idle += us
    if (fn === '(garbage collector)') gc += us
    const k = key(n)
    self.set(k, (self.get(k) ?? 0) + us)
    const file = shortUrl(n.callFrame.url)
    files.set(file, (files.get(file) ?? 0) + us)
    // Inclusive: credit each distinct function on the stack once (recursion is not double-counted).
    const seen = new Set<string>()
    for (let cur: number | undefined = id; cur !== undefined; cur = parent.get(cur)) {
      const node = byId.get(cur)
      if (!node) break
      const nk = key(node)
      if (seen.has(nk)) continue
      seen.add(nk)
      total.set(nk, (total.get(nk) ?? 0) + us)
    }
  }
  const busy = Math.max(1, all - idle)
  const functions = [...total.keys()]
    .filter((k) => !k.startsWith('(idle)') && !k.startsWith('(root)'))
    .map((k): [string, number] => [k, self.get(k) ?? 0])
    .sort((a, b) => b[1] - a[1])
    .slice(0, top)
    .map(([k, us]) => {
      const [name, where] = k.split('\u0000') as [string, string]
      const t = total.get(k) ?? us
      return {
        name,
        where,
        ...(code.has(k) ? { code: code.get(k) } : {}),
        selfMs: Math.round(us / 100) / 10,
        totalMs: Math.round(t / 100) / 10,
        selfPct: Math.round((us / busy) * 1000) / 10,
        totalPct: Math.round((t / busy) * 1000) / 10,
      }
    })
  return {
    totalMs: Math.round(all / 1000),
    idleMs: Math.round(idle / 1000),
    gcMs: Math.round(gc / 1000),
    functions,
    files: [...files.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 15)
      .map(([file, us]) => ({
        file,
        selfMs: Math.round(us / 1000),
        selfPct: Math.round((us / busy) * 1000) / 10,
      })),
  }
}

/** Inclusive time of the functions whose name matches, as a share of busy (non-idle) time. */
export function inclusiveOf(
  path: string,
  names: string[],
  range?: TimeRange,
): Record<string, { totalMs: number; totalPct: number }> {
  const s = summarizeProfile(path, 100_000, range)
  const out: Record<string, { totalMs: number; totalPct: number }> = {}
  for (const name of names) {
    const hits = s.functions.filter((f) => f.name === name)
    const best = hits.sort((a, b) => b.totalMs - a.totalMs)[0]
    if (best) out[name] = { totalMs: best.totalMs, totalPct: best.totalPct }
  }
  return out
}

/** Renders a summary as a Markdown table (top self-time functions). */
export function profileTable(s: ProfileSummary, top = 20): string {
  const rows = s.functions
    .slice(0, top)
    .map(
      (f) =>
        `| ${f.selfPct}% | ${f.totalPct}% | \`${f.name}\`${f.code ? ` \`${f.code.replace(/\|/g, '\\|')}\`` : ''} | ${f.where} |`,
    )
    .join('\n')
  return `| self | incl. | function | where |\n|---:|---:|---|---|\n${rows}`
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [file, n] = process.argv.slice(2)
  if (!file) {
    process.stderr.write('usage: npx tsx bench/cpuprofile.ts FILE.cpuprofile [top]\n')
    process.exit(2)
  }
  const s = summarizeProfile(file, Number(n ?? 25))
  process.stdout.write(
    `total ${s.totalMs} ms, idle ${s.idleMs} ms, GC ${s.gcMs} ms\n\n${profileTable(s, Number(n ?? 25))}\n\nby file:\n` +
      s.files.map((f) => `  ${String(f.selfPct).padStart(5)}%  ${f.file}`).join('\n') +
      '\n',
  )
}
