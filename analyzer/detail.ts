// One session for the API and the CLI: its stored analysis (or one computed on the spot), each peer's
// clock skew, and the per-second series on whole seconds shared by every stream (seconds.ts), bucketed
// further for long sessions. All SQL is parameterised and scoped by app.
import type { Store } from '../store/index.ts'
import { analyzeSessions } from './analyze.ts'
import type { SessionAnalysis } from './analyze.ts'
import { secondMos } from './issues.ts'
import type { StreamSecond, StreamSeries } from './issues.ts'
import { queryBatch } from './batch.ts'
import { streamColumnsSql, toStreamColumns } from './queries.ts'
import type { StreamColumns, TransportDetailRow } from './queries.ts'
import { bucketSeries } from './seconds.ts'
import { decodeStored, f32, iso, storedParams, storedQueries } from './stored.ts'
import { SILENT_AUDIO_BPS, SILENT_AUDIO_LEVEL } from './thresholds.ts'

/** Columns of the per-second series in the API, in this order. */
export const SERIES_FIELDS = [
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
  'qp_avg',
  'nack_per_s',
  'pli_per_s',
  'keyframes',
  'limit_bandwidth_share',
  'limit_cpu_share',
  'concealment_ratio',
  'target_bitrate_bps',
  'audio_level',
] as const

export interface StreamSeriesJson {
  peer: string
  pc: string
  stream: string
  kind: string
  direction: string
  /**
   * Epoch ms of each bucket start: whole seconds (seconds.ts), every `stepS` seconds from the stream's
   * first bucket to its last, on the axis every stream and transport of the session shares.
   */
  t: number[]
  /** Per field, one value per bucket (the mean), null when unknown or not reported. MOS for audio. */
  values: Record<string, (number | null)[]>
}

/** Per-second MOS of an audio stream's columns (the E-model at each second, as the detectors see it). */
function mosColumn(s: SessionAnalysis['streams'][number], c: StreamColumns): (number | null)[] {
  const v = c.values
  const col = (f: string): readonly (number | null)[] => v[f] ?? []
  const active = col('active')
  const bitrate = col('bitrate_bps')
  const level = col('audio_level')
  const br: number[] = []
  for (let i = 0; i < c.t.length; i++) {
    const b = bitrate[i]
    // The codec's active rate, as the aggregates compute it (queries.ts VOICED): silent seconds left out.
    const voiced =
      b !== null && b !== undefined && b >= SILENT_AUDIO_BPS && (level[i] ?? 1) >= SILENT_AUDIO_LEVEL
    if (active[i] === 1 && voiced) br.push(b)
  }
  br.sort((a, b) => a - b)
  const series: StreamSeries = {
    peer: s.peer,
    pc: s.pc,
    stream: s.stream,
    direction: s.direction,
    kind: s.kind,
    codec: s.codec,
    codecRateBps: br.length ? (br[Math.floor(0.9 * (br.length - 1))] as number) : null,
    rows: [],
  }
  const [loss, concealment, rtt, jb, jitter] = [
    col('loss_ratio'),
    col('concealment_ratio'),
    col('rtt_ms'),
    col('jb_delay_ms'),
    col('jitter_ms'),
  ]
  return c.t.map((t, i) =>
    secondMos(series, {
      t,
      active: active[i] ?? 0,
      loss_ratio: loss[i] ?? null,
      concealment_ratio: concealment[i] ?? null,
      rtt_ms: rtt[i] ?? null,
      jb_delay_ms: jb[i] ?? null,
      jitter_ms: jitter[i] ?? null,
    } as StreamSecond),
  )
}

export interface SessionDetail {
  analysis: SessionAnalysis
  /** False when the session had not been scored yet and was analysed for this request. */
  stored: boolean
  /** Per peer, its clock minus the collector's in ms (collector/clock-skew.ts); null or absent if unknown. */
  clocks: Record<string, number | null>
  series?: {
    stepS: number
    streams: StreamSeriesJson[]
    transports: { peer: string; pc: string; t: number[]; values: Record<string, (number | null)[]> }[]
  }
}

/**
 * One session: its stored analysis (or, if not scored yet, one computed now and not stored) and, with
 * `series`, the per-second rows bucketed to ≤ 1800 points per stream unless `stepS` is given.
 */
export async function sessionDetail(
  store: Store,
  app: string,
  session: string,
  opts: { series: boolean; stepS?: number; expectedFps: number },
): Promise<SessionDetail | undefined> {
  // One round trip for every read (batch.ts): the stored analysis, the peers' clocks and the series.
  const queries: Record<string, string> = storedQueries({ clock: true, series: opts.series })
  if (opts.series) queries.columns = streamColumnsSql(SERIES_FIELDS)
  const rows = await queryBatch(store, queries, storedParams(app, session))
  const stored = decodeStored(app, session, rows)
  const clocks = Object.fromEntries(
    (rows.peers as { peer_id: string; clock_skew_ms: number | null }[]).map((r) => [
      r.peer_id,
      r.clock_skew_ms,
    ]),
  )
  const cols = opts.series ? toStreamColumns(rows.columns ?? [], SERIES_FIELDS) : []
  const trows = opts.series ? (rows.transports as unknown as TransportDetailRow[]) : []
  let analysis = stored
  if (!analysis) {
    analysis = (await analyzeSessions(store, app, [session], { expectedFps: opts.expectedFps }))[0]
    if (!analysis) return undefined
  }
  const detail: SessionDetail = { analysis, stored: stored !== undefined, clocks }
  if (!opts.series) return detail
  const durationS = Math.max(1, (analysis.endedAt - analysis.startedAt) / 1000)
  const stepS = opts.stepS ?? Math.max(1, Math.ceil(durationS / 1800))
  const colsBy = new Map(cols.map((c) => [`${c.peer_id}\n${c.pc_id}\n${c.stream_id}`, c]))
  const streams: StreamSeriesJson[] = analysis.streams.map((s) => {
    const c = colsBy.get(`${s.peer}\n${s.pc}\n${s.stream}`)
    const fields: string[] = s.kind === 'audio' ? [...SERIES_FIELDS, 'mos'] : [...SERIES_FIELDS]
    const values = c && s.kind === 'audio' ? { ...c.values, mos: mosColumn(s, c) } : (c?.values ?? {})
    return {
      peer: s.peer,
      pc: s.pc,
      stream: s.stream,
      kind: s.kind,
      direction: s.direction,
      ...bucketSeries(c?.t ?? [], values, fields, stepS),
    }
  })
  const fields = ['rtt_ms', 'available_out_bps', 'send_bps', 'recv_bps'] as const
  const transports = trows.map((r) => {
    const cols = Object.fromEntries(fields.map((f, k) => [f, r.series.map((x) => x[k + 1])]))
    return {
      peer: r.peer_id,
      pc: r.pc_id,
      ...bucketSeries(
        r.series.map((x) => x[0]),
        cols,
        fields,
        stepS,
      ),
    }
  })
  detail.series = { stepS, streams, transports }
  return detail
}

/** Per peer of the detail JSON: its analysis and its clock skew. */
export type PeerJson = SessionAnalysis['peers'][number] & { clockSkewMs: number | null }

/** The JSON the API returns for one session (times as ISO strings; series times as epoch ms). */
export function detailJson(d: SessionDetail): Record<string, unknown> {
  const a = d.analysis
  return {
    app: a.app,
    session: a.session,
    final: a.final,
    stored: d.stored,
    ended: a.ended,
    scoreVersion: a.scoreVersion,
    scoredAt: iso(a.scoredAt),
    window: { start: iso(a.window.start), end: iso(a.window.end) },
    startedAt: iso(a.startedAt),
    endedAt: iso(a.endedAt),
    durationS: Math.round((a.endedAt - a.startedAt) / 1000),
    outcome: a.outcome,
    outcomeReason: a.outcomeReason,
    outcomeDetail: a.outcomeDetail,
    score: a.score,
    peers: a.peers.map((p): PeerJson => ({ ...p, clockSkewMs: d.clocks[p.peer] ?? null })),
    streams: a.streams.map((s) => ({
      ...s,
      aggregates: {
        ...s.aggregates,
        started_at: iso(s.aggregates.started_at),
        ended_at: iso(s.aggregates.ended_at),
      },
    })),
    transports: a.transports.map(({ session_id: _s, ...t }) => ({
      ...t,
      rtt_ms: f32(t.rtt_ms),
      rtt_p95_ms: f32(t.rtt_p95_ms),
      available_out_bps: f32(t.available_out_bps),
      available_in_bps: f32(t.available_in_bps),
    })),
    issues: a.issues.map((i) => ({
      ...i,
      start: iso(i.start),
      end: iso(i.end),
      durationS: Math.round((i.end - i.start) / 1000) + 1,
    })),
    ...(d.series ? { series: d.series } : {}),
  }
}
