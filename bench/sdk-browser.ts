// The SDK in a real browser at the shape most calls have: one receiving RTCPeerConnection carrying an
// audio and a video stream per remote participant, as through an SFU (issue 17). The page makes a
// loopback call: pc `send` adds N clones of a fake camera track and N of a fake microphone track, pc `recv`
// receives the 2N streams. Each pc has its own monitor (the minified script, as shipped) and its own
// byte-counting proxy in front of a real collector, so the wire bytes are per pc.
//
// Main-thread time is the SDK's own work per poll, measured in the page: getStats() is wrapped so the
// SDK's `.then` callback (read the report, delta-encode, serialise, send) is timed, and the WebSocket's
// onmessage (acks retiring frames) likewise. getStats() itself is the browser's and not counted.
import { startTestCollector } from '../test/helpers/collector.ts'
import { serveSdkPage } from '../test/helpers/sdk-page.ts'
import { startByteProxy } from '../test/helpers/sdk-proxy.ts'
import { launchBrowser } from '../test/helpers/browser.ts'
import type { BrowserName } from '../test/helpers/browser.ts'

export interface BrowserSdkFigures {
  browser: BrowserName
  /** Remote participants: the receiving pc carries 2N inbound streams. */
  n: number
  statsObjects: { send: number; recv: number }
  /** One whole getStats() report as JSON, KB. */
  reportKb: { send: number; recv: number }
  /** SDK main-thread ms per poll (the getStats callback), p50 and p99. */
  pollMs: { send: [number, number]; recv: [number, number] }
  /**
   * The fastest poll, ms: wall time is CPU time plus whatever the OS gave other threads meanwhile, so on
   * a busy machine the minimum is the closest figure to the SDK's own cost.
   */
  pollMinMs: { send: number; recv: number }
  /** SDK main-thread ms per server message (acks), p50 and p99, both monitors. */
  ackMs: [number, number]
  /** Bytes per second on the wire (WebSocket, compressed, headers included) per pc, steady state. */
  wireBps: { send: number; recv: number }
  /** Largest frame the SDK sent (JSON characters; keyframes). */
  maxFrameChars: number
}

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>rtcpulse SDK bench</title>
<script>
  // Installed before the SDK loads, so the SDK's WebSocket and getStats are the measured ones.
  window.measure = { poll: { send: [], recv: [] }, ack: [], frames: [] }
  const roles = new WeakMap()
  window.roles = roles
  const getStats = RTCPeerConnection.prototype.getStats
  RTCPeerConnection.prototype.getStats = function (...args) {
    const p = getStats.apply(this, args)
    const role = roles.get(this)
    if (!role) return p
    return {
      then(ok, fail) {
        return p.then((report) => {
          const t0 = performance.now()
          try { return ok(report) } finally { measure.poll[role].push(performance.now() - t0) }
        }, fail)
      },
    }
  }
  const Base = WebSocket
  window.WebSocket = class extends Base {
    send(data) { measure.frames.push(data.length); super.send(data) }
    set onmessage(f) {
      super.onmessage = f && ((ev) => {
        const t0 = performance.now()
        try { f(ev) } finally { measure.ack.push(performance.now() - t0) }
      })
    }
    get onmessage() { return super.onmessage }
  }
</script>
<script src="/rtcpulse.min.js"></script>
<script>
  window.run = async (urls, session, n, video) => {
    const stream = await navigator.mediaDevices.getUserMedia({ audio: true, video })
    const send = new RTCPeerConnection()
    const recv = new RTCPeerConnection()
    roles.set(send, 'send')
    roles.set(recv, 'recv')
    send.onicecandidate = (e) => e.candidate && recv.addIceCandidate(e.candidate)
    recv.onicecandidate = (e) => e.candidate && send.addIceCandidate(e.candidate)
    for (let i = 0; i < n; i++) {
      const s = new MediaStream()
      for (const t of stream.getTracks()) {
        const c = t.clone()
        s.addTrack(c)
        send.addTrack(c, s)
      }
    }
    const monitors = ['send', 'recv'].map((peer, i) =>
      rtcpulse.createMonitor({ url: urls[i], app: 'bench', session, peer, onError: (e) => console.log(e.code, e.message) }))
    monitors[0].add(send, { label: 'send' })
    monitors[1].add(recv, { label: 'recv' })
    await send.setLocalDescription(await send.createOffer())
    await recv.setRemoteDescription(send.localDescription)
    await recv.setLocalDescription(await recv.createAnswer())
    await send.setRemoteDescription(recv.localDescription)
    await new Promise((resolve) => {
      const check = () => send.connectionState === 'connected' && recv.connectionState === 'connected' && resolve()
      send.addEventListener('connectionstatechange', check)
      recv.addEventListener('connectionstatechange', check)
      check()
    })
    const size = async (pc) => {
      const r = await pc.getStats()
      const all = []
      r.forEach((s) => all.push(s))
      return { objects: all.length, kb: JSON.stringify(all).length / 1024 }
    }
    window.call = { send, recv, stream, monitors }
    return { send: await size(send), recv: await size(recv) }
  }
  window.reset = () => {
    measure.poll.send.length = measure.poll.recv.length = measure.ack.length = 0
  }
  window.finish = async () => {
    for (const m of call.monitors) await m.close()
    call.send.close()
    call.recv.close()
    for (const t of call.stream.getTracks()) t.stop()
    return measure
  }
</script>`

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return Number((s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? NaN).toFixed(2))
}

/**
 * Measures the SDK in `browser` for each N in `ns`, `steadyS` seconds of steady state each, the fake
 * camera at `video` (getUserMedia constraints). A smaller camera keeps the report's shape (the same
 * stats objects, counters changing every second) at a fraction of the encoding and decoding load, which
 * on a busy machine otherwise starves the page's main thread and shows in the SDK's timings.
 */
export async function browserSdk(
  browser: BrowserName,
  ns: readonly number[],
  steadyS: number,
  video: MediaTrackConstraints = { width: 320, height: 180, frameRate: 15 },
): Promise<BrowserSdkFigures[]> {
  const collector = await startTestCollector()
  const { hostname, port } = new URL(collector.url)
  const proxies = [
    await startByteProxy({ host: hostname, port: Number(port) }),
    await startByteProxy({ host: hostname, port: Number(port) }),
  ]
  const served = await serveSdkPage(PAGE)
  const b = await launchBrowser(browser)
  const out: BrowserSdkFigures[] = []
  try {
    for (const n of ns) {
      const page = await b.newPage()
      await page.goto(served.url)
      const sizes = (await page.evaluate(
        `run(${JSON.stringify(proxies.map((p) => p.url))}, 'bench-${browser}-${n}-${Date.now()}', ${n}, ${JSON.stringify(video)})`,
      )) as { send: { objects: number; kb: number }; recv: { objects: number; kb: number } }
      // Past the keyframes and the ramp-up of 2N encoders, measure the steady state.
      await new Promise((r) => setTimeout(r, 5000))
      await page.evaluate('reset()')
      const up0 = proxies.map((p) => p.up)
      const t0 = performance.now()
      await new Promise((r) => setTimeout(r, steadyS * 1000))
      const dt = (performance.now() - t0) / 1000
      const wire = proxies.map((p, i) => Math.round((p.up - (up0[i] ?? 0)) / dt))
      const m = (await page.evaluate('finish()')) as {
        poll: { send: number[]; recv: number[] }
        ack: number[]
        frames: number[]
      }
      await page.close()
      out.push({
        browser,
        n,
        statsObjects: { send: sizes.send.objects, recv: sizes.recv.objects },
        reportKb: { send: Number(sizes.send.kb.toFixed(1)), recv: Number(sizes.recv.kb.toFixed(1)) },
        pollMs: {
          send: [pct(m.poll.send, 50), pct(m.poll.send, 99)],
          recv: [pct(m.poll.recv, 50), pct(m.poll.recv, 99)],
        },
        pollMinMs: { send: pct(m.poll.send, 0), recv: pct(m.poll.recv, 0) },
        ackMs: [pct(m.ack, 50), pct(m.ack, 99)],
        wireBps: { send: wire[0] ?? 0, recv: wire[1] ?? 0 },
        maxFrameChars: Math.max(...m.frames),
      })
    }
  } finally {
    await b.close()
    await served.close()
    for (const p of proxies) await p.close()
    await collector.stop()
  }
  return out
}
