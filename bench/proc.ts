// Reads another process's CPU time and memory from /proc (Linux). utime+stime of /proc/<pid>/stat cover
// every thread of the process, so chDB's engine threads and libuv's pool (zlib inflate, async inserts)
// are counted with the JavaScript thread.
import { readFileSync, readdirSync } from 'node:fs'

// USER_HZ: the unit of /proc times. 100 on every mainstream Linux ABI (sysconf(_SC_CLK_TCK)).
const CLK_TCK = 100

/** Fields after the `(comm)` of a /proc stat line; comm may contain spaces and parentheses. */
function statFields(text: string): string[] {
  return text.slice(text.lastIndexOf(')') + 2).split(' ')
}

/** CPU seconds (user + system) used so far by process `pid`, all threads. Throws if it is gone. */
export function cpuSeconds(pid: number): number {
  const f = statFields(readFileSync(`/proc/${pid}/stat`, 'utf8'))
  // utime and stime are fields 14 and 15 of stat(5); index 0 here is field 3 (state).
  return (Number(f[11]) + Number(f[12])) / CLK_TCK
}

/** Resident set size of `pid`, bytes. */
export function rssBytes(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : 0
}

/** CPU seconds per thread name of `pid` (`main (JS)`, `node` = libuv pool + V8 helpers, chDB's pools), summed by name. */
export function threadCpu(pid: number): Record<string, number> {
  const out: Record<string, number> = {}
  let tids: string[]
  try {
    tids = readdirSync(`/proc/${pid}/task`)
  } catch {
    return out
  }
  for (const tid of tids) {
    try {
      const text = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8')
      // The main thread is where JavaScript runs; libuv's pool and V8's helpers are also called `node`.
      const comm =
        text.slice(text.indexOf('(') + 1, text.lastIndexOf(')')).replace(/[\d:/-]+$/, '') || 'thread'
      const name = tid === String(pid) ? 'main (JS)' : comm
      const f = statFields(text)
      out[name] = (out[name] ?? 0) + (Number(f[11]) + Number(f[12])) / CLK_TCK
    } catch {
      // The thread ended between readdir and read.
    }
  }
  return out
}

/** Difference of two threadCpu readings, largest first, rounded to 10 ms. Threads that ended are lost. */
export function threadCpuDelta(
  before: Record<string, number>,
  after: Record<string, number>,
): [string, number][] {
  return Object.entries(after)
    .map(([k, v]): [string, number] => [k, Math.round((v - (before[k] ?? 0)) * 100) / 100])
    .filter(([, v]) => v > 0)
    .sort((a, b) => b[1] - a[1])
}

/** Machine-wide CPU seconds spent busy (all cores; not idle or iowait) so far, from /proc/stat. */
export function machineBusySeconds(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0] ?? ''
  const v = line.trim().split(/\s+/).slice(1).map(Number)
  const total = v.reduce((a, b) => a + b, 0)
  // Fields: user nice system idle iowait irq softirq steal …
  return (total - (v[3] ?? 0) - (v[4] ?? 0)) / CLK_TCK
}
