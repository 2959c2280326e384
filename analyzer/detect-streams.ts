// Detectors over one RTP stream's per-second series: jitter, loss, MOS, key-frame storms, and freezes
// (detect-freezes.ts) and CPU/bandwidth limitation (detect-limitation.ts). Pure. Thresholds and sources: SCORING.md.
import { SECOND, issue, persistentEpisodes, r1, r3, runs, spanOf, stats } from './episodes.ts'
import type { DetectOptions, Episode, Issue, StreamSecond, StreamSeries } from './episodes.ts'
import { freezeIssues } from './detect-freezes.ts'
import { limitationIssues } from './detect-limitation.ts'
import { eModel } from './score.ts'

/** Per-second MOS of an audio row (the E-model of score.ts on that second's values), or null. */
export function secondMos(
  s: StreamSeries,
  r: StreamSecond,
  fallbackRttMs: number | null = null,
): number | null {
  if (s.kind !== 'audio' || r.active !== 1) return null
  const loss = Math.max(r.loss_ratio ?? 0, r.concealment_ratio ?? 0)
  return eModel({
    codec: s.codec,
    bitrateBps: s.codecRateBps,
    rttMs: r.rtt_ms ?? fallbackRttMs,
    jbMs: s.direction === 'inbound' ? r.jb_delay_ms : null,
    jitterMs: r.jitter_ms,
    loss,
  }).mos
}

/** Every stream-level issue of `s`; `rttOf` gives the pc's RTT at a time, for the MOS. */
export function streamIssues(
  s: StreamSeries,
  opts: DetectOptions,
  rttOf: (t: number) => number | null,
): Issue[] {
  const out: Issue[] = []
  const rows = s.rows
  const at = (i: number): StreamSecond => rows[i] as StreamSecond
  const values = (e: Episode, f: (r: StreamSecond) => number | null): number[] =>
    e.hits.map((i) => f(at(i))).filter((v): v is number => v !== null)

  // Video RTP jitter includes the pacer spreading each frame's packets (all share one RTP timestamp), so
  // only audio jitter measures the network; video network jitter shows up as freezes and buffer delay.
  if (s.kind === 'audio') {
    for (const e of persistentEpisodes(rows, (r) => (r.jitter_ms ?? 0) > 30)) {
      const v = stats(values(e, (r) => r.jitter_ms))
      out.push(
        issue(
          s,
          'high_jitter',
          v.mean > 100 ? 'critical' : 'warning',
          at(e.from).t,
          at(e.to).t,
          {
            seconds: e.hits.length,
            mean_jitter_ms: r1(v.mean),
            max_jitter_ms: r1(v.max),
          },
          `${s.direction} audio jitter above 30 ms in ${e.hits.length} s (mean ${r1(v.mean)} ms, max ${r1(v.max)} ms)`,
        ),
      )
    }
  }

  for (const e of persistentEpisodes(rows, (r) => (r.loss_ratio ?? 0) > 0.01)) {
    const v = stats(values(e, (r) => r.loss_ratio))
    out.push(
      issue(
        s,
        'packet_loss',
        v.mean > 0.05 ? 'critical' : 'warning',
        at(e.from).t,
        at(e.to).t,
        {
          seconds: e.hits.length,
          mean_loss: r3(v.mean),
          max_loss: r3(v.max),
        },
        `${s.direction} ${s.kind} loss above 1% in ${e.hits.length} s (mean ${r1(v.mean * 100)}%, max ${r1(v.max * 100)}%)`,
      ),
    )
  }

  if (s.kind === 'audio') {
    const mos = rows.map((r) => secondMos(s, r, rttOf(r.t)))
    const idx = new Map(rows.map((r, i) => [r, i]))
    for (const e of persistentEpisodes(rows, (r) => {
      const m = mos[idx.get(r) as number]
      return m !== null && m !== undefined && m < 3.5
    })) {
      const v = stats(e.hits.map((i) => mos[i] as number))
      const min = Math.min(...e.hits.map((i) => mos[i] as number))
      out.push(
        issue(
          s,
          'low_mos',
          v.mean < 2.5 ? 'critical' : 'warning',
          at(e.from).t,
          at(e.to).t,
          {
            seconds: e.hits.length,
            mean_mos: Math.round(v.mean * 100) / 100,
            min_mos: Math.round(min * 100) / 100,
          },
          `${s.direction} audio MOS below 3.5 in ${e.hits.length} s (mean ${v.mean.toFixed(2)}, min ${min.toFixed(2)})`,
        ),
      )
    }
  }

  if (s.kind === 'video' && s.direction === 'inbound') out.push(...freezeIssues(s))

  if (s.kind === 'video' && s.direction === 'outbound') out.push(...limitationIssues(s, opts))

  if (s.kind === 'video') {
    // Start-up key frames are normal: the storm rule starts 5 s after the stream's first row.
    const t0 = spanOf(s).start + 5 * SECOND
    const storm = (i: number): number => {
      let sum = 0
      const t = at(i).t
      for (let j = i; j >= 0 && t - at(j).t < 10 * SECOND; j--) if (at(j).t >= t0) sum += at(j).keyframes ?? 0
      return sum
    }
    const counts = rows.map((_, i) => storm(i))
    const idx = new Map(rows.map((r, i) => [r, i]))
    for (const e of runs(rows, (r) => (counts[idx.get(r) as number] as number) >= 5, 10 * SECOND)) {
      const kf = e.hits.reduce((a, i) => a + (at(i).keyframes ?? 0), 0)
      const peak = Math.max(...e.hits.map((i) => counts[i] as number))
      const pli = stats(values(e, (r) => r.pli_per_s))
      out.push(
        issue(
          s,
          'keyframe_storm',
          peak >= 10 ? 'critical' : 'warning',
          at(e.from).t,
          at(e.to).t,
          {
            keyframes: kf,
            max_per_10s: peak,
            mean_pli_per_s: r1(pli.mean),
          },
          `${peak} key frames within 10 s on ${s.direction} video (mean ${r1(pli.mean)} PLI/s)`,
        ),
      )
    }
  }
  return out
}
