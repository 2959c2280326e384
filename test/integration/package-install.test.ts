// Guards the published packages: `npm pack` of the server (its prepack script runs `npm run build`) and of
// @rtcpulse/sdk give tarballs that install in an empty folder, and the installed `rtcpulse start` runs the
// built JavaScript (no tsx installed, no TypeScript shipped): it applies its SQL migrations, serves
// readiness, /metrics and the prebuilt web view, and stores what the installed SDK streams from a real
// libwebrtc call. The packs run on a copy of the project's files, so the working tree's own dist/ folders
// are never rewritten under other tests.
// Needs the npm registry or an npm cache that holds the server's dependencies: the install is
// `npm install --prefer-offline` (the cache first, the registry for what it lacks).
import { execFile, spawn } from 'node:child_process'
import type { ChildProcess } from 'node:child_process'
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { dirname, join } from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { promisify } from 'node:util'
import WebSocket from 'ws'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { createMonitor as CreateMonitor } from '../../sdk/src/index.ts'
import { startWrtcCall } from '../helpers/wrtc-call.ts'

const run = promisify(execFile)
const root = fileURLToPath(new URL('../../', import.meta.url))
const work = mkdtempSync(join(tmpdir(), 'rtcpulse-pack-'))
// Without the npm_* variables of an enclosing `npm test`, so each npm command reads only its own folder.
const env = Object.fromEntries(Object.entries(process.env).filter(([k]) => !/^npm_/i.test(k)))

/** The project's files as a fresh clone would have them (tracked and new, not ignored), no build output. */
async function copyProject(to: string): Promise<void> {
  const { stdout } = await run('git', ['ls-files', '--cached', '--others', '--exclude-standard', '-z'], {
    cwd: root,
    maxBuffer: 16 << 20,
  })
  for (const file of stdout.split('\0')) {
    if (!file || file === 'node_modules' || !existsSync(join(root, file))) continue
    mkdirSync(dirname(join(to, file)), { recursive: true })
    cpSync(join(root, file), join(to, file))
  }
  symlinkSync(join(root, 'node_modules'), join(to, 'node_modules'), 'dir')
}

/** `npm pack` in `dir` (prepack scripts run); returns the tarball's path. */
async function pack(dir: string, dest: string): Promise<string> {
  const { stdout } = await run('npm', ['pack', '--json', '--pack-destination', dest], {
    cwd: dir,
    env,
    maxBuffer: 16 << 20,
  })
  const [info] = JSON.parse(stdout.slice(stdout.indexOf('['))) as {
    filename: string
    files: { path: string }[]
  }[]
  expect(info).toBeDefined()
  return join(dest, (info as { filename: string }).filename)
}

let server: ChildProcess | undefined
let url = ''
let app = ''
const tarballs: string[] = []

beforeAll(async () => {
  const src = join(work, 'src')
  const dest = join(work, 'tarballs')
  mkdirSync(dest, { recursive: true })
  await copyProject(src)
  tarballs.push(await pack(src, dest), await pack(join(src, 'sdk'), dest))
  app = join(work, 'app')
  mkdirSync(app)
  await run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', ...tarballs], {
    cwd: app,
    env,
    maxBuffer: 16 << 20,
  })
  server = spawn(
    join(app, 'node_modules/.bin/rtcpulse'),
    ['start', '--port', '0', '--dev', '--data-dir', './data'],
    {
      cwd: app,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  )
  let out = ''
  url = await new Promise<string>((resolve, reject) => {
    server?.stdout?.on('data', (b: Buffer) => {
      out += b.toString()
      const m = /listening on (http:\/\/\S+)/.exec(out)
      if (m) resolve(m[1] as string)
    })
    server?.stderr?.on('data', (b: Buffer) => (out += b.toString()))
    server?.once('exit', (code) => reject(new Error(`rtcpulse start exited ${code}: ${out}`)))
  })
}, 600_000)

afterAll(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server?.once('exit', resolve))
    server.kill('SIGTERM')
    await exited
  }
  rmSync(work, { recursive: true, force: true })
}, 60_000)

describe('the packed server', () => {
  it('holds built JavaScript and no TypeScript, and installs without tsx', async () => {
    const { stdout } = await run('tar', ['tzf', tarballs[0] as string])
    const files = stdout.split('\n').filter(Boolean)
    expect(files).toContain('package/dist/bin/cli.js')
    expect(files.some((f) => /^package\/dist\/.*\/migrations\/.*\.sql$/.test(f))).toBe(true)
    expect(files.filter((f) => f.endsWith('.ts'))).toEqual([])
    expect(existsSync(join(app, 'node_modules/tsx'))).toBe(false)
    expect(existsSync(join(app, 'node_modules/esbuild'))).toBe(false)
  })

  it('starts from an empty folder: ready, migrated, with metrics and the web view', async () => {
    const ready = (await (await fetch(`${url}/readyz`)).json()) as { ok: boolean }
    expect(ready.ok).toBe(true)
    expect(readdirSync(join(app, 'data')).length).toBeGreaterThan(0)
    const metrics = await (await fetch(`${url}/metrics`)).text()
    expect(metrics).toMatch(/^rtcpulse_dev_mode 1$/m)
    expect(metrics).toMatch(/^nodejs_eventloop_lag_seconds /m)
    expect(metrics).toMatch(/^# TYPE rtcpulse_analyzer_sessions_scored_total counter$/m)
    const page = await fetch(`${url}/`)
    expect(page.status).toBe(200)
    const script = (await page.text()).match(/src="(\/ui\/app\.js[^"]*)"/)?.[1]
    expect(script).toBeDefined()
    const js = await fetch(`${url}${script}`)
    expect(js.status).toBe(200)
    expect((await js.text()).length).toBeGreaterThan(10_000)
  })

  it('mints a token with the installed command', async () => {
    const { stdout } = await run(join(app, 'node_modules/.bin/rtcpulse'), ['token', '--app', 'demo'], {
      cwd: app,
      env: { ...env, RTCPULSE_KEYS: 'k1:demo:0123456789abcdef0123456789abcdef' },
    })
    expect(stdout.trim()).toMatch(/^[\w-]+\.[\w-]+(\.[\w-]+)?$/)
  })
})

describe('the packed SDK', () => {
  it('streams a real call into the installed server', async () => {
    const sdkDir = join(app, 'node_modules/@rtcpulse/sdk')
    expect(existsSync(join(sdkDir, 'dist/rtcpulse.min.js'))).toBe(true)
    expect(existsSync(join(sdkDir, 'dist/types/sdk/src/index.d.ts'))).toBe(true)
    const sdk = (await import(pathToFileURL(join(sdkDir, 'dist/index.js')).href)) as {
      createMonitor: typeof CreateMonitor
    }
    const call = startWrtcCall({ width: 320, height: 180, fps: 15 })
    const monitor = sdk.createMonitor({
      url,
      app: 'demo',
      session: 'packed-1',
      peer: 'p1',
      WebSocket,
    })
    monitor.add(call.a)
    try {
      let stats = 0
      for (let i = 0; i < 60 && stats < 3; i++) {
        await new Promise((r) => setTimeout(r, 500))
        const text = await (await fetch(`${url}/metrics`)).text()
        stats = Number(/^rtcpulse_frames_total\{type="stats"\} (\d+)$/m.exec(text)?.[1] ?? 0)
      }
      expect(stats).toBeGreaterThanOrEqual(3)
    } finally {
      await monitor.close()
      await call.close()
    }
  }, 60_000)
})
