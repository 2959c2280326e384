// The <script> build in a real browser: Debian's Chromium (fake camera and microphone) loads
// sdk/dist-equivalent rtcpulse.min.js (built in memory with sdk/build.ts's options, mangled properties and
// all) from a page on localhost, wraps RTCPeerConnection, and makes a two-peer call inside the page. The
// collector (real, on chDB) must store per-second video rows with a framerate, the connection events, and a
// getUserMedia failure — all through the wrapper, so `new RTCPeerConnection()` alone must be enough.
import { existsSync } from 'node:fs'
import { createServer } from 'node:http'
import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { build } from 'esbuild'
import { chromium } from 'playwright-core'
import type { Browser } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { iifeOptions } from '../../sdk/build.ts'
import { guid, startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { startByteProxy } from '../helpers/sdk-proxy.ts'
import type { ByteProxy } from '../helpers/sdk-proxy.ts'

const CHROMIUM = '/usr/bin/chromium'
const APP = 'sdk-e2e'

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>rtcpulse e2e</title>
<script src="/rtcpulse.min.js"></script>
<script>
  window.errors = []
  window.run = async (collector, session) => {
    const monitor = rtcpulse.createMonitor({
      url: collector, app: '${APP}', session, peer: 'browser', user: 'u1',
      metadata: { page: 'e2e' }, onError: (e) => window.errors.push(e),
    })
    window.monitor = monitor
    monitor.wrapGlobal()
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video: { width: 640, height: 360 } })
    // Not satisfiable: the wrapped getUserMedia records the failure and rethrows it unchanged.
    const failure = await navigator.mediaDevices.getUserMedia({ video: { width: { exact: 12345 } } }).catch((e) => e.name)
    const a = new RTCPeerConnection()
    const b = new RTCPeerConnection()
    const checks = {
      instanceOf: a instanceof RTCPeerConnection,
      certificate: typeof RTCPeerConnection.generateCertificate === 'function',
      failure,
    }
    a.onicecandidate = (e) => e.candidate && b.addIceCandidate(e.candidate)
    b.onicecandidate = (e) => e.candidate && a.addIceCandidate(e.candidate)
    for (const t of stream.getTracks()) a.addTrack(t, stream)
    const video = document.createElement('video')
    video.muted = true
    video.autoplay = true
    b.ontrack = (e) => { video.srcObject = e.streams[0] }
    document.body.append(video)
    await a.setLocalDescription(await a.createOffer())
    await b.setRemoteDescription(a.localDescription)
    await b.setLocalDescription(await b.createAnswer())
    await a.setRemoteDescription(b.localDescription)
    await new Promise((resolve) => {
      const check = () => a.connectionState === 'connected' && b.connectionState === 'connected' && resolve()
      a.addEventListener('connectionstatechange', check)
      b.addEventListener('connectionstatechange', check)
    })
    monitor.event('call.connected', { peers: 2 })
    window.call = { a, b, stream }
    return checks
  }
  window.finish = async () => {
    window.call.a.close()
    window.call.b.close()
    for (const t of window.call.stream.getTracks()) t.stop()
    // close() fires no event: the monitor notices on its next poll, then stops polling.
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await window.monitor.close()
    return window.errors
  }
</script>`

const skip = !existsSync(CHROMIUM)

describe.skipIf(skip)(`SDK in Chromium${skip ? ` (skipped: ${CHROMIUM} is not installed)` : ''}`, () => {
  let running: TestCollector
  let page: Server
  let pageUrl: string
  let browser: Browser
  let proxy: ByteProxy

  beforeAll(async () => {
    running = await startTestCollector()
    const { hostname, port } = new URL(running.url)
    // Between the page and the collector, to measure what Chromium's SDK puts on the wire.
    proxy = await startByteProxy({ host: hostname, port: Number(port) })
    const bundle = await build({ ...iifeOptions, write: false, outfile: 'rtcpulse.min.js' })
    const js = bundle.outputFiles[0]?.text ?? ''
    page = createServer((req, res) => {
      if (req.url === '/rtcpulse.min.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js)
      else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(PAGE)
      else res.writeHead(404).end()
    })
    await new Promise<void>((resolve) => page.listen(0, '127.0.0.1', resolve))
    pageUrl = `http://127.0.0.1:${(page.address() as AddressInfo).port}/`
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      args: [
        '--use-fake-device-for-media-stream',
        '--use-fake-ui-for-media-stream',
        '--no-sandbox',
        '--headless=new',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--no-first-run',
        '--disable-sync',
      ],
    })
  })

  afterAll(async () => {
    await browser?.close()
    await proxy?.close()
    await new Promise<void>((resolve) => (page ? page.close(() => resolve()) : resolve()))
    await running?.stop()
  })

  it('stores the stats and events of a two-peer call in the page', { timeout: 60_000 }, async () => {
    const session = guid('s')
    const tab = await browser.newPage()
    const pageErrors: string[] = []
    tab.on('pageerror', (err) => pageErrors.push(err.message))
    await tab.goto(pageUrl)
    const checks = await tab.evaluate(
      ([collector, s]) =>
        (window as unknown as { run(c: string, s: string): Promise<unknown> }).run(collector, s),
      [proxy.url, session] as const,
    )
    expect(checks).toEqual({ instanceOf: true, certificate: true, failure: 'OverconstrainedError' })
    // Past the keyframes, measure the steady state of the two pcs (one sending, one receiving).
    await tab.waitForTimeout(2000)
    const [t0, up0] = [performance.now(), proxy.up]
    await tab.waitForTimeout(4000)
    const wire = ((proxy.up - up0) * 1000) / (performance.now() - t0)
    console.log(`Chromium SDK steady state, 2 pcs (sender + receiver): ${wire.toFixed(0)} B/s on the wire`)
    const errors = await tab.evaluate(() => (window as unknown as { finish(): Promise<unknown> }).finish())
    await tab.close()
    expect(errors).toEqual([])
    expect(pageErrors).toEqual([])

    const q = { app: APP, session }
    const video = await running.store.query<{ pc_id: string; direction: string; n: number; fps: number }>(
      `SELECT pc_id, toString(direction) AS direction, count() AS n, max(fps) AS fps FROM stream_seconds FINAL
       WHERE app_id = {app:String} AND session_id = {session:String} AND kind = 'video'
       GROUP BY pc_id, direction ORDER BY direction`,
      q,
    )
    expect(video.map((v) => `${v.pc_id} ${v.direction}`)).toEqual(['pc2 inbound', 'pc1 outbound'])
    for (const v of video) {
      expect(v.n).toBeGreaterThanOrEqual(3)
      expect(v.fps).toBeGreaterThan(0)
    }
    const events = await running.store.query<{ pc_id: string; name: string; data: string }>(
      `SELECT pc_id, name, data FROM events FINAL WHERE app_id = {app:String} AND session_id = {session:String}
       ORDER BY pc_id, seq`,
      q,
    )
    const states = (pc: string): string[] =>
      events
        .filter((e) => e.pc_id === pc && e.name === 'connectionstatechange')
        .map((e) => (JSON.parse(e.data) as { connectionState: string }).connectionState)
    expect(states('pc1')).toContain('connected')
    expect(states('pc2')).toContain('connected')
    const names = events.map((e) => `${e.pc_id} ${e.name}`)
    expect(names).toEqual(
      expect.arrayContaining([
        '_ getUserMedia.error',
        '_ custom.call.connected',
        'pc2 track.added',
        'pc1 closed',
        'pc2 closed',
      ]),
    )
    const peers = await running.store.query<{ user_id: string; browser: string; sdk_version: string }>(
      `SELECT user_id, browser, sdk_version FROM peers FINAL WHERE app_id = {app:String} AND session_id = {session:String}`,
      q,
    )
    expect(peers).toEqual([expect.objectContaining({ user_id: 'u1', sdk_version: 'rtcpulse-js/0.1.0' })])
  })
})
