// The SDK in a real browser at the shape most calls have: one receiving RTCPeerConnection carrying an
// audio and a video stream per remote participant, as through an SFU (issue 17). The page makes a
// loopback call: pc `send` adds N clones of a fake camera track and N of a fake microphone track, pc `recv`
// receives the 2N streams. Each pc has its own monitor (the minified script, as shipped) and its own
// byte-counting proxy in front of a real collector, so the wire bytes are per pc.
//
// Main-thread time is the SDK's own work per poll, measured in the page: getStats() is wrapped so the
// SDK's `.then` callback (read the report, delta-encode, serialise, send) is timed, and the WebSocket's
// onmessage (acks retiring frames) likewise. getStats() itself is the browser's and not counted. The page
// times wall clock (performance.now()), which on a busy machine includes waiting for a core; in Chromium
// the same callbacks are also timed in CPU time, from a trace (cpuMs).
//
// The floor: right after the SDK's callback, the same report is walked three times more, timed apart — a
// bare `forEach(() => {})` (the browser building each stats object as a JS object: Chromium converts a
// stats dictionary anew on every read), a bare `for…of` (the same without a callback from C++ per object:
// how the SDK reads) and a walk reading every field (`for (k in s) s[k]`). No SDK can read a report for
// less than the cheaper of the first two; the gap between the SDK's figure and them is the SDK's own work.
import { writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { startTestCollector } from '../test/helpers/collector.ts'
import { serveSdkPage } from '../test/helpers/sdk-page.ts'
import { startByteProxy } from '../test/helpers/sdk-proxy.ts'
import type { ByteProxy } from '../test/helpers/sdk-proxy.ts'
import { launchBrowser } from '../test/helpers/browser.ts'
import type { BrowserName } from '../test/helpers/browser.ts'

export interface BrowserSdkFigures {
  browser: BrowserName
  /** Which build ran: `current` (this checkout's) or `compare` (the one passed to browserSdk). */
  script: string
  /** Whether the page was cross-origin isolated (performance.now() in 5 µs steps). */
  isolated: boolean
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
  /**
   * The browser's own part of a poll, ms p50 on the same reports: a bare `forEach(() => {})` and a walk
   * reading every field. (The SDK's figure includes both.)
   */
  floorMs: { send: { each: number; read: number }; recv: { each: number; read: number } }
  /** The same, fastest. */
  floorMinMs: { send: { each: number; read: number }; recv: { each: number; read: number } }
  /**
   * Chromium only: main-thread CPU ms (thread time of the trace's EventDispatch, CDP Tracing) of the
   * SDK's callback, the bare forEach and an empty dispatch (the measurement's own cost), p50 and p99; and
   * the wall ms of the same trace events. Unlike pollMs, CPU time leaves out waiting for a core.
   */
  cpuMs?: {
    poll: { send: [number, number]; recv: [number, number] }
    each: { send: [number, number]; recv: [number, number] }
    /** The same walk as `for (const [id, stat] of report)`, as the SDK reads. */
    iter: { send: [number, number]; recv: [number, number] }
    noop: [number, number]
    /** WebSocket.send (within the poll, both monitors). */
    send: [number, number]
    wallPoll: { send: [number, number]; recv: [number, number] }
  }
  /** ms inside WebSocket.send per frame (part of the poll: the browser's), p50 and p99, both monitors. */
  sendMs: [number, number]
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
  window.measure = {
    poll: { send: [], recv: [] }, ack: [], frames: [], send: [], texts: window.keepTexts && [],
    each: { send: [], recv: [] }, read: { send: [], recv: [] },
  }
  const roles = new WeakMap()
  window.roles = roles
  // Each timed part runs as the listener of an event whose type names it (\`poll-recv\`, \`each-send\`,
  // …), dispatched synchronously where the part ran before: a Chromium trace then shows the part as one
  // EventDispatch with its main-thread CPU time (tdur) beside its wall time. \`noop-<role>\` times an
  // empty part: what the dispatch itself costs.
  // (An element: Chromium traces the dispatch of events to nodes, not to a bare EventTarget.)
  const timed = document.createElement('i')
  let part
  for (const role of ['send', 'recv'])
    for (const name of ['poll', 'each', 'iter', 'read', 'noop'])
      timed.addEventListener(name + '-' + role, () => part())
  timed.addEventListener('wsend', () => part())
  const time = (type, fn) => {
    part = fn
    timed.dispatchEvent(new Event(type))
  }
  const getStats = RTCPeerConnection.prototype.getStats
  RTCPeerConnection.prototype.getStats = function (...args) {
    const p = getStats.apply(this, args)
    const role = roles.get(this)
    if (!role) return p
    return {
      then(ok, fail) {
        return p.then((report) => {
          // After finish() began, the monitor is closed and its callback returns at once: not timed.
          if (measure.done) return ok(report)
          // The SDK's callback never throws (it guards itself); one that did would show in the console.
          let out
          time('poll-' + role, () => {
            const t0 = performance.now()
            out = ok(report)
            measure.poll[role].push(performance.now() - t0)
          })
          time('each-' + role, () => {
            const t1 = performance.now()
            report.forEach(() => {})
            measure.each[role].push(performance.now() - t1)
          })
          // Stepping the report's iterator instead: no callback from C++ per object (what the SDK does).
          time('iter-' + role, () => {
            for (const entry of report);
          })
          time('read-' + role, () => {
            const t2 = performance.now()
            let n = 0
            report.forEach((s) => { for (const k in s) if (s[k] !== undefined) n++ })
            measure.read[role].push(performance.now() - t2)
            measure.fields = n
          })
          time('noop-' + role, () => {})
          return out
        }, fail)
      },
    }
  }
  const Base = WebSocket
  window.WebSocket = class extends Base {
    send(data) {
      measure.frames.push(data.length)
      measure.texts?.push([this.url, data])
      const t0 = performance.now()
      try { time('wsend', () => super.send(data)) } finally { measure.send.push(performance.now() - t0) }
    }
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
    for (const k of ['poll', 'each', 'read']) measure[k].send.length = measure[k].recv.length = 0
    measure.ack.length = measure.send.length = 0
  }
  window.finish = async () => {
    measure.done = true
    for (const m of call.monitors) await m.close()
    call.send.close()
    call.recv.close()
    for (const t of call.stream.getTracks()) t.stop()
    return { ...measure, isolated: crossOriginIsolated }
  }
</script>`

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b)
  return Number((s[Math.min(s.length - 1, Math.floor((s.length * p) / 100))] ?? NaN).toFixed(3))
}

const p5099 = (xs: number[] = []): [number, number] => [pct(xs, 50), pct(xs, 99)]

interface TraceEvent {
  name: string
  ph: string
  dur?: number
  tdur?: number
  args?: { data?: { type?: string } }
}

/**
 * The page's timed parts in a Chromium trace (JSON, Trace Event Format): per event type (`poll-recv`, …)
 * the CPU ms (`tdur`: thread time, µs) and wall ms (`dur`) of each EventDispatch of that type.
 */
function timedParts(trace: Uint8Array | undefined): {
  cpu: Record<string, number[]>
  wall: Record<string, number[]>
} {
  const cpu: Record<string, number[]> = {}
  const wall: Record<string, number[]> = {}
  const { traceEvents } = JSON.parse(Buffer.from(trace ?? []).toString() || '{}') as {
    traceEvents?: TraceEvent[]
  }
  for (const e of traceEvents ?? []) {
    const type = e.args?.data?.type
    if (
      e.name != 'EventDispatch' ||
      e.ph != 'X' ||
      !type ||
      !/^(poll|each|iter|read|noop)-|^wsend$/.test(type)
    )
      continue
    if (e.tdur !== undefined) (cpu[type] ??= []).push(e.tdur / 1000)
    if (e.dur !== undefined) (wall[type] ??= []).push(e.dur / 1000)
  }
  return { cpu, wall }
}

/**
 * Measures the SDK in `browser` for each N in `ns`, `steadyS` seconds of steady state each, the fake
 * camera at `video` (getUserMedia constraints). A smaller camera keeps the report's shape (the same
 * stats objects, counters changing every second) at a fraction of the encoding and decoding load, which
 * on a busy machine otherwise starves the page's main thread and shows in the SDK's timings.
 * `compare` (the text of another minified build, e.g. an older commit's) is measured too, right after the
 * current build at each N, so the two are side by side under the same machine load; `compareOmit` gives
 * it a collector of its own started with RTCPULSE_SDK_OMIT set to it (an older default). `profileDir`
 * (Chromium): a V8 CPU profile of each steady state is written there (`<script>-N<n>.cpuprofile`, sampled
 * every 50 µs; summarise with bench/cpuprofile.ts; no trace is taken then). `framesDir`: every frame
 * each pc sent is written there, one JSON text a line, a line `steady` before the steady state's first
 * (`<script>-N<n>-<send|recv>.jsonl`; bench/frame-bytes.ts says where their bytes go). In Chromium the
 * steady state is traced (CDP Tracing, `devtools.timeline`) for the main-thread CPU time of each poll.
 */
export async function browserSdk(
  browser: BrowserName,
  ns: readonly number[],
  steadyS: number,
  video: MediaTrackConstraints = { width: 320, height: 180, frameRate: 15 },
  compare?: string,
  profileDir?: string,
  framesDir?: string,
  compareOmit?: string,
): Promise<BrowserSdkFigures[]> {
  const collector = await startTestCollector()
  // The compare build may talk to a collector of its own, one that asks for other fields (`welcome.omit`).
  const other =
    compareOmit === undefined ? collector : await startTestCollector({ RTCPULSE_SDK_OMIT: compareOmit })
  const proxiesTo = async (c: typeof collector): Promise<ByteProxy[]> => {
    const { hostname, port } = new URL(c.url)
    const target = { host: hostname, port: Number(port) }
    return [await startByteProxy(target), await startByteProxy(target)]
  }
  // Cross-origin isolated: performance.now() in 5 µs steps, not 100 µs (the N = 1 figures are tenths of a ms).
  const builds = [
    {
      script: 'current',
      served: await serveSdkPage(PAGE, { isolated: true }),
      proxies: await proxiesTo(collector),
    },
  ]
  if (compare !== undefined)
    builds.push({
      script: 'compare',
      served: await serveSdkPage(PAGE, { isolated: true, js: compare }),
      proxies: await proxiesTo(other),
    })
  const b = await launchBrowser(browser)
  const out: BrowserSdkFigures[] = []
  try {
    for (const n of ns) {
      for (const { script, served, proxies } of builds) {
        const page = await b.newPage()
        if (framesDir) await page.evaluateOnNewDocument('window.keepTexts = 1')
        await page.goto(served.url)
        const sizes = (await page.evaluate(
          `run(${JSON.stringify(proxies.map((p) => p.url))}, 'bench-${browser}-${n}-${Date.now()}', ${n}, ${JSON.stringify(video)})`,
        )) as { send: { objects: number; kb: number }; recv: { objects: number; kb: number } }
        // Past the keyframes and the ramp-up of 2N encoders, measure the steady state.
        await new Promise((r) => setTimeout(r, 5000))
        await page.evaluate(`reset(); measure.texts?.push(['steady', ''])`)
        // Tracing and the CPU profiler each stop the other's view of the main thread: one at a time.
        const trace = browser === 'chromium' && !profileDir
        if (trace) await page.tracing.start({ categories: ['devtools.timeline'] })
        const cdp = profileDir && browser === 'chromium' ? await page.createCDPSession() : undefined
        if (cdp) {
          await cdp.send('Profiler.enable')
          await cdp.send('Profiler.setSamplingInterval', { interval: 50 })
          await cdp.send('Profiler.start')
        }
        const up0 = proxies.map((p) => p.up)
        const t0 = performance.now()
        await new Promise((r) => setTimeout(r, steadyS * 1000))
        const dt = (performance.now() - t0) / 1000
        const wire = proxies.map((p, i) => Math.round((p.up - (up0[i] ?? 0)) / dt))
        if (cdp && profileDir) {
          const { profile } = await cdp.send('Profiler.stop')
          writeFileSync(join(profileDir, `${script}-N${n}.cpuprofile`), JSON.stringify(profile))
        }
        const parts = trace ? timedParts(await page.tracing.stop()) : undefined
        const m = (await page.evaluate('finish()')) as {
          poll: { send: number[]; recv: number[] }
          each: { send: number[]; recv: number[] }
          read: { send: number[]; recv: number[] }
          ack: number[]
          send: number[]
          frames: number[]
          texts?: [string, string][]
          isolated: boolean
        }
        if (framesDir && m.texts)
          proxies.forEach((p, i) => {
            // Every frame since the page loaded (keyframes name each object's type); a line `steady` marks
            // where the steady state began.
            const mine = m.texts?.filter(
              ([url]) => url == 'steady' || url.startsWith(p.url.replace('http', 'ws')),
            )
            const lines = mine?.map(([url, text]) => (url == 'steady' ? url : text) + '\n').join('') ?? ''
            writeFileSync(join(framesDir, `${script}-N${n}-${i ? 'recv' : 'send'}.jsonl`), lines)
          })
        await page.close()
        out.push({
          browser,
          script,
          isolated: m.isolated,
          n,
          statsObjects: { send: sizes.send.objects, recv: sizes.recv.objects },
          reportKb: { send: Number(sizes.send.kb.toFixed(1)), recv: Number(sizes.recv.kb.toFixed(1)) },
          pollMs: {
            send: [pct(m.poll.send, 50), pct(m.poll.send, 99)],
            recv: [pct(m.poll.recv, 50), pct(m.poll.recv, 99)],
          },
          pollMinMs: { send: pct(m.poll.send, 0), recv: pct(m.poll.recv, 0) },
          floorMs: {
            send: { each: pct(m.each.send, 50), read: pct(m.read.send, 50) },
            recv: { each: pct(m.each.recv, 50), read: pct(m.read.recv, 50) },
          },
          floorMinMs: {
            send: { each: pct(m.each.send, 0), read: pct(m.read.send, 0) },
            recv: { each: pct(m.each.recv, 0), read: pct(m.read.recv, 0) },
          },
          cpuMs: parts && {
            poll: { send: p5099(parts.cpu['poll-send']), recv: p5099(parts.cpu['poll-recv']) },
            each: { send: p5099(parts.cpu['each-send']), recv: p5099(parts.cpu['each-recv']) },
            iter: { send: p5099(parts.cpu['iter-send']), recv: p5099(parts.cpu['iter-recv']) },
            noop: p5099([...(parts.cpu['noop-send'] ?? []), ...(parts.cpu['noop-recv'] ?? [])]),
            send: p5099(parts.cpu.wsend),
            wallPoll: { send: p5099(parts.wall['poll-send']), recv: p5099(parts.wall['poll-recv']) },
          },
          ackMs: [pct(m.ack, 50), pct(m.ack, 99)],
          sendMs: [pct(m.send, 50), pct(m.send, 99)],
          wireBps: { send: wire[0] ?? 0, recv: wire[1] ?? 0 },
          maxFrameChars: Math.max(...m.frames),
        })
      }
    }
  } finally {
    await b.close()
    for (const { served, proxies } of builds) {
      await served.close()
      for (const p of proxies) await p.close()
    }
    await collector.stop()
    if (other !== collector) await other.stop()
  }
  return out
}
