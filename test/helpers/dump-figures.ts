// Per-stream figures computed straight from a chrome://webrtc-internals dump's own series, as a check on
// the analyzer that shares none of its code (no importer, no derivation, no SQL): the webrtc-stats
// formulas applied to the raw counters between consecutive samples, over the samples' own times.
//
// A series `<id>-<field>` holds the last samples of one field, one per poll; all series of an object end
// on the same poll, so they are aligned at their ends. Times are the object's `<id>-timestamp` series
// when the export kept one, else spread evenly from the series' startTime to its endTime.

export interface Series {
  statsType?: string
  startTime?: string
  endTime?: string
  values?: string | unknown[]
}
export type PcStats = Record<string, Series>

export interface StreamFigures {
  /** Mean over active intervals of 8·Δ(bytes − retransmitted bytes)/Δt, bits/s. */
  bitrate: number
  /** Mean over active intervals of Δframes/Δt (framesSent or framesEncoded out, framesDecoded in). */
  fps: number | undefined
  /**
   * Inbound: ΣΔpacketsLost / Σ(ΔpacketsLost + ΔpacketsReceived). Outbound: the far end's reports, its
   * remote-inbound-rtp (found by `localId`) ΣΔpacketsLost / Σ(ΔpacketsLost + ΔpacketsSent).
   */
  loss: number | undefined
  activeIntervals: number
}

const parse = (s: Series | undefined): unknown[] | undefined => {
  if (!s) return undefined
  const v: unknown = typeof s.values === 'string' ? JSON.parse(s.values) : s.values
  return Array.isArray(v) ? v : undefined
}

/** The last value of one series, as written. */
export const lastValue = (stats: PcStats, id: string, field: string): unknown =>
  parse(stats[`${id}-${field}`])?.at(-1)

/** The numbers of one series (strings of digits as numbers), or undefined when it is absent. */
export function numbers(stats: PcStats, id: string, field: string): number[] | undefined {
  const v = parse(stats[`${id}-${field}`])
  return v?.map((x) => (typeof x === 'string' ? Number(x) : (x as number)))
}

/** Sample times (epoch ms) of `n` samples of object `id` ending on its last poll. */
export function times(stats: PcStats, id: string, field: string, n: number): number[] {
  const own = numbers(stats, id, 'timestamp')
  if (own && own.length >= n) return own.slice(own.length - n)
  const s = stats[`${id}-${field}`] as Series
  const start = Date.parse(s.startTime ?? '')
  const end = Date.parse(s.endTime ?? '')
  const len = (parse(s) as unknown[]).length
  const step = len > 1 ? (end - start) / (len - 1) : 0
  return Array.from({ length: n }, (_, i) => start + (len - n + i) * step)
}

const tail = <T>(v: T[] | undefined, n: number): T[] | undefined => v?.slice(v.length - n)

/**
 * The packetsLost series of the remote-inbound-rtp whose localId is `id`, aligned at its end with the
 * last `n` samples of `id` (NaN where it has none: its first report came after the first polls).
 */
function remoteLost(stats: PcStats, id: string, n: number): number[] | undefined {
  const remote = Object.keys(stats)
    .filter((k) => k.endsWith('-localId'))
    .map((k) => k.slice(0, k.lastIndexOf('-')))
    .find((r) => lastValue(stats, r, 'localId') === id)
  const lost = remote ? numbers(stats, remote, 'packetsLost') : undefined
  if (!lost) return undefined
  const m = Math.min(n, lost.length)
  return [...Array.from({ length: n - m }, () => NaN), ...lost.slice(lost.length - m)]
}

/** Figures of one inbound-rtp or outbound-rtp object; undefined when its byte series is absent. */
export function streamFigures(
  stats: PcStats,
  id: string,
  direction: 'inbound' | 'outbound',
): StreamFigures | undefined {
  const out = direction === 'outbound'
  const bytes0 = numbers(stats, id, out ? 'bytesSent' : 'bytesReceived')
  const packets0 = numbers(stats, id, out ? 'packetsSent' : 'packetsReceived')
  if (!bytes0 || !packets0) return undefined
  const frames0 = out
    ? (numbers(stats, id, 'framesSent') ?? numbers(stats, id, 'framesEncoded'))
    : numbers(stats, id, 'framesDecoded')
  const n = Math.min(bytes0.length, packets0.length, frames0?.length ?? Infinity)
  const bytes = tail(bytes0, n) as number[]
  const packets = tail(packets0, n) as number[]
  const frames = tail(frames0, n)
  const rtx = tail(numbers(stats, id, out ? 'retransmittedBytesSent' : 'retransmittedBytesReceived'), n)
  const lost = out ? remoteLost(stats, id, n) : tail(numbers(stats, id, 'packetsLost'), n)
  const activeFlag = tail(parse(stats[`${id}-active`]) as boolean[] | undefined, n)
  const t = times(stats, id, out ? 'bytesSent' : 'bytesReceived', n)
  let bitSum = 0
  let fpsSum = 0
  let active = 0
  let lostSum = 0
  let lostDen = 0
  for (let i = 1; i < n; i++) {
    const dt = ((t[i] as number) - (t[i - 1] as number)) / 1000
    const d = (v: number[] | undefined): number | undefined =>
      v && v.length === n ? (v[i] as number) - (v[i - 1] as number) : undefined
    const dBytes = d(bytes) as number
    const dPackets = d(packets) as number
    if (dt <= 0 || dBytes < 0 || dPackets < 0) continue
    const dLost = d(lost)
    if (dLost !== undefined && dLost >= 0) {
      lostSum += dLost
      lostDen += dLost + dPackets
    }
    if (dPackets === 0 || activeFlag?.[i] === false) continue
    active++
    bitSum += (8 * Math.max(0, dBytes - Math.max(0, d(rtx) ?? 0))) / dt
    fpsSum += (d(frames) ?? 0) / dt
  }
  return {
    bitrate: active > 0 ? bitSum / active : 0,
    fps: frames && active > 0 ? fpsSum / active : undefined,
    loss: lost && lostDen > 0 ? lostSum / lostDen : undefined,
    activeIntervals: active,
  }
}

/**
 * Mean RTT in ms of the pc's selected candidate pair (the transport's selectedCandidatePairId at the end
 * of the dump): the mean of its currentRoundTripTime samples. Undefined when the dump has none.
 */
export function pairRttMs(stats: PcStats): number | undefined {
  const selected = Object.keys(stats)
    .filter((k) => k.endsWith('-selectedCandidatePairId'))
    .map((k) => parse(stats[k])?.at(-1))
    .find((v): v is string => typeof v === 'string')
  const rtt = selected ? numbers(stats, selected, 'currentRoundTripTime') : undefined
  if (!rtt || rtt.length === 0) return undefined
  return (1000 * rtt.reduce((a, b) => a + b, 0)) / rtt.length
}
