// Runner-side handle on the load generator child process (client.ts), forked with tsx.
import { fork } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'
import type { LoadgenConfig, Reply, Request, WindowStats } from './protocol.ts'

type Command = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never

export interface Loadgen {
  readonly pid: number
  /** Opens `clients` more simulated SDKs, spread over `overMs`. Resolves at once (connections continue). */
  grow(clients: number, overMs: number): Promise<void>
  /** Counters since the previous reset (or since config); `reset` starts a new window. */
  window(reset?: boolean): Promise<WindowStats>
  /** Closes every socket and ends the process. */
  stop(): Promise<void>
}

/** Forks the generator (on `cpus` if given) and configures it. Rejects if it does not start. */
export async function startLoadgen(config: LoadgenConfig, cpus?: string): Promise<Loadgen> {
  const execArgv = ['--import', 'tsx', '--max-old-space-size=4096']
  // Pinned (`cpus`, as `taskset -c` takes them): taskset execs node in place, keeping the IPC channel.
  const child: ChildProcess = fork(fileURLToPath(new URL('./client.ts', import.meta.url)), [], {
    ...(cpus ? { execPath: 'taskset', execArgv: ['-c', cpus, process.execPath, ...execArgv] } : { execArgv }),
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  })
  let next = 1
  const waiting = new Map<number, (r: Reply) => void>()
  const ready = new Promise<void>((resolve, reject) => {
    child.once('error', reject)
    child.once('exit', (code) => reject(new Error(`load generator exited with ${code}`)))
    waiting.set(0, () => resolve())
  })
  child.on('message', (r: Reply) => {
    const cb = waiting.get(r.id)
    waiting.delete(r.id)
    cb?.(r)
  })
  type Ok = Extract<Reply, { ok: true }>
  const call = (cmd: Command): Promise<Ok> =>
    new Promise((resolve, reject) => {
      const id = next++
      waiting.set(id, (r) => (r.ok ? resolve(r) : reject(new Error(`load generator: ${r.error}`))))
      child.send({ ...cmd, id })
    })
  await ready
  await call({ cmd: 'config', config })
  return {
    pid: child.pid as number,
    grow: async (clients, overMs) => void (await call({ cmd: 'grow', clients, overMs })),
    window: async (reset = true) => (await call({ cmd: 'window', reset })).stats as WindowStats,
    stop: async () => {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()))
      await call({ cmd: 'stop' }).catch(() => undefined)
      await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))])
      if (child.exitCode === null) child.kill('SIGKILL')
    },
  }
}
