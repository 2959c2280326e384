// One @roamhq/wrtc peer in its own process, so a test can place it in another network namespace
// (`ip netns exec`). Role `send` offers 640x360@30 synthetic video plus a 440 Hz tone; role `recv`
// answers and decodes into sinks. Signalling and stats travel as JSON lines:
//   in:  {offer} {answer} {candidate} {cmd:'stats', id} {cmd:'close'}
//   out: {offer} {answer} {candidate} {state} {stats, id} {error}
// Run: node --import tsx test/helpers/analyzer-netns-peer.ts send|recv
import { createInterface } from 'node:readline'
import wrtc from '@roamhq/wrtc'

interface Nonstandard {
  RTCVideoSource: new () => {
    createTrack(): MediaStreamTrack
    onFrame(f: { width: number; height: number; data: Uint8ClampedArray }): void
  }
  RTCAudioSource: new () => {
    createTrack(): MediaStreamTrack
    onData(d: {
      samples: Int16Array
      sampleRate: number
      bitsPerSample: number
      channelCount: number
      numberOfFrames: number
    }): void
  }
  RTCVideoSink: new (t: MediaStreamTrack) => { stop(): void; onframe: (() => void) | null }
  RTCAudioSink: new (t: MediaStreamTrack) => { stop(): void; ondata: (() => void) | null }
}
const ns = wrtc.nonstandard as unknown as Nonstandard
const role = process.argv[2]
const out = (msg: unknown): void => {
  process.stdout.write(JSON.stringify(msg) + '\n')
}

const pc: RTCPeerConnection = new wrtc.RTCPeerConnection()
const timers: NodeJS.Timeout[] = []
const stoppers: (() => void)[] = []
pc.addEventListener('icecandidate', (e: RTCPeerConnectionIceEvent) => {
  if (e.candidate?.candidate)
    out({
      candidate: {
        candidate: e.candidate.candidate,
        sdpMid: e.candidate.sdpMid,
        sdpMLineIndex: e.candidate.sdpMLineIndex,
      },
    })
})
pc.addEventListener('connectionstatechange', () => out({ state: pc.connectionState }))

if (role === 'send') {
  const W = 640
  const H = 360
  const video = new ns.RTCVideoSource()
  pc.addTransceiver(video.createTrack(), { direction: 'sendonly' })
  const frame = new Uint8ClampedArray(W * H * 1.5).fill(128)
  let seed = 1
  let n = 0
  timers.push(
    setInterval(() => {
      // A moving bar and a noisy block: enough detail that the encoder wants well over 300 kbps.
      for (let y = 0; y < H; y++) for (let x = 0; x < W; x++) frame[y * W + x] = 64 + ((x + n * 4) % 128)
      for (let y = 120; y < 240; y++) {
        for (let x = 240; x < 400; x++) {
          seed ^= seed << 13
          seed ^= seed >>> 17
          seed ^= seed << 5
          frame[y * W + x] = seed & 0xff
        }
      }
      n++
      video.onFrame({ width: W, height: H, data: frame })
    }, 1000 / 30),
  )
  const audio = new ns.RTCAudioSource()
  pc.addTransceiver(audio.createTrack(), { direction: 'sendonly' })
  let phase = 0
  timers.push(
    setInterval(() => {
      const samples = new Int16Array(480)
      for (let i = 0; i < samples.length; i++)
        samples[i] = Math.round(Math.sin((phase += (2 * Math.PI * 440) / 48_000)) * 8000)
      audio.onData({ samples, sampleRate: 48_000, bitsPerSample: 16, channelCount: 1, numberOfFrames: 480 })
    }, 10),
  )
  void pc
    .createOffer()
    .then(async (offer) => {
      await pc.setLocalDescription(offer)
      out({ offer: { type: offer.type, sdp: offer.sdp } })
    })
    .catch((err: unknown) => out({ error: String(err) }))
} else if (role === 'recv') {
  pc.addEventListener('track', (e: RTCTrackEvent) => {
    const sink = e.track.kind === 'video' ? new ns.RTCVideoSink(e.track) : new ns.RTCAudioSink(e.track)
    stoppers.push(() => sink.stop())
  })
} else {
  out({ error: `role must be send or recv, got ${role}` })
  process.exit(2)
}

const lines = createInterface({ input: process.stdin })
lines.on('line', (line) => {
  const msg = JSON.parse(line) as {
    offer?: RTCSessionDescriptionInit
    answer?: RTCSessionDescriptionInit
    candidate?: RTCIceCandidateInit
    cmd?: string
    id?: number
  }
  void (async () => {
    if (msg.offer) {
      await pc.setRemoteDescription(msg.offer)
      const answer = await pc.createAnswer()
      await pc.setLocalDescription(answer)
      out({ answer: { type: answer.type, sdp: answer.sdp } })
    } else if (msg.answer) await pc.setRemoteDescription(msg.answer)
    else if (msg.candidate) await pc.addIceCandidate(msg.candidate)
    else if (msg.cmd === 'stats') {
      const stats: unknown[] = []
      ;(await pc.getStats()).forEach((s: unknown) => stats.push(JSON.parse(JSON.stringify(s))))
      out({ stats, id: msg.id })
    } else if (msg.cmd === 'close') {
      for (const t of timers) clearInterval(t)
      for (const s of stoppers) s()
      pc.close()
      // libwebrtc objects alive at environment teardown crash @roamhq/wrtc 0.10: exit explicitly.
      setTimeout(() => process.exit(0), 100)
    }
  })().catch((err: unknown) => out({ error: String(err) }))
})
