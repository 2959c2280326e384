// Issue detection for a session: runs the stream, connection and setup detectors (detect-streams.ts,
// detect-connections.ts, detect-setup.ts) and merges what a rolling live window sees again. The
// vocabulary and episode rules are in episodes.ts and re-exported here. Pure.
import { pcIssues, iceIssues } from './detect-connections.ts'
import { setupIssues } from './detect-setup.ts'
import { streamIssues } from './detect-streams.ts'
import { SECOND, SEVERITY_RANK } from './episodes.ts'
import type { DetectOptions, Issue, StateEvent, StreamSeries, TransportSeries } from './episodes.ts'

export { ISSUE_TYPES, persistentEpisodes } from './episodes.ts'
export type {
  DetectOptions,
  Issue,
  IssueType,
  Severity,
  StateEvent,
  StreamSecond,
  StreamSeries,
  TransportSecond,
  TransportSeries,
} from './episodes.ts'
export { iceIssues } from './detect-connections.ts'
export { secondMos } from './detect-streams.ts'

/**
 * Runs every detector. `streams` and `transports` need only hold the series worth looking at (the
 * analyzer pre-filters in SQL); events are the session's connection-state and media-error events.
 * Sorted by start.
 */
export function detectIssues(
  streams: readonly StreamSeries[],
  transports: readonly TransportSeries[],
  events: readonly StateEvent[],
  opts: DetectOptions,
): Issue[] {
  const out: Issue[] = []
  const trByPc = new Map(transports.map((t) => [`${t.peer}\n${t.pc}`, t]))
  const rttOf = (key: string) => {
    const tr = trByPc.get(key)
    if (!tr) return () => null
    const m = new Map(tr.rows.map((r) => [Math.round(r.t / SECOND), r.rtt_ms]))
    return (t: number): number | null => m.get(Math.round(t / SECOND)) ?? null
  }
  const pcs = new Map<string, { peer: string; pc: string }>()
  for (const s of streams) {
    out.push(...streamIssues(s, opts, rttOf(`${s.peer}\n${s.pc}`)))
    pcs.set(`${s.peer}\n${s.pc}`, { peer: s.peer, pc: s.pc })
  }
  for (const t of transports) pcs.set(`${t.peer}\n${t.pc}`, { peer: t.peer, pc: t.pc })
  for (const [key, pc] of pcs) {
    const inbound = streams.filter((s) => s.direction === 'inbound' && `${s.peer}\n${s.pc}` === key)
    out.push(...pcIssues(trByPc.get(key), inbound, pc))
  }
  out.push(...iceIssues(events, opts.end))
  out.push(...setupIssues(events))
  return out.sort((a, b) => a.start - b.start || a.type.localeCompare(b.type))
}

const issueKey = (i: Issue): string => `${i.type}\n${i.peer}\n${i.pc}\n${i.stream}`

/**
 * Live scoring sees a rolling window, so an episode crossing the window's start is seen again, shorter.
 * Joins `fresh` episodes onto `known` ones of the same key that they overlap or follow within `gapMs`,
 * keeping the earlier start, the later end, the higher severity and the larger evidence values.
 * Returns the episodes that are new or changed.
 */
export function mergeIssues(known: Issue[], fresh: readonly Issue[], gapMs: number): Issue[] {
  const changed: Issue[] = []
  for (const f of fresh) {
    const k = issueKey(f)
    const prev = known.find((i) => issueKey(i) === k && f.start <= i.end + gapMs && f.end >= i.start - gapMs)
    if (!prev) {
      known.push(f)
      changed.push(f)
      continue
    }
    const start = Math.min(prev.start, f.start)
    const end = Math.max(prev.end, f.end)
    const severity = SEVERITY_RANK[f.severity] > SEVERITY_RANK[prev.severity] ? f.severity : prev.severity
    const evidence = { ...prev.evidence }
    for (const [ek, v] of Object.entries(f.evidence)) evidence[ek] = Math.max(evidence[ek] ?? -Infinity, v)
    if (start === prev.start && end === prev.end && severity === prev.severity) continue
    Object.assign(prev, {
      start,
      end,
      severity,
      evidence,
      detail: f.end >= prev.end ? f.detail : prev.detail,
    })
    changed.push(prev)
  }
  return changed
}
