// One session for the API and the CLI: its stored analysis (or one computed on the spot) plus the
// per-second series, bucketed for long sessions. All SQL is parameterised and scoped by app.
import type { Store } from '../store/index.ts'
import { analyzeSessions } from './analyze.ts'
import type { SessionAnalysis } from './analyze.ts'
import { secondMos } from './issues.ts'
import type { StreamSeries } from './issues.ts'
import { streamSeries, transportSeries } from './queries.ts'
import type { SeriesRow } from './queries.ts'
import { f32, iso, storedAnalysis } from './stored.ts'

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

/** Buckets rows by `stepS` seconds; numeric fields become bucket means. */
function columnar(
  rows: SeriesRow[],
  stepS: number,
  mos?: (r: SeriesRow) => number | null,
): Pick<StreamSeriesJson, 't' | 'values'> {
  const fields = [...SERIES_FIELDS, ...(mos ? ['mos'] : [])]
  const t: number[] = []
  const values: Record<string, (number | null)[]> = Object.fromEntries(fields.map((f) => [f, []]))
  const step = stepS * 1000
  let i = 0
  while (i < rows.length) {
    const bucket = Math.floor((rows[i] as SeriesRow).t / step) * step
    let j = i
    while (j < rows.length && (rows[j] as SeriesRow).t < bucket + step) j++
    t.push(stepS === 1 ? (rows[i] as SeriesRow).t : bucket)
    for (const f of fields) {
      let sum = 0
      let n = 0
      for (let x = i; x < j; x++) {
        const row = rows[x] as SeriesRow
        const v =
          f === 'mos'
            ? (mos as (r: SeriesRow) => number | null)(row)
            : (row as unknown as Record<string, unknown>)[f]
        if (typeof v === 'number' && Number.isFinite(v)) {
          sum += v
          n++
        }
      }
      ;(values[f] as (number | null)[]).push(n ? f32(sum / n) : null)
    }
    i = j
  }
  return { t, values }
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
  const [stored, rows, trows] = await Promise.all([
    storedAnalysis(store, app, session),
    opts.series ? streamSeries(store, scope) : Promise.resolve([]),
    opts.series ? transportSeries(store, scope) : Promise.resolve([]),
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
  const streams: StreamSeriesJson[] = []
  for (const s of analysis.streams) {
    const mine = rows.filter((r) => r.peer_id === s.peer && r.pc_id === s.pc && r.stream_id === s.stream)
    let mos: ((r: SeriesRow) => number | null) | undefined
    if (s.kind === 'audio') {
      const br = mine
        .filter((r) => r.active === 1 && r.bitrate_bps !== null)
        .map((r) => r.bitrate_bps as number)
        .sort((a, b) => a - b)
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
      mos = (r) => secondMos(series, r)
    }
    streams.push({
      peer: s.peer,
      pc: s.pc,
      stream: s.stream,
      kind: s.kind,
      direction: s.direction,
      ...columnar(mine, stepS, mos),
    })
  }
  const pcs = [...new Set(trows.map((r) => `${r.peer_id}\n${r.pc_id}`))]
  const transports = pcs.map((k) => {
    const [peer, pc] = k.split('\n') as [string, string]
    const mine = trows.filter((r) => r.peer_id === peer && r.pc_id === pc)
    const step = stepS * 1000
    const buckets = new Map<number, typeof mine>()
    for (const r of mine) {
      const b = Math.floor(r.t / step) * step
      buckets.set(b, [...(buckets.get(b) ?? []), r])
    }
    const t = [...buckets.keys()]
    const avg = (
      list: typeof mine,
      f: 'rtt_ms' | 'available_out_bps' | 'send_bps' | 'recv_bps',
    ): number | null => {
      const v = list.map((r) => r[f]).filter((x): x is number => x !== null)
      return v.length ? f32(v.reduce((a, b) => a + b, 0) / v.length) : null
    }
    const fields = ['rtt_ms', 'available_out_bps', 'send_bps', 'recv_bps'] as const
    return {
      peer,
      pc,
      t,
      values: Object.fromEntries(fields.map((f) => [f, t.map((b) => avg(buckets.get(b) ?? [], f))])),
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
