// The analyzer's reads. Aggregation happens in ClickHouse (one pass per table for a whole batch of
// sessions); only the per-second series the detectors need cross into JS. Every value a caller supplies
// is a bound parameter. A frame resent after a reconnect counts once: the aggregates read without FINAL
// and re-read the rare session where a key repeats with it (latest.ts resendSafe); the rest use FINAL.
import type { Store } from '../store/index.ts'
import type { PeersRow } from '../store/peers.ts'
import type { StateEvent, StreamSecond, TransportSecond } from './issues.ts'
import { latestInserted, resendSafe } from './latest.ts'
import type { ResentCounted } from './latest.ts'
import { oneWayDelaySql, targetBitrateSql } from './score.ts'
import {
  AVAILABLE_HEADROOM,
  HIGH_JITTER_MS,
  HIGH_RTT_MS,
  LOSS,
  MOS_RISK_DELAY_MS,
  MOS_RISK_LOSS,
  NO_MEDIA_S,
  PERSIST_HITS,
  PERSIST_SECONDS,
  STORM_KEYFRAMES,
  LIMIT_LOSS,
  LOW_CODEC_RATE_BPS,
  LIMIT_RTT_GROWTH_MS,
  LIMIT_RESTART_MS,
  LIMIT_STARTUP_MS,
  SILENT_AUDIO_BPS,
  SILENT_AUDIO_LEVEL,
  STALL_FPS,
  STEADY_MIN_S,
  SWITCH_SETTLE_S,
  TEARDOWN_MS,
} from './thresholds.ts'

/** A batch of sessions of one app over a time range (epoch ms, inclusive). */
export interface Scope {
  app: string
  sessions: string[]
  from: number
  to: number
}

const WHERE = `app_id = {app:String} AND session_id IN {sessions:Array(String)}
  AND ts >= fromUnixTimestamp64Milli({from:Int64}) AND ts <= fromUnixTimestamp64Milli({to:Int64})`
const params = (s: Scope, extra: Record<string, unknown> = {}): Record<string, unknown> => ({
  app: s.app,
  sessions: s.sessions,
  from: Math.floor(s.from),
  to: Math.ceil(s.to),
  ...extra,
})

/**
 * SQL for "some `k` of the sorted epoch-ms array `f` lie within k − 0.5 s of `n` seconds": the
 * detectors' persistence rule (3 of 5 consecutive seconds, episodes.ts persistentEpisodes), evaluated in
 * SQL so that only streams where a detector can fire have their per-second rows read. Constants only.
 */
const persists = (f: string, k = PERSIST_HITS, n = PERSIST_SECONDS): string =>
  `arrayExists(d -> d <= ${(n - 0.5) * 1000}, arrayMap((a, b) -> b - a, arraySlice(${f}, 1, greatest(length(${f}) - ${k - 1}, 0)), arraySlice(${f}, ${k})))`
const flagged = (cond: string): string => `arraySort(groupArrayIf(toUnixTimestamp64Milli(ts), ${cond}))`

// A second limited by bandwidth or CPU: the interval's share (webrtc-stats qualityLimitationDurations)
// when known, else the reason reported at the sample.
const BW = `ifNull(stream_seconds.limit_bandwidth_share, stream_seconds.limitation = 'bandwidth')`
const CPU = `ifNull(stream_seconds.limit_cpu_share, stream_seconds.limitation = 'cpu')`

// The fields the detectors read (issues.ts StreamSecond), in tuple order after the time.
const DETECTOR_FIELDS = [
  'interval_ms',
  'active',
  'bitrate_bps',
  'packets_per_s',
  'fps',
  'width',
  'height',
  'loss_ratio',
  'jitter_ms',
  'rtt_ms',
  'jb_delay_ms',
  'freeze_count',
  'frozen_share',
  'limitation',
  'limit_bandwidth_share',
  'limit_cpu_share',
  'keyframes',
  'pli_per_s',
  'concealment_ratio',
  'pause_count',
  'paused_share',
  'source_fps',
  'source_width',
  'source_height',
  'available_out_bps',
] as const
// Qualified: inside the aggregate query several of these names are aliases of aggregates.
const SECOND_TUPLE = `(toUnixTimestamp64Milli(ts), ${DETECTOR_FIELDS.map((f) => `stream_seconds.${f}`).join(', ')})`
// The seconds a detector can flag; any other second is only a gap to the detectors (time-based rules).
const IN_VIDEO = `stream_seconds.direction = 'inbound' AND stream_seconds.kind = 'video'`
// detect-freezes.ts: a second with reported freezes or pauses, or that may be stalled (no frame shown).
const FREEZE_SECOND = `(stream_seconds.freeze_count > 0 OR stream_seconds.frozen_share > 0
  OR stream_seconds.pause_count > 0 OR stream_seconds.paused_share > 0 OR stream_seconds.active = 0
  OR ifNull(stream_seconds.fps, ${STALL_FPS}) < ${STALL_FPS})`
// detect-streams.ts lowMosIssues: an audio second whose MOS can fall below LOW_MOS (thresholds.ts), with
// the E-model's own delay (score.ts; the jitter buffer is the receiver's, else estimated from jitter).
const MOS_RISK = `(greatest(ifNull(stream_seconds.loss_ratio, 0), ifNull(stream_seconds.concealment_ratio, 0)) > ${MOS_RISK_LOSS}
  OR stream_seconds.jitter_ms > ${HIGH_JITTER_MS}
  OR ${oneWayDelaySql("if(stream_seconds.direction = 'inbound', stream_seconds.jb_delay_ms, NULL)", 'stream_seconds.jitter_ms', 'stream_seconds.rtt_ms')} > ${MOS_RISK_DELAY_MS})`
const FLAGGED = `(stream_seconds.loss_ratio > ${LOSS} OR stream_seconds.jitter_ms > ${HIGH_JITTER_MS} OR stream_seconds.active = 0
  OR (${IN_VIDEO} AND ${FREEZE_SECOND}) OR stream_seconds.keyframes > 0
  OR (stream_seconds.kind = 'audio' AND ${MOS_RISK})
  OR greatest(${BW}, ${CPU}) >= 0.5 OR stream_seconds.source_fps = 0)`

/** A per-second tuple of SECOND_TUPLE as the detectors' row. */
export function toSecond(v: unknown[]): StreamSecond {
  const o: Record<string, unknown> = { t: v[0] }
  DETECTOR_FIELDS.forEach((f, i) => (o[f] = v[i + 1]))
  return o as unknown as StreamSecond
}

// detect-limitation.ts limitedBy() over a tuple of the `limited` array (LIMITED_TUPLE), with the
// stream's start_ms, max_height and target_max (the target of its largest frame): costly against the
// source, after start-up, and for bandwidth with the sender's own evidence. What depends on one row only
// is computed per row, so that the lambda stays small: ClickHouse analyses every copy of an expression.
const ROW_SRC_FPS = `if(ifNull(stream_seconds.source_fps, -1) >= 0, least({fps:Float64}, stream_seconds.source_fps), {fps:Float64})`
const ROW_SCALE = `least(1, ${ROW_SRC_FPS} / {fps:Float64})`
const LIMITED_TUPLE = `(toUnixTimestamp64Milli(ts), stream_seconds.height, ifNull(fps, -1), ifNull(bitrate_bps, -1),
      ${ROW_SRC_FPS}, ${ROW_SCALE}, stream_seconds.source_width > 0 AND stream_seconds.source_height > 0,
      stream_seconds.source_height, ifNull(stream_seconds.available_out_bps, -1), ifNull(loss_ratio, 0),
      ifNull(stream_seconds.rtt_ms, -1), ${BW}, ${CPU},
      ${targetBitrateSql('toFloat64(stream_seconds.width) * stream_seconds.height')},
      ${targetBitrateSql('toFloat64(stream_seconds.source_width) * stream_seconds.source_height')})`
const LIM = {
  t: 'x.1',
  h: 'x.2',
  fps: 'x.3',
  br: 'x.4',
  srcFps: 'x.5',
  scale: 'x.6',
  sized: 'x.7',
  sh: 'x.8',
  avail: 'x.9',
  loss: 'x.10',
  rtt: 'x.11',
  bw: 'x.12',
  cpu: 'x.13',
  target: 'x.14',
  srcTarget: 'x.15',
}
const COSTLY = `((${LIM.h} > 0 AND ${LIM.h} < if(${LIM.sized}, ${LIM.sh}, max_height))
    OR (${LIM.fps} >= 0 AND ${LIM.fps} < 0.8 * ${LIM.srcFps})
    OR (${LIM.br} >= 0 AND ${LIM.h} > 0 AND ${LIM.br} < 0.8 * ${LIM.target} * ${LIM.scale}))`
const NEED = `if(${LIM.sized}, ${LIM.srcTarget}, target_max) * ${LIM.scale}`
const EVIDENCE = `((${LIM.avail} >= 0 AND ${LIM.avail} <= ${AVAILABLE_HEADROOM} * ${NEED}) OR ${LIM.loss} >= ${LIMIT_LOSS}
    OR (min_rtt_ms IS NOT NULL AND ${LIM.rtt} >= 0 AND ${LIM.rtt} >= min_rtt_ms + ${LIMIT_RTT_GROWTH_MS}))`
const LIMITED = `(${LIM.t} >= start_ms + ${LIMIT_STARTUP_MS}
    AND NOT arrayExists(z -> ${LIM.t} > z AND ${LIM.t} - z < ${LIMIT_RESTART_MS}, source_stops)
    AND ${COSTLY} AND (${LIM.cpu} > ${LIM.bw} OR ${EVIDENCE}))`

// An audio second with sound: above the silence/DTX rate, and above −60 dBov where the level is known.
const VOICED = `(active = 1 AND bitrate_bps >= ${SILENT_AUDIO_BPS}
  AND ifNull(stream_seconds.audio_level, 1) >= ${SILENT_AUDIO_LEVEL})`

// Which streams' seconds the detectors need: a superset of every detector's trigger (an issue of a
// stream outside it could not be found; analyzer-prefilter.test.ts holds the detectors to that).
const NEEDS_SERIES = `(p_loss OR p_rtt
    OR (kind = 'audio' AND (p_jitter OR p_mos_risk OR ifNull(codec_rate_bps, ${LOW_CODEC_RATE_BPS}) < ${LOW_CODEC_RATE_BPS}))
    OR (kind = 'video' AND direction = 'inbound' AND (n_freeze > 0 OR stalled_s > 0))
    OR (kind = 'video' AND direction = 'outbound' AND limited_seconds >= ${PERSIST_HITS})
    OR (kind = 'video' AND keyframes >= ${STORM_KEYFRAMES})
    OR (direction = 'inbound' AND p_silent = 1))`

/**
 * Per-stream aggregates (DESIGN.md "Metrics and scores"). The inner query collects, per stream, the
 * aggregates plus small arrays needing a second pass: the ordered active bitrates and frame heights
 * (steady segments, CV), inactive seconds, seconds that may freeze (stalls, freezes, pauses) and limited
 * seconds (did the limitation cost quality, with evidence?). The middle query reduces those arrays to
 * numbers. Same rules as the detectors (detect-*.ts, thresholds.ts), see SCORING.md.
 */
// The steady segments' (n, Σx, Σx²) that count, and their seconds (SCORING.md §2).
const STEADY = `arrayFilter(g -> g.1 >= ${STEADY_MIN_S} AND g.2 > 0, seg_stats)`
const STEADY_N = `arraySum(g -> g.1, ${STEADY})`
const streamAggregatesSql = (from: string): string => `
SELECT * EXCEPT (seg_starts, seg_ends, seg_stats, target_max, flagged_any),
  -- Only the streams the detectors read return their flagged seconds: the rest were most of the
  -- query's JSON (bench/RESULTS.md, "Analyzer", round 3).
  if(needs_series, flagged_any, []) AS flagged,
  if(${STEADY_N} >= ${STEADY_MIN_S},
    sqrt(arraySum(g -> greatest(0, g.3 - g.2 * g.2 / g.1) / pow(g.2 / g.1, 2), ${STEADY}) / ${STEADY_N}), NULL) AS bitrate_cv,
  if(${STEADY_N} >= ${STEADY_MIN_S},
    sqrt(arraySum(g -> greatest(0, g.3 - g.2 * g.2 / g.1), ${STEADY}) / ${STEADY_N}) / 1000, NULL) AS bitrate_sigma_kbps,
  if(length(seg_stats) > 0, seg_stats[1].4, NULL) AS ramp_up_s
FROM (
SELECT
  session_id, peer_id, pc_id, stream_id, direction, kind, ssrc, codec,
  seconds, resent, active_seconds, start_ms, end_ms, duration_s,
  bitrate_mean, bitrate_q[1] AS bitrate_p5, bitrate_q[2] AS bitrate_p50, bitrate_q[3] AS bitrate_p90,
  bitrate_q[4] AS bitrate_p95,
  -- Steady segments (SCORING.md §2): the active seconds split where the frame height (a resolution
  -- switch) or the SSRC (a simulcast layer switch) changes; each drops its ramp-up (seconds before the first at 50% of its mean)
  -- and, after a switch, ${SWITCH_SETTLE_S} s of settling. Per segment (n, Σx, Σx², seconds dropped); the
  -- outer query pools segments with ${STEADY_MIN_S}+ seconds. Nested one-element arrayMaps bind each
  -- intermediate once (an alias would be expanded, and analysed, at every use).
  arrayFilter((i, h, hp, l, lp) -> i = 1 OR (h != hp AND h > 0 AND hp > 0) OR l != lp,
    arrayEnumerate(hs), hs, hs_prev, ls, ls_prev) AS seg_starts,
  -- Each segment's last second, by the same test one second on. Derived from seg_starts instead (pop the
  -- first, push the last), ClickHouse 26 failed with SIZES_OF_ARRAYS_DONT_MATCH on a real Chrome 86 dump
  -- (test/fixtures/dumps, analyzer-dumps.test.ts).
  arrayFilter((i, h, hn, l, ln) -> i = n_br OR (hn != h AND hn > 0 AND h > 0) OR ln != l,
    arrayEnumerate(hs), hs, hs_next, ls, ls_next) AS seg_ends,
  arrayMap((st, en) -> arrayMap(seg -> arrayMap(k -> arrayMap(steady -> (length(steady), arraySum(steady),
        arraySum(arrayMap(y -> y * y, steady)), k),
      [arraySlice(seg, k + 1)])[1],
      [greatest(if(st = 1, 0, ${SWITCH_SETTLE_S}), arrayMap(m -> arrayFirstIndex(x -> x >= m, seg), [0.5 * arrayAvg(seg)])[1] - 1)])[1],
    [arraySlice(br, st, en - st + 1)])[1],
    seg_starts, seg_ends) AS seg_stats,
  toUInt32(arrayCount((i, h, hp) -> i > 1 AND h != hp AND h > 0 AND hp > 0, arrayEnumerate(hs), hs, hs_prev)) AS resolution_switches,
  -- Simulcast (core/simulcast.ts): the row's SSRC is the top active layer's; a change is a layer switch.
  toUInt32(arrayCount((i, l, lp) -> i > 1 AND l != lp, arrayEnumerate(ls), ls, ls_prev)) AS layer_switches,
  target_bitrate, fps_mean, if(fps_mean > 0, fps_sd / fps_mean, NULL) AS fps_cv,
  width, height, max_height, first_active_ms, last_active_ms,
  -- detect-freezes.ts: stalled seconds (no frame shown between the first and last active second) are
  -- frozen whole; elsewhere the reported frozen and paused share counts, except in the last second.
  arraySum(arrayMap(x -> if(x.5 AND x.1 > first_active_ms AND x.1 < last_active_ms, x.2, 0), fr)) / 1000 AS stalled_s,
  arraySum(arrayMap(x -> if(NOT (x.5 AND x.1 > first_active_ms AND x.1 < last_active_ms) AND x.1 <= end_ms - ${TEARDOWN_MS},
    x.4 * x.2 / 1000, 0), fr)) AS frozen_stat_s,
  arraySum(arrayMap(x -> if(x.1 <= end_ms - ${TEARDOWN_MS}, x.3, 0), fr)) AS freeze_count,
  arraySum(arrayMap(x -> if(x.1 <= end_ms - ${TEARDOWN_MS}, x.2 * least(1, x.6) / 1000, 0), fr)) AS paused_s,
  loss, jitter_ms, jitter_p95_ms, rtt_ms, rtt_p95_ms, jb_delay_ms, qp,
  limit_bandwidth_share, limit_cpu_share,
  ${targetBitrateSql('max_height * max_height * 16 / 9')} AS target_max,
  arrayCount(x -> ${LIMITED}, limited) AS limited_seconds,
  source_fps, codec_rate_bps, silent, min_rtt_ms,
  nack_per_s, pli_per_s, keyframes, dropped_share, concealment,
  ${persists('f_rtt')} AS p_rtt, ${persists('f_jitter')} AS p_jitter, ${persists('f_loss')} AS p_loss,
  ${persists('f_mos')} AS p_mos_risk, ${persists('arrayMap(x -> x.1, inactive)', NO_MEDIA_S, NO_MEDIA_S)} AS p_silent,
  arrayCount(x -> x.1 <= end_ms - ${TEARDOWN_MS} AND (x.3 > 0 OR x.4 > 0), fr) + toUInt64(stalled_s > 0) AS n_freeze,
  ${NEEDS_SERIES} AS needs_series,
  -- Outbound video where neither limitation (< ${PERSIST_HITS} costly seconds) nor a key-frame storm (< ${STORM_KEYFRAMES} key frames)
  -- can fire: only the loss detector runs, on lossy seconds; its other seconds would only be gaps.
  if(direction = 'outbound' AND kind = 'video' AND limited_seconds < ${PERSIST_HITS} AND keyframes < ${STORM_KEYFRAMES},
    arrayFilter(x -> ifNull(x.${DETECTOR_FIELDS.indexOf('loss_ratio') + 2}, 0) > ${LOSS}, flagged_all),
    flagged_all) AS flagged_any
FROM
(
  SELECT
    session_id, peer_id, pc_id, stream_id,
    toString(any(stream_seconds.direction)) AS direction, toString(any(stream_seconds.kind)) AS kind,
    -- A simulcast source's SSRC is its top active layer's (core/simulcast.ts): the layer it sent most.
    if(countIf(active = 1) > 0, topKIf(1)(ssrc, active = 1)[1], any(ssrc)) AS ssrc, argMaxIf(stream_seconds.codec, ts, stream_seconds.codec != '') AS codec,
    count() AS seconds, count() - uniqExact(seq) AS resent, countIf(active = 1) AS active_seconds,
    toUnixTimestamp64Milli(min(ts)) AS start_ms, toUnixTimestamp64Milli(max(ts)) AS end_ms,
    sum(interval_ms) / 1000 AS duration_s,
    avgIf(bitrate_bps, active = 1) AS bitrate_mean,
    quantilesExactIf(0.05, 0.5, 0.9, 0.95)(bitrate_bps, active = 1) AS bitrate_q,
    arraySort(groupArrayIf((ts, assumeNotNull(bitrate_bps), stream_seconds.height, stream_seconds.ssrc),
      active = 1 AND bitrate_bps IS NOT NULL)) AS brh,
    arrayMap(x -> x.2, brh) AS br, arrayMap(x -> x.3, brh) AS hs, arrayMap(x -> x.4, brh) AS ls,
    -- Each active second's neighbours (0 past either end, as hs[0] and hs[n + 1] read): the lambdas above
    -- take them as arguments, because a lambda that indexes a captured array copies that whole array for
    -- every element (n² per stream; 5 GiB for a batch of 2,000 ten-minute sessions).
    length(brh) AS n_br,
    arraySlice(arrayPushFront(hs, 0), 1, n_br) AS hs_prev, arraySlice(arrayPushBack(hs, 0), 2) AS hs_next,
    arraySlice(arrayPushFront(ls, 0), 1, n_br) AS ls_prev, arraySlice(arrayPushBack(ls, 0), 2) AS ls_next,
    avgIf(target_bitrate_bps, active = 1) AS target_bitrate,
    avgIf(fps, active = 1) AS fps_mean, stddevPopIf(fps, active = 1) AS fps_sd,
    quantileExactIf(0.5)(stream_seconds.width, active = 1 AND stream_seconds.width > 0) AS width,
    quantileExactIf(0.5)(stream_seconds.height, active = 1 AND stream_seconds.height > 0) AS height,
    maxIf(stream_seconds.height, active = 1) AS max_height,
    -- Inbound video seconds that may freeze: (t, interval, freezes + pauses, frozen + paused share,
    -- no frame shown, paused share).
    groupArrayIf((toUnixTimestamp64Milli(ts), interval_ms,
      toUInt64(ifNull(stream_seconds.freeze_count, 0) + ifNull(stream_seconds.pause_count, 0)),
      least(1, ifNull(stream_seconds.frozen_share, 0) + ifNull(stream_seconds.paused_share, 0)),
      stream_seconds.active = 0 OR ifNull(stream_seconds.fps, ${STALL_FPS}) < ${STALL_FPS},
      ifNull(stream_seconds.paused_share, 0)), ${IN_VIDEO} AND ${FREEZE_SECOND}) AS fr,
    groupArrayIf((toUnixTimestamp64Milli(ts), interval_ms), active = 0) AS inactive,
    minIf(toUnixTimestamp64Milli(ts), active = 1) AS first_active_ms,
    maxIf(toUnixTimestamp64Milli(ts), active = 1) AS last_active_ms,
    -- Inbound: lost / (lost + received); outbound: the far end's fractionLost weighted by packets sent.
    if(direction = 'inbound',
       sumIf(packets_lost, packets_lost IS NOT NULL AND packets_per_s IS NOT NULL)
         / nullIf(sumIf(packets_lost + packets_per_s * interval_ms / 1000, packets_lost IS NOT NULL AND packets_per_s IS NOT NULL), 0),
       sumIf(loss_ratio * packets_per_s, loss_ratio IS NOT NULL AND packets_per_s IS NOT NULL)
         / nullIf(sumIf(packets_per_s, loss_ratio IS NOT NULL AND packets_per_s IS NOT NULL), 0)) AS loss,
    avg(stream_seconds.jitter_ms) AS jitter_ms, quantileExact(0.95)(stream_seconds.jitter_ms) AS jitter_p95_ms,
    avg(stream_seconds.rtt_ms) AS rtt_ms, quantileExact(0.95)(stream_seconds.rtt_ms) AS rtt_p95_ms,
    avgIf(stream_seconds.jb_delay_ms, active = 1) AS jb_delay_ms,
    sumIf(qp_avg * fps, qp_avg IS NOT NULL AND fps > 0) / nullIf(sumIf(fps, qp_avg IS NOT NULL AND fps > 0), 0) AS qp,
    min(stream_seconds.rtt_ms) AS min_rtt_ms,
    avgIf(stream_seconds.source_fps, active = 1 AND stream_seconds.source_fps > 0) AS source_fps,
    -- Audio: the codec's rate over seconds above silence/DTX (SCORING.md §4); none such → silent.
    if(countIf(${VOICED}) > 0, quantileExactIf(0.9)(bitrate_bps, ${VOICED}), NULL) AS codec_rate_bps,
    toUInt8(toString(any(stream_seconds.kind)) = 'audio' AND countIf(${VOICED}) = 0) AS silent,
    avgIf(stream_seconds.limit_bandwidth_share, active = 1) AS limit_bandwidth_share,
    avgIf(stream_seconds.limit_cpu_share, active = 1) AS limit_cpu_share,
    groupArrayIf(${LIMITED_TUPLE},
      active = 1 AND greatest(${BW}, ${CPU}) >= 0.5) AS limited,
    -- detect-limitation.ts sourceStops(): seconds after which the encoder ramps up again.
    groupArrayIf(toUnixTimestamp64Milli(ts),
      stream_seconds.source_fps = 0 OR (active = 0 AND bitrate_bps = 0)) AS source_stops,
    avgIf(stream_seconds.nack_per_s, active = 1) AS nack_per_s,
    avgIf(stream_seconds.pli_per_s, active = 1) AS pli_per_s,
    ifNull(sum(stream_seconds.keyframes), 0) AS keyframes,
    sum(frames_dropped) / nullIf(sum(frames_dropped) + sumIf(fps * interval_ms / 1000, fps IS NOT NULL AND frames_dropped IS NOT NULL), 0) AS dropped_share,
    avgIf(concealment_ratio, active = 1) AS concealment,
    ${flagged(`stream_seconds.rtt_ms > ${HIGH_RTT_MS}`)} AS f_rtt,
    ${flagged(`stream_seconds.jitter_ms > ${HIGH_JITTER_MS}`)} AS f_jitter,
    ${flagged(`loss_ratio > ${LOSS}`)} AS f_loss,
    ${flagged(`active = 1 AND ${MOS_RISK}`)} AS f_mos,
    arraySort(groupArrayIf(${SECOND_TUPLE}, ${FLAGGED})) AS flagged_all
  FROM ${from}
  WHERE ${WHERE}
  GROUP BY session_id, peer_id, pc_id, stream_id
))
ORDER BY session_id, peer_id, pc_id, stream_id`
// ClickHouse compiles a query's sum/avg/min/max(-If) aggregates to machine code only once the same set
// has run min_count_to_compile_aggregate_expression times (default 3): the first three batches of
// every analyzer process ran interpreted. Compiled from the first: ~15% less CPU for the stream query
// (https://clickhouse.com/docs/operations/settings/settings#compile_aggregate_expressions;
// bench/RESULTS.md, "Analyzer", round 3).
const COMPILED = '\nSETTINGS min_count_to_compile_aggregate_expression = 0'
const STREAM_AGGREGATES = {
  fast: streamAggregatesSql('stream_seconds') + COMPILED,
  exact: streamAggregatesSql('stream_seconds FINAL') + COMPILED,
}

export interface StreamAggregateRow {
  session_id: string
  peer_id: string
  pc_id: string
  stream_id: string
  direction: 'inbound' | 'outbound'
  kind: 'audio' | 'video'
  ssrc: number
  codec: string
  seconds: number
  active_seconds: number
  start_ms: number
  end_ms: number
  duration_s: number
  bitrate_mean: number | null
  bitrate_p5: number | null
  bitrate_p50: number | null
  bitrate_p90: number | null
  bitrate_p95: number | null
  bitrate_cv: number | null
  bitrate_sigma_kbps: number | null
  ramp_up_s: number | null
  /** Frame-height changes between active seconds (resolution or layer switches). */
  resolution_switches: number
  /** Outbound video: SSRC changes between active seconds (a simulcast source's top layer switched). */
  layer_switches: number
  target_bitrate: number | null
  fps_mean: number | null
  fps_cv: number | null
  width: number
  height: number
  max_height: number
  first_active_ms: number | null
  last_active_ms: number | null
  freeze_count: number
  frozen_stat_s: number
  stalled_s: number
  /** Inbound video: seconds paused (webrtc-stats totalPausesDuration, capped per second). */
  paused_s: number
  loss: number | null
  jitter_ms: number | null
  jitter_p95_ms: number | null
  rtt_ms: number | null
  rtt_p95_ms: number | null
  jb_delay_ms: number | null
  qp: number | null
  limit_bandwidth_share: number | null
  limit_cpu_share: number | null
  limited_seconds: number
  /** Outbound video: mean media-source frame rate, when reported. */
  source_fps: number | null
  /** Audio: p90 bitrate over seconds above silence/DTX (the codec's active rate); null when silent. */
  codec_rate_bps: number | null
  /** Audio without any second above silence/DTX: 1. */
  silent: number
  min_rtt_ms: number | null
  nack_per_s: number | null
  pli_per_s: number | null
  keyframes: number
  dropped_share: number | null
  concealment: number | null
  /** 1 when the condition held in 3 of 5 consecutive seconds somewhere (5 of 5 for p_silent). */
  p_rtt: number
  p_jitter: number
  p_loss: number
  p_mos_risk: number
  p_silent: number
  n_freeze: number
  /** 1 when a detector can fire on this stream (NEEDS_SERIES). */
  needs_series: number
  /**
   * The seconds where some detector condition holds (usually a handful), as SECOND_TUPLE tuples, for
   * the streams in `needs_series` only (empty for the rest); turned into rows by toSecond.
   */
  flagged: unknown[][]
}

/** Aggregates of every stream of the scope, ordered by session, peer, pc, stream. Rejects with StoreError. */
export async function streamAggregates(
  store: Store,
  scope: Scope,
  expectedFps: number,
): Promise<StreamAggregateRow[]> {
  const run = (sql: string, p: Record<string, unknown>) =>
    store.query<StreamAggregateRow & ResentCounted>(sql, p)
  return resendSafe(run, STREAM_AGGREGATES, params(scope, { fps: expectedFps }))
}

const transportAggregatesSql = (from: string, columns = ''): string => `
SELECT
  session_id, peer_id, pc_id, count() AS seconds,${columns}
  avg(t.rtt_ms) AS rtt_ms, quantileExact(0.95)(t.rtt_ms) AS rtt_p95_ms,
  ${persists(flagged(`t.rtt_ms > ${HIGH_RTT_MS}`))} AS p_rtt,
  countIf(t.local_type = 'relay') AS relay_seconds,
  argMax(t.local_type, ts) AS local_type, argMax(t.remote_type, ts) AS remote_type,
  argMax(t.protocol, ts) AS protocol, argMax(t.relay_protocol, ts) AS relay_protocol,
  argMax(t.network_type, ts) AS network_type,
  avg(t.available_out_bps) AS available_out_bps, avg(t.available_in_bps) AS available_in_bps
FROM ${from}
WHERE ${WHERE}
GROUP BY session_id, peer_id, pc_id
ORDER BY session_id, peer_id, pc_id`
const RESENT = ' count() - uniqExact(t.seq) AS resent,'
const TRANSPORT_AGGREGATES = {
  fast: transportAggregatesSql('transport_seconds AS t', RESENT) + COMPILED,
  exact: transportAggregatesSql('transport_seconds AS t FINAL', RESENT) + COMPILED,
}

export interface TransportAggregateRow {
  session_id: string
  peer_id: string
  pc_id: string
  seconds: number
  rtt_ms: number | null
  rtt_p95_ms: number | null
  p_rtt: number
  relay_seconds: number
  local_type: string
  remote_type: string
  protocol: string
  relay_protocol: string
  network_type: string
  available_out_bps: number | null
  available_in_bps: number | null
}

/** Transport aggregates of every pc of the scope, ordered by session, peer, pc. Rejects with StoreError. */
export function transportAggregates(store: Store, scope: Scope): Promise<TransportAggregateRow[]> {
  const run = (sql: string, p: Record<string, unknown>) =>
    store.query<TransportAggregateRow & ResentCounted>(sql, p)
  return resendSafe(run, TRANSPORT_AGGREGATES, params(scope))
}

/** One stream's per-second values as columns, oldest first; null where a second has no value. */
export interface StreamColumns {
  session_id: string
  peer_id: string
  pc_id: string
  stream_id: string
  t: number[]
  values: Record<string, (number | null)[]>
}

/** The SQL of streamColumns (bound parameters: app, sessions, from, to). Throws on a bad field name. */
export function streamColumnsSql(fields: readonly string[]): string {
  for (const f of fields) if (!/^[a-z_]+$/.test(f)) throw new Error(`not a column name: ${f}`)
  return `SELECT session_id, peer_id, pc_id, stream_id, arrayMap(x -> x.1, s) AS t,
       ${fields.map((f, i) => `arrayMap(x -> x.${i + 2}, s) AS c${i}`).join(', ')}
     FROM (
       SELECT session_id, peer_id, pc_id, stream_id,
         arraySort(groupArray((toUnixTimestamp64Milli(ts), ${fields.map((f) => `stream_seconds.${f}`).join(', ')}))) AS s
       FROM ${latestInserted(
         'stream_seconds',
         // Named columns, not *: the subquery then reads only these (a fifth less CPU for a session).
         `session_id, peer_id, pc_id, stream_id, ts, ${fields.join(', ')}`,
         WHERE,
       )} AS stream_seconds
       GROUP BY session_id, peer_id, pc_id, stream_id)
     ORDER BY session_id, peer_id, pc_id, stream_id`
}

/** Rows of streamColumnsSql(fields) as StreamColumns. */
export function toStreamColumns(rows: Record<string, unknown>[], fields: readonly string[]): StreamColumns[] {
  return rows.map((r) => ({
    session_id: r.session_id as string,
    peer_id: r.peer_id as string,
    pc_id: r.pc_id as string,
    stream_id: r.stream_id as string,
    t: r.t as number[],
    values: Object.fromEntries(fields.map((f, i) => [f, r[`c${i}`] as (number | null)[]])),
  }))
}

/**
 * Per-second columns (`fields`, stream_seconds column names) of every stream of the scope, one result
 * row per stream: far less to format and parse than one JSON object per second. Read without FINAL
 * (latest.ts, for the detail API's latency). Rejects with StoreError.
 */
export async function streamColumns(
  store: Store,
  scope: Scope,
  fields: readonly string[],
): Promise<StreamColumns[]> {
  const sql = streamColumnsSql(fields)
  return toStreamColumns(await store.query<Record<string, unknown>>(sql, params(scope)), fields)
}

/** A pc's aggregates and its per-second transport values, oldest first. */
export interface TransportDetailRow extends TransportAggregateRow {
  /** [t, rtt_ms, available_out_bps, send_bps, recv_bps] per second. */
  series: [number, number | null, number | null, number | null, number | null][]
}

/**
 * The SQL of transportDetail, or with `series` false of transportAggregates read without FINAL (the
 * same rows: latest.ts). Bound parameters: app, sessions, from, to.
 */
export function transportDetailSql(series: boolean): string {
  return transportAggregatesSql(
    `${latestInserted('transport_seconds', '*', WHERE)} AS t`,
    series
      ? ` arraySort(groupArray((toUnixTimestamp64Milli(ts), t.rtt_ms, t.available_out_bps, t.send_bps, t.recv_bps))) AS series,`
      : '',
  )
}

/**
 * Transport aggregates (as transportAggregates) and per-second series of every pc of the scope, in one
 * pass over transport_seconds, read without FINAL (latest.ts). Ordered by session, peer, pc. Rejects
 * with StoreError.
 */
export function transportDetail(store: Store, scope: Scope): Promise<TransportDetailRow[]> {
  return store.query<TransportDetailRow>(transportDetailSql(true), params(scope))
}

export interface DetectorSeries {
  session_id: string
  peer_id: string
  pc_id: string
  stream_id: string
  rows: StreamSecond[]
}

/**
 * Every second of the given streams as detector rows, one result row per stream (its seconds as sorted
 * tuples). For the rare stream whose issues may not show in flagged seconds. Rejects with StoreError.
 */
export async function detectorSeries(
  store: Store,
  scope: Scope,
  streams: string[],
): Promise<DetectorSeries[]> {
  const rows = await store.query<{
    session_id: string
    peer_id: string
    pc_id: string
    stream_id: string
    s: unknown[][]
  }>(
    `SELECT session_id, peer_id, pc_id, stream_id, arraySort(groupArray(${SECOND_TUPLE})) AS s
     FROM stream_seconds FINAL WHERE ${WHERE} AND stream_id IN {streams:Array(String)}
     GROUP BY session_id, peer_id, pc_id, stream_id`,
    params(scope, { streams }),
  )
  return rows.map((r) => ({
    session_id: r.session_id,
    peer_id: r.peer_id,
    pc_id: r.pc_id,
    stream_id: r.stream_id,
    rows: r.s.map(toSecond),
  }))
}

export interface TransportSeriesRow extends TransportSecond {
  session_id: string
  peer_id: string
  pc_id: string
  available_out_bps: number | null
  send_bps: number | null
  recv_bps: number | null
}

/** Per-second transport rows; with `flaggedOnly`, only seconds with RTT over HIGH_RTT_MS or a relayed pair. */
export function transportSeries(
  store: Store,
  scope: Scope,
  pcs?: string[],
  flaggedOnly = false,
): Promise<TransportSeriesRow[]> {
  const filter =
    (pcs ? ' AND pc_id IN {pcs:Array(String)}' : '') +
    (flaggedOnly ? ` AND (rtt_ms > ${HIGH_RTT_MS} OR local_type = 'relay')` : '')
  return store.query<TransportSeriesRow>(
    `SELECT session_id, peer_id, pc_id, toUnixTimestamp64Milli(ts) AS t, rtt_ms, local_type, relay_protocol,
       available_out_bps, send_bps, recv_bps
     FROM transport_seconds FINAL WHERE ${WHERE}${filter}
     ORDER BY session_id, peer_id, pc_id, ts`,
    params(scope, pcs ? { pcs } : {}),
  )
}

export interface SessionEvent extends StateEvent {
  session: string
}

/**
 * Goodbyes, connection-state events and getUserMedia/getDisplayMedia errors of the sessions (whole
 * sessions: they are few and small), as `{ name, state, error? }`. The SDK (sdk/src/monitor.ts) sends
 * each state change as a snapshot of all four states (`connectionState`, `iceConnectionState`, …) and
 * `closed` when a pc is closed (close() fires no state event); webrtc-internals and simpler clients send
 * `{ state }` or `{ value }`. A `closed` event reads as connectionstatechange → closed.
 */
export async function sessionEvents(store: Store, app: string, sessions: string[]): Promise<SessionEvent[]> {
  return toSessionEvents(await store.query(sessionEventsSql(true), { app, sessions }))
}

// The events sessionEvents reads: a small share of all (no stats, no track or custom events).
const STATE_EVENTS = `app_id = {app:String} AND session_id IN {sessions:Array(String)}
  AND (name IN ('bye', 'closed') OR name ILIKE '%connectionstatechange' OR name ILIKE '%Media.error')`

/**
 * The SQL of sessionEvents (bound parameters: app, sessions): with FINAL, or (`final` false) keeping the
 * last inserted copy of each event as FINAL does (latest.ts), cheaper for one session.
 */
export function sessionEventsSql(final: boolean): string {
  return `SELECT session_id, peer_id, pc_id, toUnixTimestamp64Milli(ts) AS t, name, data
     FROM ${final ? `events FINAL WHERE ${STATE_EVENTS}` : latestInserted('events', 'session_id, peer_id, pc_id, ts, seq, name, data', STATE_EVENTS)}
     ORDER BY t, seq`
}

/** Rows of sessionEventsSql as SessionEvents. */
export function toSessionEvents(rows: Record<string, unknown>[]): SessionEvent[] {
  return (
    rows as { session_id: string; peer_id: string; pc_id: string; t: number; name: string; data: string }[]
  ).map((r) => {
    const closed = r.name === 'closed'
    const error = MEDIA_ERROR.test(r.name) ? errorOf(r.data) : undefined
    return {
      session: r.session_id,
      peer: r.peer_id,
      pc: r.pc_id,
      t: r.t,
      name: closed ? 'connectionstatechange' : r.name,
      state: closed ? 'closed' : error ? '' : stateOf(r.name, r.data),
      ...(error ? { error } : {}),
    }
  })
}

/** `getUserMedia.error` / `getDisplayMedia.error` (sdk/README.md), with or without a namespace prefix. */
export const MEDIA_ERROR = /(^|\.)get(User|Display)Media\.error$/i

/** The DOMException an error event carries (`{ name, message }`, both optional and bounded here). */
function errorOf(data: string): { name: string; message: string } {
  let d: Record<string, unknown> = {}
  try {
    d = (data ? JSON.parse(data) : {}) as Record<string, unknown>
  } catch {
    // A client that sent no JSON still failed to open its media: the error is kept, unnamed.
  }
  const str = (v: unknown, max: number): string => (typeof v === 'string' ? v.slice(0, max) : '')
  return { name: str(d.name, 64) || 'Error', message: str(d.message, 256) }
}

/** The state an event reports: `state`/`value`, else the snapshot field matching its name. */
function stateOf(name: string, data: string): string {
  if (!data) return ''
  try {
    const d = JSON.parse(data) as Record<string, unknown>
    const ice = name.toLowerCase().endsWith('iceconnectionstatechange')
    const v = d.state ?? d.value ?? (ice ? d.iceConnectionState : d.connectionState)
    return typeof v === 'string' ? v : ''
  } catch {
    return ''
  }
}

/** A peer's `peers` columns (store/peers.ts) as sessionPeersSql reads them: the latest of its hellos. */
export type PeerRow = Pick<
  PeersRow,
  'session_id' | 'peer_id' | 'user_id' | 'sdk_version' | 'user_agent' | 'browser' | 'os' | 'metadata'
>

// The latest non-empty value: a reconnect's hello may omit what an earlier one said.
const PEER_COLUMNS = `session_id, peer_id, argMaxIf(user_id, connected_at, user_id != '') AS user_id,
  argMaxIf(sdk_version, connected_at, sdk_version != '') AS sdk_version,
  argMaxIf(user_agent, connected_at, user_agent != '') AS user_agent,
  argMaxIf(browser, connected_at, browser != '') AS browser, argMaxIf(os, connected_at, os != '') AS os,
  argMaxIf(metadata, connected_at, length(metadata) > 0) AS metadata`

/**
 * The SQL of sessionPeers (bound parameters: app, sessions); with `clock`, also each peer's
 * `clock_skew_ms` (ms, client minus collector) as estimated on its latest connection that sent stats.
 */
export function sessionPeersSql(clock: boolean): string {
  return `SELECT ${PEER_COLUMNS}${clock ? ', argMaxIf(clock_skew_ms, connected_at, clock_skew_ms IS NOT NULL) AS clock_skew_ms' : ''}
     FROM peers WHERE app_id = {app:String} AND session_id IN {sessions:Array(String)}
     GROUP BY session_id, peer_id ORDER BY session_id, peer_id`
}

export function sessionPeers(store: Store, app: string, sessions: string[]): Promise<PeerRow[]> {
  return store.query<PeerRow>(sessionPeersSql(false), { app, sessions })
}

/** First and last per-second row of each session (its full span, whatever window is being scored). */
export function sessionBounds(
  store: Store,
  app: string,
  sessions: string[],
): Promise<{ session_id: string; start_ms: number; end_ms: number }[]> {
  return store.query(
    `SELECT session_id, toUnixTimestamp64Milli(min(ts)) AS start_ms, toUnixTimestamp64Milli(max(ts)) AS end_ms
     FROM stream_seconds WHERE app_id = {app:String} AND session_id IN {sessions:Array(String)}
     GROUP BY session_id`,
    { app, sessions },
  )
}
