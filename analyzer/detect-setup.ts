// Detectors of calls that failed before media could flow: a refused or failed getUserMedia /
// getDisplayMedia (the SDK's `getUserMedia.error` / `getDisplayMedia.error` events). Pure.
import { issue } from './episodes.ts'
import type { Issue, StateEvent } from './episodes.ts'

/**
 * DOMException names that mean the user, the browser or a policy refused access (Media Capture and
 * Streams §10.2 getUserMedia step "permission failure": NotAllowedError; SecurityError when the document
 * may not use the device; PermissionDeniedError is Chrome < 56's name for the same). Any other name
 * (NotFoundError, NotReadableError, OverconstrainedError, AbortError, TypeError…) is a device error.
 */
export const ACCESS_DENIED_ERRORS: ReadonlySet<string> = new Set([
  'NotAllowedError',
  'SecurityError',
  'PermissionDeniedError',
])

/** Whether an error name means access was refused rather than the device failing. */
export const isAccessDenied = (name: string): boolean => ACCESS_DENIED_ERRORS.has(name)

/**
 * One issue per getUserMedia/getDisplayMedia error event: `media_access_denied` or `media_device_error`,
 * the method, error name and message in `detail` (evidence is numeric: `count` of identical errors
 * joined). Critical: the user could not send what the call needed. Never throws.
 */
export function setupIssues(events: readonly StateEvent[]): Issue[] {
  const out: Issue[] = []
  const byKey = new Map<string, Issue>()
  for (const e of events) {
    if (!e.error) continue
    const method = /getDisplayMedia/i.test(e.name) ? 'getDisplayMedia' : 'getUserMedia'
    const type = isAccessDenied(e.error.name) ? 'media_access_denied' : 'media_device_error'
    // A page that retries the same refused call in a loop raises one issue, not one per attempt.
    const key = `${e.peer}\n${method}\n${e.error.name}\n${e.error.message}`
    const prev = byKey.get(key)
    if (prev) {
      prev.end = Math.max(prev.end, e.t)
      prev.evidence.count = (prev.evidence.count ?? 1) + 1
      continue
    }
    const message = e.error.message ? `: ${e.error.message}` : ''
    const i = issue(
      { peer: e.peer, pc: e.pc },
      type,
      'critical',
      e.t,
      e.t,
      { count: 1 },
      `${method} failed with ${e.error.name}${message}`,
    )
    byKey.set(key, i)
    out.push(i)
  }
  return out
}
