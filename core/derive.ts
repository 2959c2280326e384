// Per-second metrics from two consecutive decoded reports (DESIGN.md "Metrics and scores").
// Pure: state and the previous snapshot in, rows and the next snapshot out.
//
// Rules, applied to every rate: Δt comes from the stats objects' own timestamps; a missing previous
// sample, Δt <= 0 or a counter that went down (a reset: new ssrc, ICE restart, track replaced) gives
// null for that second, never a clamped zero. Field names follow W3C webrtc-stats (§7 RTP stats).
import type { StatsObject, StatsState } from './delta.ts'
import { boundStream, boundTransport } from './plausible.ts'
import { mergeSimulcast } from './simulcast.ts'

/** One row of `stream_seconds` without the identity columns. The one camelCase → snake_case mapping. */
export interface StreamMetrics {
  stream_id: string
  direction: 'inbound' | 'outbound'
  kind: 'audio' | 'video'
  ssrc: number
  mid: string
  codec: string
  interval_ms: number
  active: 0 | 1
  bitrate_bps: number | null
  header_bitrate_bps: number | null
  retransmit_bitrate_bps: number | null
  target_bitrate_bps: number | null
  packets_per_s: number | null
  packets_lost: number | null
  loss_ratio: number | null
  jitter_ms: number | null
  rtt_ms: number | null
  fps: number | null
  width: number
  height: number
  frames_dropped: number | null
  freeze_count: number | null
  frozen_share: number | null
  qp_avg: number | null
  nack_per_s: number | null
  pli_per_s: number | null
  fir_per_s: number | null
  keyframes: number | null
  limitation: string
  limit_bandwidth_share: number | null
  limit_cpu_share: number | null
  limit_other_share: number | null
  jb_delay_ms: number | null
  concealment_ratio: number | null
  audio_level: number | null
  /** Inbound video: pauses (no frame for ≥ 5 s, webrtc-stats §7.6) and the share of the second paused. */
  pause_count: number | null
  paused_share: number | null
  /** Outbound video: the media-source's frame rate and size (webrtc-stats §7.13), 0 when unknown. */
  source_fps: number | null
  source_width: number
  source_height: number
  /** Outbound: the sender's bandwidth estimate for the pc (selected candidate pair), bps. */
  available_out_bps: number | null
  /** Outbound video: the encoding's `rid` (simulcast) and how many of the source's encodings sent (simulcast.ts). */
  rid: string
  layers: number
}

/** One row of `transport_seconds` without the identity columns. */
export interface TransportMetrics {
  pair_id: string
  state: string
  interval_ms: number
  rtt_ms: number | null
  available_out_bps: number | null
  available_in_bps: number | null
  send_bps: number | null
  recv_bps: number | null
  local_type: string
  remote_type: string
  protocol: string
  relay_protocol: string
  network_type: string
}

/** What derivation remembers between seconds: a copy of each object it reads counters from. */
export type Snapshot = Map<string, { ts: number; obj: StatsObject }>

export interface Derived {
  streams: StreamMetrics[]
  transport: TransportMetrics | undefined
  snapshot: Snapshot
  /** Columns whose value was physically implausible and was dropped (core/plausible.ts), one per value. */
  implausible: string[]
}

const SNAPSHOT_TYPES = new Set([
  'inbound-rtp',
  'outbound-rtp',
  'remote-inbound-rtp',
  'remote-outbound-rtp',
  'candidate-pair',
  'track',
])

const num = (o: StatsObject | undefined, k: string): number | undefined => {
  const v = o?.[k]
  return typeof v === 'number' && Number.isFinite(v) ? v : undefined
}
const str = (o: StatsObject | undefined, k: string): string | undefined => {
  const v = o?.[k]
  return typeof v === 'string' ? v : undefined
}

/** Δ of a counter between two samples; undefined when either is missing or it went down (a reset). */
function delta(cur: StatsObject | undefined, prev: StatsObject | undefined, k: string): number | undefined {
  const a = num(cur, k)
  const b = num(prev, k)
  if (a === undefined || b === undefined || a < b) return undefined
  return a - b
}

const round = (v: number | undefined, digits = 3): number | null => {
  if (v === undefined || !Number.isFinite(v)) return null
  const f = 10 ** digits
  return Math.round(v * f) / f
}

/** A pair of samples of one stats object, with Δt in seconds (≤ 0 or unknown makes every rate null). */
interface Pair {
  cur: StatsObject
  prev: StatsObject | undefined
  dt: number
}

function pairOf(
  state: StatsState,
  snap: Snapshot | undefined,
  id: string | undefined,
  ts: number,
): Pair | undefined {
  if (!id) return undefined
  const cur = state.get(id)
  if (!cur) return undefined
  const p = snap?.get(id)
  const curTs = num(cur, 'timestamp') ?? ts
  return { cur, prev: p?.obj, dt: p ? (curTs - p.ts) / 1000 : 0 }
}

/** Rate per second of counter `k`, or undefined (missing, reset, Δt ≤ 0). */
function rate(p: Pair | undefined, k: string): number | undefined {
  if (!p || p.dt <= 0) return undefined
  const d = delta(p.cur, p.prev, k)
  return d === undefined ? undefined : d / p.dt
}

function ratio(p: Pair | undefined, num_: string, den: string, scale = 1): number | undefined {
  if (!p || p.dt <= 0) return undefined
  const n = delta(p.cur, p.prev, num_)
  const d = delta(p.cur, p.prev, den)
  if (n === undefined || d === undefined || d === 0) return undefined
  return (n / d) * scale
}

function codecName(state: StatsState, codecId: string | undefined): string {
  const mime = str(state.get(codecId ?? ''), 'mimeType')
  return mime ? (mime.split('/')[1] ?? mime) : ''
}

/** RTT from a remote-* object: ΔtotalRoundTripTime/ΔroundTripTimeMeasurements, in ms. */
function remoteRtt(p: Pair | undefined): number | undefined {
  if (!p) return undefined
  const avg = ratio({ ...p, dt: 1 }, 'totalRoundTripTime', 'roundTripTimeMeasurements', 1000)
  return avg
}

/**
 * Outbound loss without fractionLost (Chrome 86, test/fixtures/dumps, has only packetsLost on remote-inbound-rtp): the
 * far end's newly reported lost packets over them plus the packets sent in the same poll interval. A
 * poll without a new receiver report adds no loss; undefined on a reset or when nothing was sent.
 */
function lostShare(remote: Pair, p: Pair): number | undefined {
  const lost = delta(remote.cur, remote.prev, 'packetsLost')
  const sent = delta(p.cur, p.prev, 'packetsSent')
  if (lost === undefined || sent === undefined || lost + sent === 0) return undefined
  return lost / (lost + sent)
}

function outbound(
  state: StatsState,
  snap: Snapshot | undefined,
  id: string,
  obj: StatsObject,
  ts: number,
  pairRttMs: number | undefined,
  availableOutBps: number | null,
): StreamMetrics {
  const p = pairOf(state, snap, id, ts) as Pair
  const kind = str(obj, 'kind') === 'audio' ? 'audio' : 'video'
  // The source's own rate and size: media-source framesPerSecond, width, height; for audio its level
  // (webrtc-stats §7.13), which tells a silent microphone from speech.
  const source = state.get(str(obj, 'mediaSourceId') ?? '')
  const remoteId = str(obj, 'remoteId')
  const remote = pairOf(state, snap, remoteId, ts)
  const bytes = rate(p, 'bytesSent')
  const rtx = rate(p, 'retransmittedBytesSent') ?? 0
  const durations = obj.qualityLimitationDurations
  const prevDurations = p.prev?.qualityLimitationDurations
  const share = (reason: string): number | undefined => {
    if (p.dt <= 0 || typeof durations !== 'object' || typeof prevDurations !== 'object') return undefined
    const d = (durations[reason] ?? 0) - (prevDurations[reason] ?? 0)
    return d < 0 ? undefined : Math.min(1, d / p.dt)
  }
  const framesKey = num(obj, 'framesSent') !== undefined ? 'framesSent' : 'framesEncoded'
  const packets = rate(p, 'packetsSent')
  const remoteChanged =
    remote?.prev !== undefined && num(remote.cur, 'timestamp') !== num(remote.prev, 'timestamp')
  return {
    stream_id: id,
    direction: 'outbound',
    kind,
    ssrc: num(obj, 'ssrc') ?? 0,
    mid: str(obj, 'mid') ?? '',
    codec: codecName(state, str(obj, 'codecId')),
    interval_ms: Math.round(p.dt * 1000),
    active: obj.active !== false && (packets ?? 0) > 0 ? 1 : 0,
    // webrtc-stats §7.9: bytesSent counts retransmissions too; media bitrate excludes them.
    bitrate_bps: round(bytes === undefined ? undefined : 8 * Math.max(0, bytes - rtx), 0),
    header_bitrate_bps: round(
      mapDef(rate(p, 'headerBytesSent'), (v) => 8 * v),
      0,
    ),
    retransmit_bitrate_bps: round(
      mapDef(rate(p, 'retransmittedBytesSent'), (v) => 8 * v),
      0,
    ),
    target_bitrate_bps: round(num(obj, 'targetBitrate'), 0),
    packets_per_s: round(packets, 2),
    // Outbound loss is what the far end reported in RTCP RR (remote-inbound-rtp, webrtc-stats §7.10):
    // fractionLost is the receiver's own loss over its last report interval (RFC 3550 §6.4.1).
    packets_lost: remote ? round(delta(remote.cur, remote.prev, 'packetsLost'), 0) : null,
    loss_ratio: remote ? round(num(remote.cur, 'fractionLost') ?? lostShare(remote, p), 4) : null,
    jitter_ms: round(
      mapDef(num(remote?.cur, 'jitter'), (v) => v * 1000),
      2,
    ),
    rtt_ms: round((remoteChanged ? remoteRtt(remote) : undefined) ?? pairRttMs, 1),
    fps: kind === 'video' ? round(rate(p, framesKey), 2) : null,
    width: num(obj, 'frameWidth') ?? 0,
    height: num(obj, 'frameHeight') ?? 0,
    frames_dropped: null,
    freeze_count: null,
    frozen_share: null,
    qp_avg: round(ratio(p, 'qpSum', 'framesEncoded'), 2),
    nack_per_s: round(rate(p, 'nackCount'), 2),
    pli_per_s: round(rate(p, 'pliCount'), 2),
    fir_per_s: round(rate(p, 'firCount'), 2),
    keyframes: round(delta(p.cur, p.prev, 'keyFramesEncoded'), 0),
    limitation: str(obj, 'qualityLimitationReason') ?? '',
    limit_bandwidth_share: round(share('bandwidth'), 3),
    limit_cpu_share: round(share('cpu'), 3),
    limit_other_share: round(share('other'), 3),
    jb_delay_ms: null,
    concealment_ratio: null,
    audio_level: kind === 'audio' ? round(num(source, 'audioLevel'), 4) : null,
    pause_count: null,
    paused_share: null,
    source_fps: kind === 'video' ? round(num(source, 'framesPerSecond'), 2) : null,
    source_width: kind === 'video' ? (num(source, 'width') ?? 0) : 0,
    source_height: kind === 'video' ? (num(source, 'height') ?? 0) : 0,
    available_out_bps: availableOutBps,
    // RFC 8851 §10: a rid is at most 16 characters (the RTP header extension's limit); clients send any.
    rid: (str(obj, 'rid') ?? '').slice(0, 16),
    layers: kind === 'video' ? (obj.active !== false && (packets ?? 0) > 0 ? 1 : 0) : 0,
  }
}

function inbound(
  state: StatsState,
  snap: Snapshot | undefined,
  id: string,
  obj: StatsObject,
  ts: number,
  pairRttMs: number | undefined,
): StreamMetrics {
  const p = pairOf(state, snap, id, ts) as Pair
  const kind = str(obj, 'kind') === 'audio' ? 'audio' : 'video'
  // libwebrtc before M110 keeps freeze and some audio counters on the (deprecated) track object.
  const track = pairOf(state, snap, str(obj, 'trackId'), ts)
  const from = (k: string): Pair | undefined => (num(obj, k) !== undefined ? p : track)
  const lost = delta(p.cur, p.prev, 'packetsLost')
  const received = delta(p.cur, p.prev, 'packetsReceived')
  const remote = pairOf(state, snap, str(obj, 'remoteId'), ts)
  const remoteChanged =
    remote?.prev !== undefined && num(remote.cur, 'timestamp') !== num(remote.prev, 'timestamp')
  const bytes = rate(p, 'bytesReceived')
  const rtx = rate(p, 'retransmittedBytesReceived') ?? 0
  const freezePair = from('totalFreezesDuration')
  const frozen = rate(freezePair, 'totalFreezesDuration')
  const pausePair = from('totalPausesDuration')
  const paused = rate(pausePair, 'totalPausesDuration')
  const packets = rate(p, 'packetsReceived')
  return {
    stream_id: id,
    direction: 'inbound',
    kind,
    ssrc: num(obj, 'ssrc') ?? 0,
    mid: str(obj, 'mid') ?? '',
    codec: codecName(state, str(obj, 'codecId')),
    interval_ms: Math.round(p.dt * 1000),
    active: (packets ?? 0) > 0 ? 1 : 0,
    bitrate_bps: round(bytes === undefined ? undefined : 8 * Math.max(0, bytes - rtx), 0),
    header_bitrate_bps: round(
      mapDef(rate(p, 'headerBytesReceived'), (v) => 8 * v),
      0,
    ),
    retransmit_bitrate_bps: round(
      mapDef(rate(p, 'retransmittedBytesReceived'), (v) => 8 * v),
      0,
    ),
    target_bitrate_bps: null,
    packets_per_s: round(packets, 2),
    packets_lost: p.dt > 0 ? round(lost, 0) : null,
    loss_ratio:
      p.dt > 0 && lost !== undefined && received !== undefined && lost + received > 0
        ? round(lost / (lost + received), 4)
        : null,
    jitter_ms: round(
      mapDef(num(obj, 'jitter'), (v) => v * 1000),
      2,
    ),
    rtt_ms: round((remoteChanged ? remoteRtt(remote) : undefined) ?? pairRttMs, 1),
    fps: kind === 'video' ? round(rate(p, 'framesDecoded'), 2) : null,
    width: num(obj, 'frameWidth') ?? 0,
    height: num(obj, 'frameHeight') ?? 0,
    frames_dropped: p.dt > 0 ? round(delta(p.cur, p.prev, 'framesDropped'), 0) : null,
    freeze_count:
      freezePair && freezePair.dt > 0
        ? round(delta(freezePair.cur, freezePair.prev, 'freezeCount'), 0)
        : null,
    frozen_share: round(
      mapDef(frozen, (v) => Math.min(1, v)),
      3,
    ),
    qp_avg: round(ratio(p, 'qpSum', 'framesDecoded'), 2),
    nack_per_s: round(rate(p, 'nackCount'), 2),
    pli_per_s: round(rate(p, 'pliCount'), 2),
    fir_per_s: round(rate(p, 'firCount'), 2),
    keyframes: p.dt > 0 ? round(delta(p.cur, p.prev, 'keyFramesDecoded'), 0) : null,
    limitation: '',
    limit_bandwidth_share: null,
    limit_cpu_share: null,
    limit_other_share: null,
    // webrtc-stats §7.7: jitterBufferDelay is in seconds summed over emitted samples/frames.
    jb_delay_ms: round(
      ratio(from('jitterBufferDelay'), 'jitterBufferDelay', 'jitterBufferEmittedCount', 1000),
      1,
    ),
    concealment_ratio:
      kind === 'audio'
        ? round(ratio(from('concealedSamples'), 'concealedSamples', 'totalSamplesReceived'), 4)
        : null,
    audio_level: kind === 'audio' ? round(num(obj, 'audioLevel'), 4) : null,
    // Like totalFreezesDuration, a pause is added whole when the next frame arrives (capped per second).
    pause_count:
      kind === 'video' && pausePair && pausePair.dt > 0
        ? round(delta(pausePair.cur, pausePair.prev, 'pauseCount'), 0)
        : null,
    paused_share:
      kind === 'video'
        ? round(
            mapDef(paused, (v) => Math.min(1, v)),
            3,
          )
        : null,
    source_fps: null,
    source_width: 0,
    source_height: 0,
    available_out_bps: null,
    rid: '',
    layers: 0,
  }
}

function mapDef(v: number | undefined, f: (v: number) => number): number | undefined {
  return v === undefined ? undefined : f(v)
}

/** The selected candidate pair: the transport's selectedCandidatePairId, else a nominated succeeded pair. */
function selectedPair(state: StatsState): string | undefined {
  let nominated: string | undefined
  for (const [id, obj] of state) {
    if (obj.type === 'transport') {
      const sel = str(obj, 'selectedCandidatePairId')
      if (sel && state.has(sel)) return sel
    } else if (obj.type === 'candidate-pair' && obj.nominated === true && obj.state === 'succeeded')
      nominated ??= id
  }
  return nominated
}

function transport(
  state: StatsState,
  snap: Snapshot | undefined,
  pairId: string,
  ts: number,
): TransportMetrics {
  const p = pairOf(state, snap, pairId, ts) as Pair
  const local = state.get(str(p.cur, 'localCandidateId') ?? '')
  const remote = state.get(str(p.cur, 'remoteCandidateId') ?? '')
  const cur = num(p.cur, 'currentRoundTripTime')
  // Firefox (ESR 153) keeps currentRoundTripTime and totalRoundTripTime at 0 on the selected pair while
  // responsesReceived grows (test/fixtures/firefox/): a zero sum over new responses is "not measured",
  // not a 0 ms round trip, so it stays null (the outbound streams' RTT from RTCP, remote-inbound-rtp, stands).
  const avg = ratio(p, 'totalRoundTripTime', 'responsesReceived', 1000)
  return {
    pair_id: pairId,
    state: str(p.cur, 'state') ?? '',
    interval_ms: Math.round(p.dt * 1000),
    // currentRoundTripTime is the latest STUN RTT (webrtc-stats §7.19); 0 before the first response.
    rtt_ms: round(
      cur !== undefined && cur > 0 ? cur * 1000 : avg !== undefined && avg > 0 ? avg : undefined,
      1,
    ),
    available_out_bps: round(num(p.cur, 'availableOutgoingBitrate'), 0),
    available_in_bps: round(num(p.cur, 'availableIncomingBitrate'), 0),
    send_bps: round(
      mapDef(rate(p, 'bytesSent'), (v) => 8 * v),
      0,
    ),
    recv_bps: round(
      mapDef(rate(p, 'bytesReceived'), (v) => 8 * v),
      0,
    ),
    local_type: str(local, 'candidateType') ?? '',
    remote_type: str(remote, 'candidateType') ?? '',
    protocol: str(local, 'protocol') ?? '',
    relay_protocol: str(local, 'relayProtocol') ?? '',
    network_type: str(local, 'networkType') ?? '',
  }
}

/**
 * Derives one second of metrics from the decoded `state` (report timestamp `ts`, ms) and the previous
 * second's snapshot. Never throws on odd input: unknown or missing fields become null columns, and
 * values beyond physical bounds become null too (listed in `implausible`).
 */
export function deriveSecond(state: StatsState, ts: number, prev: Snapshot | undefined): Derived {
  const pairId = selectedPair(state)
  const tr = pairId ? transport(state, prev, pairId, ts) : undefined
  const pairRtt = tr?.rtt_ms ?? undefined
  const streams: StreamMetrics[] = []
  const snapshot: Snapshot = new Map()
  for (const [id, obj] of state) {
    const type = obj.type
    if (type === 'outbound-rtp')
      streams.push(outbound(state, prev, id, obj, ts, pairRtt, tr?.available_out_bps ?? null))
    else if (type === 'inbound-rtp') streams.push(inbound(state, prev, id, obj, ts, pairRtt))
    if (typeof type === 'string' && SNAPSHOT_TYPES.has(type)) {
      snapshot.set(id, { ts: num(obj, 'timestamp') ?? ts, obj: { ...obj } })
    }
  }
  const merged = mergeSimulcast(streams)
  const implausible: string[] = []
  for (const s of merged) {
    boundStream(s, implausible)
    fitStream(s)
  }
  if (tr) {
    boundTransport(tr, implausible)
    tr.interval_ms = key(tr.interval_ms, U32)
  }
  return { streams: merged, transport: tr, snapshot, implausible }
}

// Column ranges (store/migrations/001_init.sql). Clients send any number; one value outside its column's
// type would make ClickHouse refuse the whole batch insert, everyone's rows with it (invariant 2). So a
// key column out of range becomes 0 and a metric out of range becomes null.
const U16 = 0xffff
const U32 = 0xffffffff
const I32 = 0x7fffffff
const fits = (v: number | null, lo: number, hi: number): v is number =>
  v !== null && Number.isInteger(v) && v >= lo && v <= hi
const key = (v: number, hi: number): number => (fits(v, 0, hi) ? v : 0)
const count = (v: number | null, lo: number, hi: number): number | null => (fits(v, lo, hi) ? v : null)

function fitStream(s: StreamMetrics): void {
  s.ssrc = key(s.ssrc, U32)
  s.width = key(s.width, U16)
  s.height = key(s.height, U16)
  s.interval_ms = key(s.interval_ms, U32)
  s.packets_lost = count(s.packets_lost, -I32 - 1, I32)
  s.frames_dropped = count(s.frames_dropped, 0, U32)
  s.freeze_count = count(s.freeze_count, 0, U32)
  s.pause_count = count(s.pause_count, 0, U32)
  s.source_width = key(s.source_width, U16)
  s.source_height = key(s.source_height, U16)
  s.keyframes = count(s.keyframes, 0, U32)
}
