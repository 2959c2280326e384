// Detectors over one RTP stream's per-second series: jitter, loss, MOS, freezes, CPU/bandwidth
// limitation and key-frame storms. Pure. Thresholds and sources: SCORING.md.
import { SECOND, issue, persistentEpisodes, r1, r3, runs, spanOf, stats } from './episodes.ts'
import type { DetectOptions, Episode, Issue, StreamSecond, StreamSeries } from './episodes.ts'
import { eModel, targetBitrateBps } from './score.ts'

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

  if (s.kind === 'video' && s.direction === 'inbound') out.push(...freezes(s))

  if (s.kind === 'video' && s.direction === 'outbound') {
    const maxHeight = spanOf(s).maxHeight
    const limited = (r: StreamSecond): 'bandwidth' | 'cpu' | undefined => {
      if (r.active !== 1) return undefined
      const bw = r.limit_bandwidth_share ?? (r.limitation === 'bandwidth' ? 1 : 0)
      const cpu = r.limit_cpu_share ?? (r.limitation === 'cpu' ? 1 : 0)
      if (Math.max(bw, cpu) < 0.5) return undefined
      // libwebrtc reports `bandwidth` while its estimate ramps up even at full quality: only count seconds
      // where the limitation cost something (smaller frames, fewer fps or too few bits for the size).
      const costly =
        (r.height > 0 && r.height < maxHeight) ||
        (r.fps !== null && r.fps < 0.8 * opts.expectedFps) ||
        (r.bitrate_bps !== null && r.height > 0 && r.bitrate_bps < 0.8 * targetBitrateBps(r.width, r.height))
      if (!costly) return undefined
      return cpu > bw ? 'cpu' : 'bandwidth'
    }
    for (const e of persistentEpisodes(rows, (r) => limited(r) !== undefined)) {
      const reasons = e.hits.map((i) => limited(at(i)))
      const cpuN = reasons.filter((x) => x === 'cpu').length
      const type = cpuN > reasons.length / 2 ? 'cpu_limitation' : 'bandwidth_limitation'
      const fps = stats(values(e, (r) => r.fps))
      const br = stats(values(e, (r) => r.bitrate_bps))
      const h = stats(values(e, (r) => r.height))
      out.push(
        issue(
          s,
          type,
          fps.mean < 10 ? 'critical' : 'warning',
          at(e.from).t,
          at(e.to).t,
          {
            seconds: e.hits.length,
            mean_bitrate_bps: Math.round(br.mean),
            mean_fps: r1(fps.mean),
            mean_height: Math.round(h.mean),
            max_height: maxHeight,
          },
          `video limited by ${type === 'cpu_limitation' ? 'CPU' : 'bandwidth'} for ${e.hits.length} s (${Math.round(br.mean / 1000)} kbps, ${r1(fps.mean)} fps, ${Math.round(h.mean)}p)`,
        ),
      )
    }
  }

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

/**
 * Freezes of one inbound video stream: seconds with freeze stats (libwebrtc counts a freeze when the
 * next frame arrives, webrtc-stats §7.6 freezeCount) and seconds without any packet between the
 * stream's first and last active second (a stall the receiver shows as a frozen picture).
 */
function freezes(s: StreamSeries): Issue[] {
  const rows = s.rows
  const { firstActive, lastActive } = spanOf(s)
  const stalled = (r: StreamSecond): boolean =>
    r.active === 0 && firstActive !== null && lastActive !== null && r.t > firstActive && r.t < lastActive
  const hit = (r: StreamSecond): boolean =>
    (r.freeze_count ?? 0) > 0 || (r.frozen_share ?? 0) > 0 || stalled(r)
  const out: Issue[] = []
  for (const e of runs(rows, hit, 2 * SECOND)) {
    let count = 0
    let frozen = 0
    let stalledS = 0
    for (const i of e.hits) {
      const r = rows[i] as StreamSecond
      count += r.freeze_count ?? 0
      const dt = (r.interval_ms || SECOND) / SECOND
      if (stalled(r)) stalledS += dt
      else frozen += (r.frozen_share ?? 0) * dt
    }
    const total = frozen + stalledS
    const a = rows[e.from] as StreamSecond
    const b = rows[e.to] as StreamSecond
    out.push(
      issue(
        s,
        'freeze',
        total >= 3 ? 'critical' : 'warning',
        a.t,
        b.t,
        {
          freezes: Math.max(count, stalledS > 0 ? 1 : 0),
          frozen_s: r1(total),
          stalled_s: r1(stalledS),
        },
        `video froze for ${r1(total)} s (${Math.max(count, stalledS > 0 ? 1 : 0)} freeze(s)${stalledS > 0 ? `, ${r1(stalledS)} s without packets` : ''})`,
      ),
    )
  }
  return out
}
