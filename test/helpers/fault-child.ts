// The collector as a separate process (`node bin/rtcpulse.js start --dev`), so a test can kill -9 it and
// start it again on the same port and data folder, as a crash and a supervisor restart would.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { fileURLToPath } from 'node:url'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

export interface ChildCollector {
  proc: ChildProcess
  /** http://127.0.0.1:<port> */
  url: string
  /** Output so far (stdout and stderr), for failure messages. */
  output(): string
  /** SIGKILL: no flush, no close frames; sockets are reset by the kernel. Resolves once it is gone. */
  kill9(): Promise<void>
  /** SIGTERM: graceful stop (flush, close 1001). Resolves with the exit code. */
  stop(): Promise<number | null>
}

/** Starts `rtcpulse start --dev` with `env` on `port`; resolves once it listens (rejects after 30 s). */
export async function startChildCollector(
  port: number,
  env: Record<string, string>,
): Promise<ChildCollector> {
  const proc = spawn(process.execPath, ['bin/rtcpulse.js', 'start', '--dev', '--port', String(port)], {
    cwd: ROOT,
    env: { ...process.env, HOST: '127.0.0.1', LOG_LEVEL: 'warn', RTCPULSE_ANALYZER: 'false', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let out = ''
  proc.stdout.on('data', (d: Buffer) => (out += d.toString()))
  proc.stderr.on('data', (d: Buffer) => (out += d.toString()))
  const exited = new Promise<number | null>((resolve) => proc.once('exit', (code) => resolve(code)))
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`collector did not start:\n${out}`)), 30_000)
    const onData = (): void => {
      if (/listening on/.test(out)) {
        clearTimeout(timer)
        resolve()
      }
    }
    proc.stdout.on('data', onData)
    void exited.then((code) => {
      clearTimeout(timer)
      reject(new Error(`collector exited with ${code}:\n${out}`))
    })
  })
  return {
    proc,
    url: `http://127.0.0.1:${port}`,
    output: () => out,
    async kill9() {
      proc.kill('SIGKILL')
      await exited
    },
    async stop() {
      proc.kill('SIGTERM')
      return exited
    },
  }
}
