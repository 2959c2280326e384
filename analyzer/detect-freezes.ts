// Freezes of one inbound video stream as the viewer sees them (SCORING.md §6, score_version 2). Pure.
import { SECOND, issue, r1, runs, spanOf } from './episodes.ts'
import type { Issue, StreamSecond, StreamSeries } from './episodes.ts'
import { FREEZE_JOIN_MS, HICCUP_MAX_S, STALL_FPS, TEARDOWN_MS } from './thresholds.ts'

/**
 * A second without a decoded frame between the stream's first and last active second: the picture
 * stood still. Stray packets (padding, a late retransmission) do not end a stall; frames do.
 */
export function isStalled(r: StreamSecond, firstActive: number | null, lastActive: number | null): boolean {
  if (firstActive === null || lastActive === null || r.t <= firstActive || r.t >= lastActive) return false
  return r.active === 0 || (r.fps !== null && r.fps < STALL_FPS)
}

/** Freezes and pauses libwebrtc reported in this second (webrtc-stats §7.6 freezeCount, pauseCount). */
const reported = (r: StreamSecond): number => (r.freeze_count ?? 0) + (r.pause_count ?? 0)
/** Frozen plus paused share of the second, at most 1. */
const frozenShare = (r: StreamSecond): number => Math.min(1, (r.frozen_share ?? 0) + (r.paused_share ?? 0))

/**
 * One issue per freeze episode (stalled seconds and seconds with reported freezes or pauses, joined
 * across FREEZE_JOIN_MS) of at least HICCUP_MAX_S; all shorter episodes of the stream make one more
 * issue with their count and total. The stream's last second is ignored (teardown artefact).
 */
export function freezeIssues(s: StreamSeries): Issue[] {
  const rows = s.rows
  const { firstActive, lastActive, end } = spanOf(s)
  const stalled = (r: StreamSecond): boolean => isStalled(r, firstActive, lastActive)
  const counted = (r: StreamSecond): boolean => r.t <= end - TEARDOWN_MS
  const hit = (r: StreamSecond): boolean =>
    stalled(r) || (counted(r) && (reported(r) > 0 || frozenShare(r) > 0))
  const out: Issue[] = []
  const hiccups = { n: 0, episodes: 0, frozen: 0, start: 0, end: 0 }
  for (const e of runs(rows, hit, FREEZE_JOIN_MS)) {
    let count = 0
    let frozen = 0
    let stalledS = 0
    for (const i of e.hits) {
      const r = rows[i] as StreamSecond
      const dt = (r.interval_ms || SECOND) / SECOND
      if (counted(r)) count += reported(r)
      // A stalled second is frozen whole; a freeze reported when the next frame arrives covers the
      // stalled seconds before it, so it only adds what the stall did not already count.
      if (stalled(r)) stalledS += dt
      else if (counted(r)) frozen += frozenShare(r) * dt
    }
    const total = frozen + stalledS
    const freezes = Math.max(count, stalledS > 0 ? 1 : 0)
    const a = rows[e.from] as StreamSecond
    const b = rows[e.to] as StreamSecond
    if (total < HICCUP_MAX_S) {
      if (hiccups.episodes === 0) hiccups.start = a.t
      hiccups.end = b.t
      hiccups.episodes++
      hiccups.n += freezes
      hiccups.frozen += total
      continue
    }
    out.push(
      issue(
        s,
        'freeze',
        total >= 3 ? 'critical' : 'warning',
        a.t,
        b.t,
        { freezes, frozen_s: r1(total), stalled_s: r1(stalledS) },
        `video froze for ${r1(total)} s (${freezes} freeze(s)${stalledS > 0 ? `, ${r1(stalledS)} s without frames` : ''})`,
      ),
    )
  }
  if (hiccups.episodes > 0) {
    out.push(
      issue(
        s,
        'freeze',
        hiccups.frozen >= HICCUP_MAX_S ? 'warning' : 'info',
        hiccups.start,
        hiccups.end,
        { freezes: hiccups.n, episodes: hiccups.episodes, frozen_s: r1(hiccups.frozen), stalled_s: 0 },
        `${hiccups.episodes} short freeze(s) under ${HICCUP_MAX_S} s, ${r1(hiccups.frozen)} s in total`,
      ),
    )
  }
  return out.sort((x, y) => x.start - y.start)
}
