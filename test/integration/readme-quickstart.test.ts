// The README's production quick start works exactly as written: its shell block (read from README.md)
// runs in bash from the project folder — signing keys and API keys from `openssl rand`, `npx rtcpulse
// start` on the embedded store, a token minted with `npx rtcpulse token`, the API read with `curl` and
// the documented key. Only the port (127.0.0.1:8080 → a free one, through PORT) and the data folder
// (RTCPULSE_DATA_DIR, a temp one) differ. The minted token must open a stream; no token must not.
import { spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { freePort } from '../helpers/ports.ts'
import { connect, helloFor } from '../helpers/stream-client.ts'

const root = new URL('../../', import.meta.url).pathname
const readme = readFileSync(join(root, 'README.md'), 'utf8')
const block = [...readme.matchAll(/^```sh\n([\s\S]*?)^```/gm)]
  .map((m) => m[1] as string)
  .find((b) => b.includes('rtcpulse start') && b.includes('RTCPULSE_API_KEYS'))

const dataDir = mkdtempSync(join(tmpdir(), 'rtcpulse-quickstart-'))
let shell: ChildProcess | undefined
let exited: Promise<unknown> = Promise.resolve()

afterAll(async () => {
  // The shell runs in its own process group (detached): end it and the collector it started.
  if (shell?.pid && shell.exitCode === null) {
    try {
      process.kill(-shell.pid, 'SIGTERM')
    } catch {
      // Already gone.
    }
    await exited
  }
  rmSync(dataDir, { recursive: true, force: true })
})

describe('README production quick start', () => {
  it('runs as written: keys, start, token, and an API answer with the documented key', async () => {
    expect(block, 'README has a ```sh block with rtcpulse start and RTCPULSE_API_KEYS').toBeDefined()
    const port = await freePort()
    const script = (block as string).replaceAll('127.0.0.1:8080', `127.0.0.1:${port}`) + 'wait\n'
    const env: Record<string, string | undefined> = {
      ...process.env,
      PORT: String(port),
      RTCPULSE_DATA_DIR: dataDir,
      LOG_LEVEL: 'warn',
    }
    for (const name of Object.keys(env))
      if (/^(RTCPULSE_|CLICKHOUSE_|API_KEY$)/.test(name) && name !== 'RTCPULSE_DATA_DIR') delete env[name]
    const child = spawn('bash', ['-c', script], { cwd: root, env, detached: true })
    shell = child
    exited = new Promise((resolve) => child.once('exit', resolve))
    let out = ''
    let err = ''
    child.stdout.on('data', (d: Buffer) => (out += d.toString()))
    child.stderr.on('data', (d: Buffer) => (err += d.toString()))

    // The last command's answer is one JSON line.
    const deadline = Date.now() + 150_000
    while (!/^\{"app".*\}$/m.test(out) && Date.now() < deadline && child.exitCode === null)
      await new Promise((r) => setTimeout(r, 250))
    const answerLine = /^\{"app".*\}$/m.exec(out)?.[0]
    expect(answerLine, `stdout:\n${out}\nstderr:\n${err}`).toBeDefined()
    const answer = JSON.parse(answerLine as string) as { app: string; sessions: unknown[] }
    expect(answer.app).toBe('myapp')
    expect(Array.isArray(answer.sessions)).toBe(true)

    // The API is not open: without the key it refuses.
    const base = `http://127.0.0.1:${port}`
    expect((await fetch(`${base}/api/v1/sessions?app=myapp`)).status).toBe(401)

    // The token printed by `rtcpulse token` opens a stream for call-42; no token is refused (4001).
    const token = /^eyJ[\w-]+\.[\w-]+\.[\w-]+$/m.exec(out)?.[0]
    expect(token, out).toBeDefined()
    const streamUrl = `ws://127.0.0.1:${port}/v1/stream`
    const client = await connect(streamUrl)
    client.send(helloFor('call-42', { app: 'myapp', token }))
    await client.waitFor((f) => f.t === 'welcome', 15_000)
    client.send({ t: 'event', pc: 'pc1', seq: 1, ts: Date.now(), name: 'connectionstatechange', data: {} })
    await client.waitFor((f) => f.t === 'ack' && (f.seq.pc1 ?? 0) >= 1, 15_000)
    client.close()
    await client.closed
    const anonymous = await connect(streamUrl)
    anonymous.send(helloFor('call-42', { app: 'myapp' }))
    expect((await anonymous.closed).code).toBe(4001)
  }, 200_000)
})
