// CPU and bandwidth limitation of one outbound video stream, only where it cost quality against what the
// source delivered and, for bandwidth, only with the sender's own evidence (SCORING.md §2, §6). Pure.
import { issue, persistentEpisodes, r1, r3, spanOf, stats } from './episodes.ts'
import type { DetectOptions, Issue, StreamSecond, StreamSeries, StreamSpan } from './episodes.ts'
import { targetBitrateBps } from './score.ts'
import {
  AVAILABLE_HEADROOM,
  LIMIT_LOSS,
  LIMIT_RESTART_MS,
  LIMIT_RTT_GROWTH_MS,
  LIMIT_STARTUP_MS,
} from './thresholds.ts'

/**
 * What the source delivered in a second: its frame rate (capped at the expected rate) and frame height,
 * and the bitrate that size needs at the expected rate (its §3 target).
 */
export function sourceOf(
  r: StreamSecond,
  span: StreamSpan,
  expectedFps: number,
): { fps: number; height: number; targetBps: number } {
  // 0 is a source that delivered nothing (a stopped camera): nothing was withheld from the viewer.
  const fps = r.source_fps !== null && r.source_fps !== undefined && r.source_fps >= 0 ? r.source_fps : null
  const sized = (r.source_height ?? 0) > 0 && (r.source_width ?? 0) > 0
  // Without a media-source size (older browsers, synthetic sources): the stream's largest frame, 16:9.
  const h = span.maxHeight
  return {
    fps: Math.min(expectedFps, fps ?? expectedFps),
    height: sized ? (r.source_height as number) : h,
    targetBps: sized
      ? targetBitrateBps(r.source_width as number, r.source_height as number)
      : targetBitrateBps((h * 16) / 9, h),
  }
}

/** Bitrate (bps) the source needs: the target of its size, scaled by its frame rate below the expected. */
export function sourceNeedBps(src: { fps: number; targetBps: number }, expectedFps: number): number {
  return src.targetBps * Math.min(1, src.fps / expectedFps)
}

/** Did limitation cost this second anything the source could have given: smaller frames, fewer fps, fewer bits? */
export function isCostly(r: StreamSecond, span: StreamSpan, expectedFps: number): boolean {
  const src = sourceOf(r, span, expectedFps)
  return (
    (r.height > 0 && r.height < src.height) ||
    (r.fps !== null && r.fps < 0.8 * src.fps) ||
    (r.bitrate_bps !== null &&
      r.height > 0 &&
      r.bitrate_bps < 0.8 * targetBitrateBps(r.width, r.height) * Math.min(1, src.fps / expectedFps))
  )
}

/**
 * The sender's own evidence that the network limits it: its bandwidth estimate near or below what the
 * source needs, loss at the far end, or RTT grown well above the stream's lowest.
 */
export function hasBandwidthEvidence(r: StreamSecond, span: StreamSpan, expectedFps: number): boolean {
  const need = sourceNeedBps(sourceOf(r, span, expectedFps), expectedFps)
  const avail = r.available_out_bps
  if (avail !== null && avail !== undefined && avail <= AVAILABLE_HEADROOM * need) return true
  if ((r.loss_ratio ?? 0) >= LIMIT_LOSS) return true
  const base = span.minRttMs
  return base !== null && base !== undefined && r.rtt_ms !== null && r.rtt_ms >= base + LIMIT_RTT_GROWTH_MS
}

/**
 * Times (ms) of the seconds whose source delivered nothing (a stopped camera: media-source fps 0) or that
 * sent nothing (inactive at a measured 0 bps; a stream's first second has no rate and is not a stop). Not
 * an encoded rate of 0: a starved encoder may send no frame for a second.
 */
export const sourceStops = (rows: readonly StreamSecond[]): number[] =>
  rows.filter((r) => r.source_fps === 0 || (r.active !== 1 && r.bitrate_bps === 0)).map((r) => r.t)

/**
 * The reason a second counts as limited, or undefined (not limited, free, start-up or no evidence).
 * Start-up is the stream's first LIMIT_STARTUP_MS and LIMIT_RESTART_MS after each of `stops`: an encoder
 * that restarts after its source stopped ramps up again from a low rate, which is not the network.
 */
export function limitedBy(
  r: StreamSecond,
  span: StreamSpan,
  expectedFps: number,
  stops: readonly number[] = [],
): 'bandwidth' | 'cpu' | undefined {
  if (r.active !== 1 || r.t < span.start + LIMIT_STARTUP_MS) return undefined
  if (stops.some((z) => r.t > z && r.t - z < LIMIT_RESTART_MS)) return undefined
  const bw = r.limit_bandwidth_share ?? (r.limitation === 'bandwidth' ? 1 : 0)
  const cpu = r.limit_cpu_share ?? (r.limitation === 'cpu' ? 1 : 0)
  if (Math.max(bw, cpu) < 0.5 || !isCostly(r, span, expectedFps)) return undefined
  // CPU: libwebrtc's own overuse detector is the sender's evidence (webrtc-stats §7.9 "cpu").
  if (cpu > bw) return 'cpu'
  return hasBandwidthEvidence(r, span, expectedFps) ? 'bandwidth' : undefined
}

/** Limitation issues of an outbound video stream, 3 of 5 seconds, typed by the majority reason. */
export function limitationIssues(s: StreamSeries, opts: DetectOptions): Issue[] {
  const span = spanOf(s)
  const rows = s.rows
  const out: Issue[] = []
  const values = (hits: number[], f: (r: StreamSecond) => number | null | undefined): number[] =>
    hits.map((i) => f(rows[i] as StreamSecond)).filter((v): v is number => v !== null && v !== undefined)
  const stops = sourceStops(rows)
  const reason = rows.map((r) => limitedBy(r, span, opts.expectedFps, stops))
  const idx = new Map(rows.map((r, i) => [r, i]))
  for (const e of persistentEpisodes(rows, (r) => reason[idx.get(r) as number] !== undefined)) {
    const cpuN = e.hits.filter((i) => reason[i] === 'cpu').length
    const type = cpuN > e.hits.length / 2 ? 'cpu_limitation' : 'bandwidth_limitation'
    const fps = stats(values(e.hits, (r) => r.fps))
    const br = stats(values(e.hits, (r) => r.bitrate_bps))
    const h = stats(values(e.hits, (r) => r.height))
    const avail = values(e.hits, (r) => r.available_out_bps)
    const srcFps = stats(values(e.hits, (r) => ((r.source_fps ?? 0) > 0 ? r.source_fps : null)))
    const first = rows[e.from] as StreamSecond
    const src = sourceOf(first, span, opts.expectedFps)
    const need = sourceNeedBps(src, opts.expectedFps)
    const evidence: Record<string, number> = {
      seconds: e.hits.length,
      mean_bitrate_bps: Math.round(br.mean),
      mean_fps: r1(fps.mean),
      mean_height: Math.round(h.mean),
      source_height: src.height,
      need_bps: Math.round(need),
      mean_loss: r3(stats(values(e.hits, (r) => r.loss_ratio)).mean),
      max_rtt_ms: r1(stats(values(e.hits, (r) => r.rtt_ms)).max),
    }
    if (srcFps.mean > 0) evidence.source_fps = r1(srcFps.mean)
    if (avail.length) evidence.available_out_bps = Math.round(stats(avail).mean)
    out.push(
      issue(
        s,
        type,
        fps.mean < 10 ? 'critical' : 'warning',
        first.t,
        (rows[e.to] as StreamSecond).t,
        evidence,
        `video limited by ${type === 'cpu_limitation' ? 'CPU' : 'bandwidth'} for ${e.hits.length} s (${Math.round(br.mean / 1000)} kbps, ${r1(fps.mean)} fps, ${Math.round(h.mean)}p` +
          (avail.length ? `; ${Math.round(stats(avail).mean / 1000)} kbps available` : '') +
          `, source needs ${Math.round(need / 1000)} kbps)`,
      ),
    )
  }
  return out
}
