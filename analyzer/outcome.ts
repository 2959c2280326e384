// Whether media flowed at all (analyzer/SCORING.md §0). A call whose media never flowed has no quality
// to score: it gets a failed outcome with its reason instead of a score. Pure.
import { isAccessDenied } from './detect-setup.ts'
import type { StateEvent } from './episodes.ts'

export const OUTCOMES = ['ok', 'failed', 'setup_failed'] as const
export type OutcomeStatus = (typeof OUTCOMES)[number]

/** Why media never flowed; '' for `ok`. A small fixed set: it labels a Prometheus counter. */
export const OUTCOME_REASONS = [
  'media_access_denied',
  'media_device_error',
  'ice_failed',
  'never_connected',
  'no_media',
] as const
export type OutcomeReason = (typeof OUTCOME_REASONS)[number]

export interface Outcome {
  outcome: OutcomeStatus
  outcomeReason: OutcomeReason | ''
  /** One line for people: the error, or what the connection did. */
  outcomeDetail: string
}

export const OK: Outcome = { outcome: 'ok', outcomeReason: '', outcomeDetail: '' }

/** What one session (or one peer of it) shows of its connections and media. */
export interface OutcomeEvidence {
  /** Some leg it sends or receives had an active second (legs.ts legFlowed). */
  flowed: boolean
  /** `peer\npc` of every pc with an RTP stream row. */
  streamPcs: ReadonlySet<string>
  /** `peer\npc` of every pc with a transport row (a selected candidate pair: it connected). */
  transportPcs: ReadonlySet<string>
  /** Its events (connection states, getUserMedia/getDisplayMedia errors, goodbyes). */
  events: readonly StateEvent[]
}

const base = (name: string): string => name.slice(name.lastIndexOf('.') + 1).toLowerCase()

/** Per pc, the states it reported: connectionState when it sent any (it includes DTLS), else ICE's. */
function pcStates(events: readonly StateEvent[]): Map<string, string[]> {
  const by = new Map<string, StateEvent[]>()
  for (const e of events) {
    const n = base(e.name)
    if (n !== 'connectionstatechange' && n !== 'iceconnectionstatechange') continue
    const k = `${e.peer}\n${e.pc}`
    by.set(k, [...(by.get(k) ?? []), e])
  }
  const out = new Map<string, string[]>()
  for (const [k, list] of by) {
    const conn = list.some((e) => base(e.name) === 'connectionstatechange')
    const use = list.filter(
      (e) => base(e.name) === (conn ? 'connectionstatechange' : 'iceconnectionstatechange'),
    )
    out.set(
      k,
      use.map((e) => e.state.toLowerCase()),
    )
  }
  return out
}

/**
 * The outcome of a session or peer, or undefined when there is nothing to judge (no pc, no stream, no
 * media error: not a call). Rules, in order (SCORING.md §0):
 * media flowed → ok; a getUserMedia/getDisplayMedia error → setup_failed; no RTP stream but a pc that
 * connected (a data-channel-only call) → ok; a pc reached `failed` and none connected → ice_failed; no
 * pc ever connected → never_connected; else (connected, but no packets) → no_media.
 */
export function judgeOutcome(ev: OutcomeEvidence): Outcome | undefined {
  if (ev.flowed) return OK
  const error = ev.events.find((e) => e.error)?.error
  if (error) {
    const method =
      ev.events.find((e) => e.error)?.name.match(/get(User|Display)Media/i)?.[0] ?? 'getUserMedia'
    return {
      outcome: 'setup_failed',
      outcomeReason: isAccessDenied(error.name) ? 'media_access_denied' : 'media_device_error',
      outcomeDetail: `${method} failed with ${error.name}${error.message ? `: ${error.message}` : ''}`,
    }
  }
  const states = pcStates(ev.events)
  const pcs = new Set([...ev.streamPcs, ...ev.transportPcs, ...states.keys()])
  // The SDK's monitor channel `_` is no peer connection.
  for (const k of pcs) if (k.endsWith('\n_')) pcs.delete(k)
  if (pcs.size === 0) return undefined
  const connected = (k: string): boolean =>
    ev.transportPcs.has(k) || (states.get(k) ?? []).some((s) => s === 'connected' || s === 'completed')
  const anyConnected = [...pcs].some(connected)
  if (ev.streamPcs.size === 0 && anyConnected) return OK
  const n = pcs.size
  if (!anyConnected) {
    const failed = [...pcs].filter((k) => (states.get(k) ?? []).includes('failed')).length
    if (failed > 0)
      return {
        outcome: 'failed',
        outcomeReason: 'ice_failed',
        outcomeDetail: `${failed} of ${n} peer connection(s) failed (ICE/DTLS) without ever connecting; no media flowed`,
      }
    return {
      outcome: 'failed',
      outcomeReason: 'never_connected',
      outcomeDetail: `none of ${n} peer connection(s) ever connected; no media flowed`,
    }
  }
  return {
    outcome: 'failed',
    outcomeReason: 'no_media',
    outcomeDetail: `connected, but no RTP packets flowed on any of ${ev.streamPcs.size} peer connection(s) with media`,
  }
}
