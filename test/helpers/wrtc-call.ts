// A real two-peer WebRTC call inside Node (@roamhq/wrtc 0.10, libwebrtc M106) for integration tests.
// Caveat: once an RTCVideoSource/RTCAudioSource has existed, Node's environment teardown segfaults at
// process exit (exit code 139, node-webrtc#636) even after close(). Vitest workers are torn down
// without reporting it; standalone scripts should call process.exit() when done.
import wrtc from '@roamhq/wrtc'

// The shipped typings of `wrtc.nonstandard` reference an undeclared `EventHandler` type, so the sink
// callbacks would silently become `any`; we describe the part we use ourselves and cast once.
interface I420Frame {
  width: number
  height: number
  data: Uint8ClampedArray
}

interface AudioChunk {
  samples: Int16Array
  sampleRate: number
  bitsPerSample: number
  channelCount: number
  numberOfFrames: number
}

interface VideoSource {
  createTrack(): MediaStreamTrack
  onFrame(frame: I420Frame): void
}

interface AudioSource {
  createTrack(): MediaStreamTrack
  onData(chunk: AudioChunk): void
}

interface Sink {
  stop(): void
  readonly stopped: boolean
}

interface VideoSink extends Sink {
  onframe: ((event: { frame: { width: number; height: number } }) => void) | null
}

interface AudioSink extends Sink {
  ondata: ((event: { numberOfFrames?: number }) => void) | null
}

interface Nonstandard {
  RTCVideoSource: new () => VideoSource
  RTCAudioSource: new () => AudioSource
  RTCVideoSink: new (track: MediaStreamTrack) => VideoSink
  RTCAudioSink: new (track: MediaStreamTrack) => AudioSink
}

const nonstandard = wrtc.nonstandard as unknown as Nonstandard

export interface WrtcCallOptions {
  /** Video frame width in pixels (even), default 640. */
  width?: number
  /** Video frame height in pixels (even), default 360. */
  height?: number
  /** Frames fed to the video source per second, default 30. */
  fps?: number
  /** Send a 48 kHz mono sine-wave audio track, default true. */
  audio?: boolean
  /** Send a synthetic video track, default true. */
  video?: boolean
  /** Also open a data channel `rtcpulse` from a to b, default false. */
  dataChannel?: boolean
  /**
   * Cap for the video sender in bits per second, applied as encodings[0].maxBitrate. It is passed as
   * addTransceiver() sendEncodings because this wrtc build rejects setParameters() after negotiation.
   */
  maxBitrateBps?: number
  /** Called for every video tick with ms since the call started; returning true skips the frame. */
  withholdVideo?: (elapsedMs: number) => boolean
  /**
   * How ICE goes, default `connect`. `withhold-candidates`: no candidate is exchanged, so the pcs never
   * leave `new` (no media ever flows). `wrong-credentials`: each side is given a wrong remote ice-pwd,
   * so every connectivity check fails its MESSAGE-INTEGRITY (RFC 8445 §7.2.2): libwebrtc M106 reaches
   * `failed` after about 16 s here. Either way waitConnected() rejects.
   */
  ice?: 'connect' | 'withhold-candidates' | 'wrong-credentials'
  /**
   * Frame size at each video tick (ms since the call started), default always width x height: a change
   * is a real resolution switch at the source, which the encoder follows.
   */
  sizeAt?: (elapsedMs: number) => { width: number; height: number }
  /** Send digital silence instead of the 440 Hz tone (a muted or silent microphone), default false. */
  silentAudio?: boolean
}

export interface SinkCounts {
  /** Decoded video frames delivered to the receiver's RTCVideoSink. */
  videoFrames: number
  /** 10 ms audio chunks delivered to the receiver's RTCAudioSink. */
  audioChunks: number
}

export interface WrtcCall {
  /** Sending peer. */
  a: RTCPeerConnection
  /** Receiving peer. */
  b: RTCPeerConnection
  /** Resolves once both peers are `connected`; rejects on `failed`/`closed`, negotiation error or timeout (ms). */
  waitConnected(timeoutMs?: number): Promise<void>
  /** Stops timers, sinks and tracks and closes both peers; idempotent, never rejects. */
  close(): Promise<void>
  /**
   * Sets (or with undefined removes) the video sender's maxBitrate in bps via setParameters(). Rejects with
   * an Error on @roamhq/wrtc 0.10, which does not support setParameters() on a negotiated sender.
   */
  setMaxBitrate(bps: number | undefined): Promise<void>
  /** Counts of what the receiver's sinks have seen so far. */
  sinkCounts(): SinkCounts
}

const SAMPLE_RATE = 48_000
const AUDIO_CHUNK_MS = 10
const SAMPLES_PER_CHUNK = (SAMPLE_RATE * AUDIO_CHUNK_MS) / 1000
const TONE_HZ = 440

/**
 * Starts a loopback call from peer `a` (sending synthetic video/audio) to peer `b` (decoding into sinks).
 * Negotiation runs in the background; await `waitConnected()` before reading stats and always `close()`.
 * Throws synchronously only on invalid options.
 */
export function startWrtcCall(options: WrtcCallOptions = {}): WrtcCall {
  const width = options.width ?? 640
  const height = options.height ?? 360
  const fps = options.fps ?? 30
  const sendAudio = options.audio ?? true
  const sendVideo = options.video ?? true
  if (width % 2 !== 0 || height % 2 !== 0 || width <= 0 || height <= 0) {
    throw new Error(`width and height must be positive and even, got ${width}x${height}`)
  }
  if (!(fps > 0 && fps <= 120)) throw new Error(`fps must be in (0, 120], got ${fps}`)
  if (!sendAudio && !sendVideo) throw new Error('at least one of audio or video must be enabled')
  const maxBitrate = options.maxBitrateBps
  if (maxBitrate !== undefined && !(Number.isFinite(maxBitrate) && maxBitrate > 0)) {
    throw new Error(`maxBitrateBps must be a positive number, got ${maxBitrate}`)
  }

  const a: RTCPeerConnection = new wrtc.RTCPeerConnection()
  const b: RTCPeerConnection = new wrtc.RTCPeerConnection()
  const startedAt = performance.now()
  const timers: NodeJS.Timeout[] = []
  const localTracks: MediaStreamTrack[] = []
  const remoteTracks: MediaStreamTrack[] = []
  const sinks: Sink[] = []
  const counts: SinkCounts = { videoFrames: 0, audioChunks: 0 }
  let videoSender: RTCRtpSender | undefined
  let closed = false

  if (sendVideo) {
    const source = new nonstandard.RTCVideoSource()
    const track = source.createTrack()
    localTracks.push(track)
    videoSender = a.addTransceiver(track, {
      direction: 'sendonly',
      sendEncodings: maxBitrate === undefined ? [{}] : [{ maxBitrate }],
    }).sender
    const generators = new Map<string, SyntheticVideo>()
    const framesOf = (w: number, h: number): SyntheticVideo => {
      let g = generators.get(`${w}x${h}`)
      if (!g) generators.set(`${w}x${h}`, (g = new SyntheticVideo(w, h)))
      return g
    }
    timers.push(
      setInterval(() => {
        const elapsed = performance.now() - startedAt
        if (options.withholdVideo?.(elapsed)) return
        const size = options.sizeAt?.(elapsed) ?? { width, height }
        source.onFrame(framesOf(size.width, size.height).next())
      }, 1000 / fps),
    )
  }

  if (sendAudio) {
    const source = new nonstandard.RTCAudioSource()
    const track = source.createTrack()
    localTracks.push(track)
    a.addTransceiver(track, { direction: 'sendonly' })
    const tone = new SineWave(options.silentAudio ? 0 : TONE_HZ, options.silentAudio ? 0 : 8000)
    let chunksSent = 0
    timers.push(
      setInterval(() => {
        // Node timers drift late, so emit as many 10 ms chunks as wall time requires (bounded, so a
        // long event-loop stall does not turn into a burst the jitter buffer would discard anyway).
        const due = Math.floor((performance.now() - startedAt) / AUDIO_CHUNK_MS)
        const n = Math.min(due - chunksSent, 5)
        for (let i = 0; i < n; i++) source.onData(tone.next())
        chunksSent = Math.max(chunksSent + n, due - 5)
      }, AUDIO_CHUNK_MS),
    )
  }

  const channel = options.dataChannel ? a.createDataChannel('rtcpulse') : undefined

  b.addEventListener('track', (event: RTCTrackEvent) => {
    const track = event.track
    remoteTracks.push(track)
    if (closed) return
    if (track.kind === 'video') {
      const sink = new nonstandard.RTCVideoSink(track)
      sink.onframe = () => {
        counts.videoFrames++
      }
      sinks.push(sink)
    } else if (track.kind === 'audio') {
      const sink = new nonstandard.RTCAudioSink(track)
      sink.ondata = () => {
        counts.audioChunks++
      }
      sinks.push(sink)
    }
  })

  // Candidates may arrive before the other side has a remote description; queue them behind it.
  const bHasRemote = deferred()
  const aHasRemote = deferred()
  const ice = options.ice ?? 'connect'
  if (ice !== 'withhold-candidates') {
    forwardCandidates(a, b, bHasRemote.promise)
    forwardCandidates(b, a, aHasRemote.promise)
  }
  const remote = (d: RTCSessionDescriptionInit): RTCSessionDescriptionInit =>
    ice === 'wrong-credentials'
      ? { type: d.type, sdp: d.sdp?.replace(/a=ice-pwd:\S+/g, 'a=ice-pwd:notthepasswordofthispeer0') }
      : d

  const negotiated = (async () => {
    const offer = await a.createOffer()
    await a.setLocalDescription(offer)
    await b.setRemoteDescription(remote(offer))
    bHasRemote.resolve()
    const answer = await b.createAnswer()
    await b.setLocalDescription(answer)
    await a.setRemoteDescription(remote(answer))
    aHasRemote.resolve()
  })()
  // Avoid an unhandled rejection if nobody calls waitConnected(); the error resurfaces there.
  negotiated.catch(() => {})

  async function setMaxBitrate(bps: number | undefined): Promise<void> {
    if (!videoSender) throw new Error('setMaxBitrate: this call has no video sender')
    if (bps !== undefined && !(Number.isFinite(bps) && bps > 0)) {
      throw new Error(`setMaxBitrate: bps must be a positive number, got ${bps}`)
    }
    const params = videoSender.getParameters()
    const encoding = params.encodings[0]
    if (!encoding) throw new Error('setMaxBitrate: video sender has no encodings yet (not negotiated?)')
    if (bps === undefined) delete encoding.maxBitrate
    else encoding.maxBitrate = bps
    try {
      await videoSender.setParameters(params)
    } catch (err) {
      // @roamhq/wrtc 0.10 (M106) rejects every setParameters() on a negotiated sender, even an unchanged
      // getParameters() round trip (video: InvalidStateError, audio: InvalidModificationError, both with
      // an empty message): its JS conversion drops the codecs' rtcpFeedback, so libwebrtc sees a codec
      // change. Only the initial sendEncodings of addTransceiver() are honoured (see maxBitrateBps).
      const name = err instanceof Error ? err.name : String(err)
      throw new Error(
        `setMaxBitrate: RTCRtpSender.setParameters() is not supported after negotiation by @roamhq/wrtc (${name})`,
        { cause: err },
      )
    }
  }

  let connecting: Promise<void> | undefined
  function waitConnected(timeoutMs = 10_000): Promise<void> {
    connecting ??= (async () => {
      await negotiated
      await Promise.all([untilConnected(a, timeoutMs), untilConnected(b, timeoutMs)])
    })()
    return connecting
  }

  async function close(): Promise<void> {
    if (closed) return
    closed = true
    for (const t of timers) clearInterval(t)
    const attempt = (fn: () => void) => {
      try {
        fn()
      } catch {
        // Teardown is best effort: a half-initialised call must still release everything else.
      }
    }
    for (const s of sinks) attempt(() => s.stop())
    attempt(() => channel?.close())
    for (const t of [...localTracks, ...remoteTracks]) attempt(() => t.stop())
    attempt(() => a.close())
    attempt(() => b.close())
    // Resolve deferreds so queued candidate forwards settle instead of dangling.
    bHasRemote.resolve()
    aHasRemote.resolve()
    // Let the wrapper's nextTick-dispatched events (state changes after close) drain.
    await new Promise<void>((resolve) => setImmediate(resolve))
  }

  return { a, b, waitConnected, close, setMaxBitrate, sinkCounts: () => ({ ...counts }) }
}

function forwardCandidates(from: RTCPeerConnection, to: RTCPeerConnection, remoteReady: Promise<void>): void {
  from.addEventListener('icecandidate', (event: RTCPeerConnectionIceEvent) => {
    const c = event.candidate
    if (!c?.candidate) return
    const init: RTCIceCandidateInit = {
      candidate: c.candidate,
      sdpMid: c.sdpMid,
      sdpMLineIndex: c.sdpMLineIndex,
    }
    void remoteReady
      .then(() => (to.connectionState === 'closed' ? undefined : to.addIceCandidate(init)))
      .catch(() => {
        // A rejected candidate (e.g. during close) is not fatal: connectivity checks decide the outcome.
      })
  })
}

function untilConnected(pc: RTCPeerConnection, timeoutMs: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const state = pc.connectionState
      if (state === 'connected') finish()
      else if (state === 'failed' || state === 'closed') finish(new Error(`peer connection ${state}`))
    }
    const timer = setTimeout(
      () => finish(new Error(`not connected after ${timeoutMs} ms (state ${pc.connectionState})`)),
      timeoutMs,
    )
    const finish = (err?: Error) => {
      clearTimeout(timer)
      pc.removeEventListener('connectionstatechange', check)
      if (err) reject(err)
      else resolve()
    }
    pc.addEventListener('connectionstatechange', check)
    check()
  })
}

function deferred(): { promise: Promise<void>; resolve: () => void } {
  let resolve!: () => void
  const promise = new Promise<void>((r) => (resolve = r))
  return { promise, resolve }
}

// A mid-grey textured background with a bright bar sweeping across and a small noisy block: the bar
// forces motion, the noise forces residual bits, so the encoder settles at a plausible camera-like rate.
class SyntheticVideo {
  private readonly base: Uint8ClampedArray
  private readonly frame: Uint8ClampedArray
  private n = 0
  private seed = 0x2545f491

  constructor(
    private readonly width: number,
    private readonly height: number,
  ) {
    const ySize = width * height
    this.base = new Uint8ClampedArray(ySize * 1.5)
    for (let y = 0; y < height; y++) {
      for (let x = 0; x < width; x++) {
        this.base[y * width + x] = 96 + ((x >> 3) % 4) * 8 + ((y >> 3) % 4) * 8 + ((x * y) % 7)
      }
    }
    // Chroma planes (U then V, each quarter size) stay neutral except for a faint diagonal tint.
    const cw = width / 2
    const ch = height / 2
    for (let y = 0; y < ch; y++) {
      for (let x = 0; x < cw; x++) {
        this.base[ySize + y * cw + x] = 128 + ((x + y) % 16)
        this.base[ySize + cw * ch + y * cw + x] = 128 - ((x + y) % 16)
      }
    }
    this.frame = new Uint8ClampedArray(this.base.length)
  }

  next(): I420Frame {
    const { width, height, frame } = this
    frame.set(this.base)
    const barWidth = Math.max(2, width >> 4)
    const barX = (this.n * 4) % (width - barWidth)
    for (let y = 0; y < height; y++) {
      frame.fill(235, y * width + barX, y * width + barX + barWidth)
    }
    const block = Math.min(48, width >> 2, height >> 2)
    const bx = (width >> 1) - (block >> 1)
    const by = (height >> 1) - (block >> 1)
    for (let y = by; y < by + block; y++) {
      for (let x = bx; x < bx + block; x++) frame[y * width + x] = this.random() & 0xff
    }
    this.n++
    // The native source copies the pixels synchronously, so reusing one buffer is safe.
    return { width, height, data: frame }
  }

  private random(): number {
    // xorshift32: cheap and deterministic, so recordings are comparable between runs.
    let s = this.seed
    s ^= s << 13
    s ^= s >>> 17
    s ^= s << 5
    this.seed = s >>> 0
    return this.seed
  }
}

class SineWave {
  private phase = 0
  private readonly step: number

  constructor(
    hz: number,
    private readonly amplitude = 8000,
  ) {
    this.step = (2 * Math.PI * hz) / SAMPLE_RATE
  }

  next(): AudioChunk {
    const samples = new Int16Array(SAMPLES_PER_CHUNK)
    for (let i = 0; i < samples.length; i++) {
      samples[i] = Math.round(Math.sin(this.phase) * this.amplitude)
      this.phase += this.step
    }
    this.phase %= 2 * Math.PI
    return {
      samples,
      sampleRate: SAMPLE_RATE,
      bitsPerSample: 16,
      channelCount: 1,
      numberOfFrames: SAMPLES_PER_CHUNK,
    }
  }
}
