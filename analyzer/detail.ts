// One session for the API and the CLI: its stored analysis (or one computed on the spot) plus the
// per-second series, bucketed for long sessions. All SQL is parameterised and scoped by app.
import type { Store } from '../store/index.ts'
import { analyzeSessions } from './analyze.ts'
import type { SessionAnalysis } from './analyze.ts'
import { secondMos } from './issues.ts'
import type { StreamSecond, StreamSeries } from './issues.ts'
import { streamColumns, transportDetail } from './queries.ts'
import type { StreamColumns } from './queries.ts'
import { f32, iso, storedAnalysis } from './stored.ts'
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
  /** Epoch ms of each point (the bucket start when stepS > 1). */
  t: number[]
  /** Per field, one value per point (the bucket mean), null when unknown. MOS for audio streams. */
  values: Record<string, (number | null)[]>
}

/** Buckets per-second columns by `stepS` seconds; each value becomes its bucket's mean. */
function columnar(
  t: readonly number[],
  cols: Record<string, readonly (number | null)[]>,
  fields: readonly string[],
  stepS: number,
): Pick<StreamSeriesJson, 't' | 'values'> {
  const out: number[] = []
  const values: Record<string, (number | null)[]> = Object.fromEntries(fields.map((f) => [f, []]))
  const step = stepS * 1000
  let i = 0
  while (i < t.length) {
    const bucket = Math.floor((t[i] as number) / step) * step
    let j = i
    while (j < t.length && (t[j] as number) < bucket + step) j++
    out.push(stepS === 1 ? (t[i] as number) : bucket)
    for (const f of fields) {
      const col = cols[f] ?? []
      let sum = 0
      let n = 0
      for (let x = i; x < j; x++) {
        const v = col[x]
        if (typeof v === 'number' && Number.isFinite(v)) {
          sum += v
          n++
        }
      }
      ;(values[f] as (number | null)[]).push(n ? f32(sum / n) : null)
    }
    i = j
  }
  return { t: out, values }
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
  const scope = { app, sessions: [session], from: 0, to: 32503680000000 }
  // With series, one pass over transport_seconds gives both the aggregates and the per-second values.
  const trDetail = opts.series ? transportDetail(store, scope) : undefined
  trDetail?.catch(() => undefined)
  const [stored, cols, trows] = await Promise.all([
    storedAnalysis(
      store,
      app,
      session,
      trDetail?.then((rows) => rows.map(({ series: _s, ...agg }) => agg)),
    ),
    opts.series ? streamColumns(store, scope, SERIES_FIELDS) : Promise.resolve([]),
    trDetail ?? Promise.resolve([]),
  ])
  let analysis = stored
  if (!analysis) {
    analysis = (await analyzeSessions(store, app, [session], { expectedFps: opts.expectedFps }))[0]
    if (!analysis) return undefined
  }
  const detail: SessionDetail = { analysis, stored: stored !== undefined }
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
      ...columnar(c?.t ?? [], values, fields, stepS),
    }
  })
  const step = stepS * 1000
  const fields = ['rtt_ms', 'available_out_bps', 'send_bps', 'recv_bps'] as const
  const transports = trows.map((r) => {
    // Bucket starts even at 1 s steps: transport seconds are shown on the second.
    const buckets = new Map<number, (typeof r.series)[number][]>()
    for (const x of r.series) {
      const b = Math.floor(x[0] / step) * step
      const list = buckets.get(b)
      if (list) list.push(x)
      else buckets.set(b, [x])
    }
    const t = [...buckets.keys()]
    const avg = (list: (typeof r.series)[number][], k: number): number | null => {
      let sum = 0
      let n = 0
      for (const x of list) {
        const v = x[k]
        if (v !== null && v !== undefined) {
          sum += v
          n++
        }
      }
      return n ? f32(sum / n) : null
    }
    return {
      peer: r.peer_id,
      pc: r.pc_id,
      t,
      values: Object.fromEntries(fields.map((f, k) => [f, t.map((b) => avg(buckets.get(b) ?? [], k + 1))])),
    }
  })
  detail.series = { stepS, streams, transports }
  return detail
}

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
    score: a.score,
    peers: a.peers,
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
