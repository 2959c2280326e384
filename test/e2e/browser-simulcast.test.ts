// Calls shaped like production, in a real headless Chromium monitored by the SDK's <script> build and
// stored and scored by a real collector on chDB (analyzer/SCORING.md §1, §2):
// - a sender with three simulcast encodings (sendEncodings with rid q/h/f), received in the same page as
//   three separate streams by SDP rewriting (the web-platform-tests simulcast technique: the MID and RID
//   header extensions share one wire format, so the receiver is told the sender's RID extension is its
//   MID extension and gets one m-line per layer, while the sender is answered `a=simulcast:recv`). The
//   source must be one outbound stream keyed by its top layer, paired with the receiver of that layer,
//   every layer's receiver scored as its own leg, and layer switches kept out of the bitrate CV;
// - a receiving pc with six inbound video streams (one per remote participant, as from an SFU), each
//   scored as its own leg and paired with its sender.
// Figures are asserted with margins for a loaded 2-core machine.
import type { Browser, Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { analyzeSessions } from '../../analyzer/analyze.ts'
import type { SessionAnalysis } from '../../analyzer/analyze.ts'
import { analyzerPlugin } from '../../analyzer/plugin.ts'
import { browserMissing, launchBrowser } from '../helpers/browser.ts'
import { guid, startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { serveSdkPage } from '../helpers/sdk-page.ts'
import type { SdkPage } from '../helpers/sdk-page.ts'

const APP = 'sfu-e2e'
// 15 fps halves the encoders' CPU on a shared machine; the analyzer is told to expect it.
const FPS = 15
const CALL_SECONDS = 28

const PAGE = `<!doctype html>
<meta charset="utf-8">
<title>rtcpulse simulcast e2e</title>
<script src="/rtcpulse.min.js"></script>
<script>
  window.errors = []
  const ROUTING = ['urn:ietf:params:rtp-hdrext:sdes:mid', 'urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id',
    'urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id']
  const isRouting = (l) => l.startsWith('a=extmap:') && ROUTING.some((u) => l.endsWith(' ' + u))
  const linesOf = (sdp) => sdp.trim().split('\\r\\n')
  const extId = (lines, uri) => /^a=extmap:(\\d+)/.exec(lines.find((l) => l.endsWith(' ' + uri)))[1]

  // The sender's one simulcast m-line as one m-line per rid for the receiver, the RID extension's id
  // declared as MID; RTX dropped (its repaired-rid cannot be reinterpreted).
  function offerForReceiver(sdp, rids) {
    const lines = linesOf(sdp)
    const m = lines.findIndex((l) => l.startsWith('m='))
    const session = lines.slice(0, m).filter((l) => !l.startsWith('a=group:BUNDLE'))
    const media = lines.slice(m)
    const ridExt = extId(media, ROUTING[1])
    const rtx = media.filter((l) => /^a=rtpmap:\\d+ rtx\\//.test(l)).map((l) => /^a=rtpmap:(\\d+)/.exec(l)[1])
    const ofRtx = (l) => rtx.some((pt) => ['a=rtpmap:', 'a=fmtp:', 'a=rtcp-fb:'].some((p) => l.startsWith(p + pt + ' ')))
    const base = media
      .filter((l) => !isRouting(l) && !ofRtx(l) && !/^a=(mid|msid|rid|simulcast|ssrc|ssrc-group):/.test(l))
      .map((l) => (l.startsWith('m=') ? l.split(' ').filter((x, i) => i < 3 || !rtx.includes(x)).join(' ') : l))
    base.push('a=extmap:' + ridExt + ' ' + ROUTING[0])
    const out = [...session, 'a=group:BUNDLE ' + rids.join(' ')]
    for (const rid of rids) out.push(...base, 'a=mid:' + rid, 'a=msid:rid-' + rid + ' rid-' + rid)
    return out.join('\\r\\n') + '\\r\\n'
  }

  // The receiver's answer to its first m-line as the answer to the sender's simulcast m-line.
  function answerForSender(sdp, local, rids) {
    const lines = linesOf(sdp)
    const m = lines.findIndex((l) => l.startsWith('m='))
    const next = lines.findIndex((l, i) => i > m && l.startsWith('m='))
    const session = lines.slice(0, m).filter((l) => !l.startsWith('a=group:BUNDLE'))
    const media = lines.slice(m, next < 0 ? undefined : next)
      .filter((l) => !isRouting(l) && !/^a=(mid|msid|ssrc|ssrc-group):/.test(l))
    const own = linesOf(local)
    const mid = own.find((l) => l.startsWith('a=mid:')).slice(6)
    return [...session, 'a=group:BUNDLE ' + mid, ...media, 'a=mid:' + mid,
      ...rids.map((r) => 'a=rid:' + r + ' recv'), 'a=simulcast:recv ' + rids.join(';'),
      ...own.filter(isRouting)].join('\\r\\n') + '\\r\\n'
  }

  function pair() {
    const a = new RTCPeerConnection()
    const b = new RTCPeerConnection()
    // The two ends name their m-lines differently (mid 0 against q/h/f): candidates go to the first
    // m-line by index, which carries the one bundled transport.
    const to = (pc) => (e) => e.candidate && pc.addIceCandidate({ candidate: e.candidate.candidate, sdpMLineIndex: 0 })
    a.onicecandidate = to(b)
    b.onicecandidate = to(a)
    b.ontrack = (e) => {
      const v = document.createElement('video')
      v.muted = true
      v.autoplay = true
      v.srcObject = new MediaStream([e.track])
      document.body.append(v)
    }
    return { a, b }
  }
  const connected = (pcs) => Promise.all(pcs.map((pc) => new Promise((resolve) => {
    const check = () => pc.connectionState === 'connected' && resolve()
    pc.addEventListener('connectionstatechange', check)
    check()
  })))

  window.run = async (collector, session, shape) => {
    const monitor = rtcpulse.createMonitor({
      url: collector, app: '${APP}', session, peer: 'browser', onError: (e) => window.errors.push(e),
    })
    window.monitor = monitor
    monitor.wrapGlobal()
    const { a, b } = pair()
    let stream
    if (shape === 'simulcast') {
      const rids = ['q', 'h', 'f']
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 1280, height: 720, frameRate: ${FPS} } })
      a.addTransceiver(stream.getVideoTracks()[0], {
        streams: [stream],
        sendEncodings: [{ rid: 'q', scaleResolutionDownBy: 4 }, { rid: 'h', scaleResolutionDownBy: 2 }, { rid: 'f' }],
      })
      await a.setLocalDescription(await a.createOffer())
      await b.setRemoteDescription({ type: 'offer', sdp: offerForReceiver(a.localDescription.sdp, rids) })
      await b.setLocalDescription(await b.createAnswer())
      await a.setRemoteDescription({
        type: 'answer', sdp: answerForSender(b.localDescription.sdp, a.localDescription.sdp, rids),
      })
    } else {
      // Six remote participants, as an SFU forwards them: six video tracks on one receiving pc.
      stream = await navigator.mediaDevices.getUserMedia({ video: { width: 320, height: 180, frameRate: ${FPS} } })
      const track = stream.getVideoTracks()[0]
      for (let i = 0; i < 6; i++) a.addTransceiver(i ? track.clone() : track, { direction: 'sendonly' })
      await a.setLocalDescription(await a.createOffer())
      await b.setRemoteDescription(a.localDescription)
      await b.setLocalDescription(await b.createAnswer())
      await a.setRemoteDescription(b.localDescription)
    }
    await connected([a, b])
    window.call = { a, b, stream }
    return { senders: a.getSenders().length, receivers: b.getReceivers().length }
  }
  // Switches one simulcast layer off or on, as an SFU does for a layer nobody watches (webrtc-pc
  // RTCRtpEncodingParameters.active).
  window.layer = async (rid, active) => {
    const sender = window.call.a.getSenders()[0]
    const p = sender.getParameters()
    for (const e of p.encodings) if (e.rid === rid) e.active = active
    await sender.setParameters(p)
  }
  window.finish = async () => {
    const { a, b, stream } = window.call
    const params = a.getSenders()[0].getParameters().encodings.map((e) => e.rid || '')
    a.close()
    b.close()
    for (const t of stream.getTracks()) t.stop()
    await new Promise((resolve) => setTimeout(resolve, 1500))
    await window.monitor.close()
    return { errors: window.errors, rids: params }
  }
</script>`

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))
const missing = browserMissing('chromium')

describe('calls shaped like production, in Chromium', () => {
  let running: TestCollector
  let page: SdkPage
  let browser: Browser

  beforeAll(async () => {
    if (missing) return
    running = await startTestCollector(
      { RTCPULSE_ANALYZER_INTERVAL_MS: '1000', RTCPULSE_ANALYZER_EXPECTED_FPS: String(FPS) },
      [analyzerPlugin],
    )
    page = await serveSdkPage(PAGE)
    browser = await launchBrowser('chromium')
  }, 60_000)

  afterAll(async () => {
    await browser?.close()
    await page?.close()
    await running?.stop()
  })

  /** Runs one call of `shape` in a fresh tab for CALL_SECONDS and returns its final analysis. */
  async function call(shape: 'simulcast' | 'participants'): Promise<{
    session: string
    shape: { senders: number; receivers: number }
    rids: string[]
    a: SessionAnalysis
  }> {
    const session = guid(shape)
    const tab: Page = await browser.newPage()
    const pageErrors: string[] = []
    tab.on('pageerror', (err) => pageErrors.push(String(err)))
    await tab.goto(page.url)
    const made = await tab.evaluate(
      (collector, s, k) =>
        (window as unknown as { run(c: string, s: string, k: string): Promise<unknown> }).run(
          collector,
          s,
          k,
        ),
      running.url,
      session,
      shape,
    )
    if (shape === 'simulcast') {
      // The top layer off for 8 s mid-call, then on again: two real layer switches.
      const layer = (on: boolean): Promise<unknown> =>
        tab.evaluate(
          (v) => (window as unknown as { layer(r: string, v: boolean): Promise<void> }).layer('f', v),
          on,
        )
      await sleep(10_000)
      await layer(false)
      await sleep(8_000)
      await layer(true)
      await sleep((CALL_SECONDS - 18) * 1000)
    } else await sleep(CALL_SECONDS * 1000)
    const done = (await tab.evaluate(() =>
      (window as unknown as { finish(): Promise<unknown> }).finish(),
    )) as { errors: unknown[]; rids: string[] }
    await tab.close()
    expect(done.errors).toEqual([])
    expect(pageErrors).toEqual([])
    // Scored straight from the store, final: the legs and per-stream aggregates as the API stores them.
    const [a] = await analyzeSessions(running.store, APP, [session], { expectedFps: FPS, final: true })
    if (!a) throw new Error(`session ${session} has no analysis`)
    return { session, shape: made as { senders: number; receivers: number }, rids: done.rids, a }
  }

  it.skipIf(missing !== undefined)(
    `scores a three-layer simulcast sender by its top layer, each layer's receiver as a leg${missing ? ` (skipped: ${missing})` : ''}`,
    { timeout: 120_000, retry: 1 },
    async () => {
      const { session, shape, rids, a } = await call('simulcast')
      expect(shape).toEqual({ senders: 1, receivers: 3 })
      expect(rids).toEqual(['q', 'h', 'f'])
      const out = a.streams.filter((s) => s.direction === 'outbound' && s.kind === 'video')
      const inb = a.streams.filter((s) => s.direction === 'inbound' && s.kind === 'video')
      const line = (s: (typeof a.streams)[number]): string =>
        `${s.direction} ssrc ${s.ssrc} ${s.aggregates.width}x${s.aggregates.height} p50 ${s.aggregates.bitrate_p50} ` +
        `fps ${s.aggregates.fps_mean} cv ${s.aggregates.bitrate_cv} switches ${s.aggregates.resolution_switches}/` +
        `${s.aggregates.layer_switches} score ${s.videoScore} ${JSON.stringify(s.penalties)}`
      console.log(`simulcast call:\n  ${[...out, ...inb].map(line).join('\n  ')}`)
      console.log(`  issues [${a.issues.map((i) => `${i.type}/${i.severity}`).join(', ')}]`)
      // The source is one outbound stream; the receiver saw one inbound stream per layer.
      expect(out).toHaveLength(1)
      expect(inb).toHaveLength(3)
      const src = out[0] as (typeof out)[number]
      // Keyed by the top layer: the receiver of that layer pairs with it, and it is the largest layer.
      const top = inb.find((s) => s.ssrc === src.ssrc)
      expect(top).toBeDefined()
      for (const s of inb) expect(top?.aggregates.height).toBeGreaterThanOrEqual(s.aggregates.height)
      expect(src.aggregates.height).toBeGreaterThanOrEqual(360)
      // Each layer's receiver is a scored leg; the layers' sizes step down by the configured factors.
      expect(a.score.legs).toBe(3)
      const heights = inb.map((s) => s.aggregates.height).sort((x, y) => x - y)
      expect(heights[0]).toBeLessThan(heights[2] as number)
      for (const s of inb) {
        expect(s.videoScore).not.toBeNull()
        expect(s.aggregates.fps_mean).toBeGreaterThan(FPS * 0.5)
        expect(s.aggregates.bitrate_p50).toBeGreaterThan(30_000)
      }
      // The stored rows say which layer was on top and how many layers sent.
      const layers = await running.store.query<{ rids: string[]; max_layers: number }>(
        `SELECT groupUniqArrayIf(rid, active = 1) AS rids, max(layers) AS max_layers FROM stream_seconds FINAL
         WHERE app_id = {app:String} AND session_id = {session:String} AND direction = 'outbound'`,
        { app: APP, session },
      )
      expect(layers[0]?.max_layers).toBe(3)
      expect(layers[0]?.rids).toContain('f')
      // The top layer's 8 s off were two layer switches (to h and back), each a frame-height change.
      expect(src.aggregates.layer_switches).toBeGreaterThanOrEqual(2)
      expect(src.aggregates.resolution_switches).toBeGreaterThanOrEqual(2)
      // What the receivers got: the receiver of the top layer lost its video while the layer was off
      // (one critical freeze of about 8 s); the others kept theirs. The source's leg is that receiver's.
      const stops = a.issues.filter((i) => i.type === 'freeze' && i.severity === 'critical')
      expect(stops.map((i) => i.stream)).toEqual([top?.stream])
      expect(stops[0]?.evidence.frozen_s).toBeGreaterThan(5)
      expect(stops[0]?.evidence.frozen_s).toBeLessThan(12)
      // No false variance: the bitrate of the top layer within its steady segments; layer switches
      // are reported apart.
      expect(src.aggregates.bitrate_cv).not.toBeNull()
      expect(src.aggregates.bitrate_cv as number).toBeLessThan(0.35)
      expect(src.penalties?.variance ?? 0).toBeLessThan(0.4)
    },
  )

  it.skipIf(missing !== undefined)(
    `scores a pc with six inbound streams per leg${missing ? ` (skipped: ${missing})` : ''}`,
    { timeout: 120_000, retry: 1 },
    async () => {
      const { shape, a } = await call('participants')
      expect(shape).toEqual({ senders: 6, receivers: 6 })
      const inb = a.streams.filter((s) => s.direction === 'inbound' && s.kind === 'video')
      const out = a.streams.filter((s) => s.direction === 'outbound' && s.kind === 'video')
      console.log(
        `six participants: ${inb.map((s) => `${s.ssrc} ${s.aggregates.height}p ${s.aggregates.bitrate_p50} bps ${s.aggregates.fps_mean} fps score ${s.videoScore}`).join('; ')}`,
      )
      expect(inb).toHaveLength(6)
      expect(out).toHaveLength(6)
      // Each inbound stream pairs with its own sender: six legs, six distinct SSRCs on both ends.
      expect(a.score.legs).toBe(6)
      expect(new Set(inb.map((s) => s.ssrc))).toEqual(new Set(out.map((s) => s.ssrc)))
      expect(new Set(inb.map((s) => s.ssrc)).size).toBe(6)
      for (const s of inb) {
        expect(s.aggregates.height).toBe(180)
        expect(s.aggregates.fps_mean).toBeGreaterThan(FPS * 0.5)
        expect(s.aggregates.bitrate_p50).toBeGreaterThan(30_000)
        // 180p costs log2(720/180) = 2 points of resolution (SCORING.md §3); the rest is near clean.
        expect(s.penalties?.resolution).toBe(2)
        expect(s.videoScore).toBeGreaterThan(5.5)
      }
      expect(a.outcome).toBe('ok')
    },
  )
})
