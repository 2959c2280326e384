// Legs: one RTP stream from a sender to a receiver, seen from both ends when both are monitored (matched
// by kind and SSRC inside the session). Each direction of a call is scored once, with the receiver's view
// of what arrived (freezes, jitter buffer, concealment) and the sender's view of why (limitation, encoder
// QP, bitrate variance). Pure.
import type { Aggregates } from './aggregates.ts'
import { round } from './aggregates.ts'
import type { StreamAggregateRow } from './queries.ts'
import { PENALTIES, eModel, mosToScore, overallScore, videoPenalties, videoScore } from './score.ts'
import type { EModelResult, Penalties } from './score.ts'

export interface AudioScore {
  mos: number
  score: number
  /** Mean E-model terms over the legs: d, id, ie, bpl, ppl, ieEff, r. */
  terms: Omit<EModelResult, 'mos'>
}
export interface Score {
  overall: number | null
  audio: AudioScore | null
  video: { score: number; penalties: Penalties } | null
  /** Legs scored: those where media flowed. */
  legs: number
}

export interface Leg {
  kind: 'audio' | 'video'
  sender: StreamRef | undefined
  receiver: StreamRef | undefined
  mos: EModelResult | null
  video: { score: number; penalties: Penalties } | null
}
export interface StreamRef {
  row: StreamAggregateRow
  agg: Aggregates
}

const pick = <T>(...vals: (T | null | undefined)[]): T | null => {
  for (const v of vals) if (v !== null && v !== undefined) return v
  return null
}

/**
 * Whether media flowed on a leg: its receiver had a second with packets, or, when only the sender is
 * monitored, the sender did. A leg without one has nothing to score (SCORING.md §0).
 */
export function legFlowed(leg: Leg): boolean {
  return ((leg.receiver ?? leg.sender)?.agg.active_seconds ?? 0) > 0
}

/**
 * Scores one leg from whichever ends are monitored; `pcRtt` is the transport RTT of a pc, if known. A
 * leg where no media flowed (legFlowed) is left unscored: `mos` and `video` stay null.
 */
export function scoreLeg(
  leg: Leg,
  opts: { expectedFps: number },
  pcRtt: (s: StreamRef | undefined) => number | null,
): void {
  if (!legFlowed(leg)) return
  const s = leg.sender?.agg
  const r = leg.receiver?.agg
  const codec = leg.receiver?.row.codec || leg.sender?.row.codec || ''
  const rtt = pick(s?.rtt_ms, r?.rtt_ms, pcRtt(leg.sender), pcRtt(leg.receiver))
  if (leg.kind === 'audio') {
    const loss = pick(r?.loss, s?.loss)
    leg.mos = eModel({
      codec,
      // The codec's active rate: seconds of silence or DTX say nothing of the codec (SCORING.md §4).
      bitrateBps: pick(leg.sender?.row.codec_rate_bps, leg.receiver?.row.codec_rate_bps),
      rttMs: rtt,
      jbMs: r?.jb_delay_ms ?? null,
      jitterMs: pick(r?.jitter_ms, s?.jitter_ms),
      // NetEq conceals late packets as well as lost ones: concealment is the loss the listener hears.
      loss: loss === null && r?.concealment == null ? null : Math.max(loss ?? 0, r?.concealment ?? 0),
    })
    return
  }
  const durationMin = ((r ?? s)?.seconds ?? 0) / 60
  const penalties = videoPenalties({
    codec,
    bitrateBps: pick(r?.bitrate_p50, s?.bitrate_p50),
    width: r?.width || s?.width || 0,
    height: r?.height || s?.height || 0,
    fps: pick(r?.fps_mean, s?.fps_mean),
    sourceFps: s?.source_fps ?? null,
    expectedFps: opts.expectedFps,
    bitrateCv: pick(s?.bitrate_cv, r?.bitrate_cv),
    frozenShare: r?.frozen_share ?? null,
    freezesPerMin: r && durationMin > 0 ? r.freeze_count / durationMin : null,
    loss: pick(r?.loss, s?.loss),
    rttMs: rtt,
    jbMs: r?.jb_delay_ms ?? null,
    limitedShare: s?.limited_share ?? null,
    qp: pick(s?.qp, r?.qp),
    droppedShare: r?.dropped_share ?? null,
  })
  leg.video = { score: videoScore(penalties), penalties }
}

const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length

/**
 * Combines legs into one score: mean MOS and E-model terms, mean penalties, then overallScore().
 * Unscored legs (no media) are left out of every mean; `legs` counts the scored ones.
 */
export function combineLegs(legs: readonly Leg[]): Score {
  const audio = legs.flatMap((l) => (l.mos ? [l.mos] : []))
  const video = legs.flatMap((l) => (l.video ? [l.video] : []))
  let a: AudioScore | null = null
  if (audio.length) {
    const m = mean(audio.map((x) => x.mos))
    const t = (k: keyof Omit<EModelResult, 'mos'>): number => round(mean(audio.map((x) => x[k])), 2) as number
    a = {
      mos: round(m, 2) as number,
      score: round(mosToScore(m), 2) as number,
      terms: {
        d: t('d'),
        id: t('id'),
        ie: t('ie'),
        bpl: t('bpl'),
        ppl: t('ppl'),
        ieEff: t('ieEff'),
        r: t('r'),
      },
    }
  }
  let v: Score['video'] = null
  if (video.length) {
    const penalties = {} as Penalties
    for (const k of PENALTIES) penalties[k] = round(mean(video.map((x) => x.penalties[k]))) as number
    v = { score: round(mean(video.map((x) => x.score)), 2) as number, penalties }
  }
  return {
    overall: round(overallScore(a?.score ?? null, v?.score ?? null), 2),
    audio: a,
    video: v,
    legs: legs.filter((l) => l.mos || l.video).length,
  }
}

/** Matches senders and receivers of one session into legs by kind and SSRC (SSRC 0 never matches). */
export function buildLegs(rows: StreamRef[]): Leg[] {
  const legs: Leg[] = []
  const senders = new Map<string, StreamRef>()
  for (const s of rows)
    if (s.row.direction === 'outbound' && s.row.ssrc) senders.set(`${s.row.kind}:${s.row.ssrc}`, s)
  const used = new Set<StreamRef>()
  for (const r of rows) {
    if (r.row.direction !== 'inbound') continue
    const s = r.row.ssrc ? senders.get(`${r.row.kind}:${r.row.ssrc}`) : undefined
    // A stream never loops back into its own pc; two pcs of one peer (a loopback demo) do pair.
    const sender = s && (s.row.peer_id !== r.row.peer_id || s.row.pc_id !== r.row.pc_id) ? s : undefined
    if (sender) used.add(sender)
    legs.push({ kind: r.row.kind, sender, receiver: r, mos: null, video: null })
  }
  for (const s of rows) {
    if (s.row.direction === 'outbound' && !used.has(s))
      legs.push({ kind: s.row.kind, sender: s, receiver: undefined, mos: null, video: null })
  }
  return legs
}
