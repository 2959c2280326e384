// Scores from aggregated metrics (DESIGN.md "Metrics and scores"; every constant is explained, with its
// source, in analyzer/SCORING.md). Pure: plain numbers in, plain numbers out, no I/O.

/** Bumped whenever a formula or constant below changes, so stored scores say which rules made them. */
export const SCORE_VERSION = 7

const clamp = (v: number, lo: number, hi: number): number => Math.min(hi, Math.max(lo, v))
/** 0 at `from`, 1 at `to` (either direction), linear between, clamped. */
const ramp = (v: number, from: number, to: number): number => clamp((v - from) / (to - from), 0, 1)

// ---------------------------------------------------------------------------------------------------
// Audio: ITU-T G.107 E-model with the corrected delay impairment.

/**
 * Equipment impairment Ie of a codec at a bitrate (bps). G.711/G.722 are the narrowband reference (0).
 * Opus and unknown codecs: the G.113 Appendix I value of a narrowband codec of the same bitrate, and 0
 * from 24 kbps (SCORING.md, "Ie").
 */
export function equipmentImpairment(codec: string, bitrateBps: number | null): number {
  const c = codec.toLowerCase()
  if (c === 'pcmu' || c === 'pcma' || c === 'g722') return 0
  if (bitrateBps === null || !(bitrateBps > 0)) return OPUS_IE_UNKNOWN_RATE
  const kbps = bitrateBps / 1000
  const pts = OPUS_IE
  if (kbps <= (pts[0] as [number, number])[0]) return (pts[0] as [number, number])[1]
  for (let i = 1; i < pts.length; i++) {
    const [x1, y1] = pts[i] as [number, number]
    const [x0, y0] = pts[i - 1] as [number, number]
    if (kbps <= x1) return y0 + ((y1 - y0) * (kbps - x0)) / (x1 - x0)
  }
  return 0
}
// [kbps, Ie]: G.723.1 5.3k = 19, G.723.1 6.3k = 15, G.729 8k = 10, AMR/GSM-EFR 12.2k = 5, then 0 at 24k.
const OPUS_IE: ReadonlyArray<[number, number]> = [
  [5.3, 19],
  [6.3, 15],
  [8, 10],
  [12.2, 5],
  [24, 0],
]
/** Ie when the bitrate is unknown: that of a typical 32 kbps WebRTC Opus stream. */
const OPUS_IE_UNKNOWN_RATE = 0

export interface AudioInputs {
  codec: string
  /** The codec's rate (bps): the 90th percentile of the media bitrate, so DTX silences do not lower it. */
  bitrateBps: number | null
  rttMs: number | null
  /** Receiver's jitter-buffer delay; when unknown it is estimated from `jitterMs`. */
  jbMs: number | null
  jitterMs: number | null
  /** Fraction 0..1 of packets lost (or concealed, whichever is larger). */
  loss: number | null
  /** Forward error correction in use: Bpl 20 instead of 10. Default: true for Opus (RFC 7587 useinbandfec). */
  fec?: boolean
}

export interface EModelResult {
  /** One-way mouth-to-ear delay, ms. */
  d: number
  /** Delay impairment. */
  id: number
  ie: number
  bpl: number
  /** Packet loss, percent. */
  ppl: number
  ieEff: number
  r: number
  mos: number
}

/** The jitter buffer assumed when the receiver did not report one: one 20 ms packet plus twice the jitter. */
export const estimateJitterBufferMs = (jitterMs: number | null): number =>
  JB_BASE_MS + JB_JITTER_FACTOR * (jitterMs ?? 0)
const JB_BASE_MS = 20
const JB_JITTER_FACTOR = 2

/** G.107 §B: MOS from R (R clamped to 0..100 first), clamped to 1..4.5. */
export function mosFromR(r: number): number {
  const R = clamp(r, 0, 100)
  return clamp(1 + 0.035 * R + 7e-6 * R * (R - 60) * (100 - R), 1, 4.5)
}

/** Delay impairment Id for one-way delay `d` ms: 0.03·d + 0.1·max(0, d − 150) (not the buggy 0.1·d − 150). */
export const delayImpairment = (d: number): number => 0.03 * d + 0.1 * Math.max(0, d - 150)

// One Opus/G.711 packet of packetisation delay before the network, ms.
const PACKET_MS = 20

/** The E-model's one-way delay d, ms: packetisation + jitter buffer (else its estimate) + RTT/2. */
export function oneWayDelayMs(jbMs: number | null, jitterMs: number | null, rttMs: number | null): number {
  const jb = jbMs ?? estimateJitterBufferMs(jitterMs)
  return PACKET_MS + Math.max(0, jb) + Math.max(0, rttMs ?? 0) / 2
}

/** oneWayDelayMs as a ClickHouse expression over three nullable column expressions. Constants only. */
export function oneWayDelaySql(jb: string, jitter: string, rtt: string): string {
  return `(${PACKET_MS} + greatest(0, ifNull(${jb}, ${JB_BASE_MS} + ${JB_JITTER_FACTOR} * ifNull(${jitter}, 0))) + greatest(0, ifNull(${rtt}, 0)) / 2)`
}

/** The E-model for one audio leg. Missing inputs count as 0 (no delay, no loss). Never throws. */
export function eModel(inp: AudioInputs): EModelResult {
  const d = oneWayDelayMs(inp.jbMs, inp.jitterMs, inp.rttMs)
  const id = delayImpairment(d)
  const ie = equipmentImpairment(inp.codec, inp.bitrateBps)
  const fec = inp.fec ?? inp.codec.toLowerCase() === 'opus'
  const bpl = fec ? 20 : 10
  const ppl = clamp(inp.loss ?? 0, 0, 1) * 100
  const ieEff = ie + ((100 - ie) * ppl) / (ppl + bpl)
  const r = clamp(93.2 - id - ieEff, 0, 100)
  return { d, id, ie, bpl, ppl, ieEff, r, mos: mosFromR(r) }
}

/** MOS 1..4.5 mapped linearly onto 0..10. */
export const mosToScore = (mos: number): number => clamp(((mos - 1) / 3.5) * 10, 0, 10)

// ---------------------------------------------------------------------------------------------------
// Video: 10 minus capped penalties.

export const PENALTIES = [
  'bitrate',
  'resolution',
  'framerate',
  'variance',
  'freezes',
  'loss',
  'delay',
  'limitation',
  'qp',
  'dropped',
] as const
export type Penalty = (typeof PENALTIES)[number]
export type Penalties = Record<Penalty, number>

/** Most points each penalty can take off (they sum to more than 10: a bad enough call reaches 0). */
export const PENALTY_CAPS: Readonly<Penalties> = {
  bitrate: 2,
  resolution: 2,
  framerate: 1.5,
  variance: 1,
  freezes: 2.5,
  loss: 1.5,
  delay: 1,
  limitation: 1,
  qp: 1,
  dropped: 0.5,
}

/**
 * Target bitrate (kbps) per resolution: libwebrtc's `kSimulcastFormats` (video/config/simulcast.cc),
 * the bitrate its allocator aims for at that size. Interpolated linearly in pixels between rows.
 */
export const TARGET_KBPS: ReadonlyArray<[pixels: number, kbps: number]> = [
  [0, 150],
  [320 * 180, 150],
  [480 * 270, 350],
  [640 * 360, 500],
  [960 * 540, 900],
  [1280 * 720, 2500],
  [1920 * 1080, 4000],
]

/** Target bitrate in bps for a frame size; the 1080p target above 1080p. */
export function targetBitrateBps(width: number, height: number): number {
  const px = Math.max(0, width * height)
  const rows = TARGET_KBPS
  for (let i = 1; i < rows.length; i++) {
    const [p1, k1] = rows[i] as [number, number]
    const [p0, k0] = rows[i - 1] as [number, number]
    if (px <= p1) return 1000 * (k0 + ((k1 - k0) * (px - p0)) / (p1 - p0))
  }
  return 1000 * (rows[rows.length - 1] as [number, number])[1]
}

/**
 * The same interpolation as a ClickHouse expression over `px` (a pixel-count expression), so SQL and TS
 * cannot disagree. Built from constants only: no input reaches this text.
 */
export function targetBitrateSql(px: string): string {
  const parts: string[] = []
  for (let i = 1; i < TARGET_KBPS.length; i++) {
    const [p1, k1] = TARGET_KBPS[i] as [number, number]
    const [p0, k0] = TARGET_KBPS[i - 1] as [number, number]
    parts.push(`(${px}) <= ${p1}, ${1000 * k0} + ${1000 * (k1 - k0)} * ((${px}) - ${p0}) / ${p1 - p0}`)
  }
  return `multiIf(${parts.join(', ')}, ${1000 * (TARGET_KBPS[TARGET_KBPS.length - 1] as [number, number])[1]})`
}

/**
 * QP ranges per codec: libwebrtc's quality-scaler thresholds (low, high): above `high` the encoder itself
 * judges the picture too coarse and scales down. VP8 29/95 (libvpx_vp8_encoder.cc), H.264 24/37
 * (h264_encoder_impl.cc), VP9 149/205 (libvpx_vp9_encoder.cc), AV1 145/205 (libaom_av1_encoder.cc).
 */
export const QP_THRESHOLDS: Readonly<Record<string, [low: number, high: number]>> = {
  vp8: [29, 95],
  h264: [24, 37],
  vp9: [149, 205],
  av1: [145, 205],
}

export interface VideoInputs {
  codec: string
  /** Median media bitrate over active seconds, bps. */
  bitrateBps: number | null
  /** Median frame size over active seconds. */
  width: number
  height: number
  fps: number | null
  /**
   * The source's own frame rate (media-source framesPerSecond), when known: a camera delivering fewer
   * frames needs fewer bits, so the bitrate target scales with it (the frame rate is penalised once).
   */
  sourceFps?: number | null
  expectedFps: number
  /** Coefficient of variation σ/μ of the bitrate over steady segments (SCORING.md §2). */
  bitrateCv: number | null
  /** Share of time frozen, 0..1, and freezes per minute. */
  frozenShare: number | null
  freezesPerMin: number | null
  loss: number | null
  rttMs: number | null
  jbMs: number | null
  /** Share of active seconds limited by CPU or bandwidth in a way that cost quality, 0..1. */
  limitedShare: number | null
  qp: number | null
  droppedShare: number | null
}

/** Each penalty, already capped. Missing inputs cost nothing. Never throws. */
export function videoPenalties(v: VideoInputs): Penalties {
  const c = PENALTY_CAPS
  const lines = Math.min(v.width, v.height)
  const srcFps = v.sourceFps !== null && v.sourceFps !== undefined && v.sourceFps > 0 ? v.sourceFps : null
  const fpsScale = srcFps === null ? 1 : Math.min(1, srcFps / v.expectedFps)
  const target = lines > 0 ? targetBitrateBps(v.width, v.height) * fpsScale : null
  const thresholds = QP_THRESHOLDS[v.codec.toLowerCase()]
  const expected = v.expectedFps * 0.8
  const oneWay = v.rttMs === null && v.jbMs === null ? null : (v.rttMs ?? 0) / 2 + (v.jbMs ?? 0)
  const round = (x: number): number => Math.round(x * 1000) / 1000
  const p: Penalties = {
    // Full penalty at a fifth of the target, none from 80% of it. None either while the encoder's QP is
    // under libwebrtc's low quality-scaler threshold, where libwebrtc itself judges quality to spare and
    // scales up: the content needs fewer bits than the table (a still or simple picture, as a browser's
    // fake camera is), the stream is not starved (SCORING.md §3).
    bitrate:
      v.bitrateBps !== null && target && !(v.qp !== null && thresholds && v.qp < thresholds[0])
        ? c.bitrate * ramp(v.bitrateBps / target, 0.8, 0.2)
        : 0,
    // One point per halving of the lines below 720p.
    resolution: lines > 0 && lines < 720 ? Math.min(c.resolution, Math.log2(720 / lines)) : 0,
    framerate: v.fps !== null && v.fps < expected ? c.framerate * ramp(v.fps, expected, 5) : 0,
    variance: v.bitrateCv !== null ? c.variance * ramp(v.bitrateCv, 0.2, 0.6) : 0,
    freezes: Math.min(c.freezes, 12 * (v.frozenShare ?? 0) + 0.3 * (v.freezesPerMin ?? 0)),
    loss: v.loss !== null ? c.loss * ramp(v.loss, 0.005, 0.1) : 0,
    // ITU-T G.114: up to 150 ms one way is transparent, beyond 400 ms unacceptable.
    delay: oneWay !== null ? c.delay * ramp(oneWay, 150, 400) : 0,
    limitation: c.limitation * clamp(v.limitedShare ?? 0, 0, 1),
    qp:
      v.qp !== null && thresholds ? c.qp * ramp(v.qp, (thresholds[0] + thresholds[1]) / 2, thresholds[1]) : 0,
    dropped: v.droppedShare !== null ? c.dropped * ramp(v.droppedShare, 0.01, 0.1) : 0,
  }
  for (const k of PENALTIES) p[k] = round(p[k])
  return p
}

/** 10 minus the sum of penalties, floored at 0. */
export function videoScore(p: Penalties): number {
  let sum = 0
  for (const k of PENALTIES) sum += p[k]
  return clamp(10 - sum, 0, 10)
}

/** Weights of the overall score, and how far it may sit above the worse medium. */
export const AUDIO_WEIGHT = 0.4
export const VIDEO_WEIGHT = 0.6
export const WORST_MEDIUM_MARGIN = 2.5

/**
 * Overall 0–10 from the audio score (MOS mapped to 0–10) and the video score: their weighted mean, but
 * never more than 2.5 above the worse one (one unusable medium makes a poor call). Null when neither.
 */
export function overallScore(audio: number | null, video: number | null): number | null {
  if (audio === null) return video
  if (video === null) return audio
  const mean = AUDIO_WEIGHT * audio + VIDEO_WEIGHT * video
  return Math.min(mean, Math.min(audio, video) + WORST_MEDIUM_MARGIN)
}

/** A session (or peer) whose overall score is below this is "poor" (Prometheus share, API filters). */
export const POOR_SCORE = 6
