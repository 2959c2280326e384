// The sessions one analyzer instance scores live, and those it finalised lately (a late frame re-opens
// a session, but it is counted in the metrics once). Plain bookkeeping: no I/O, no clock of its own.
import type { Issue } from './issues.ts'

export interface LiveSession {
  app: string
  session: string
  /** Latest frame timestamp seen (report clock, epoch ms). */
  lastTs: number
  /** When (analyzer clock) lastTs last advanced. */
  advancedAt: number
  issues: Issue[]
  /** Live issues ongoing at the last scoring. */
  active: Issue[]
  /** Finalised before (by this or another instance): finalising it again is not counted in the metrics. */
  counted: boolean
}

const key = (app: string, session: string): string => `${app}\n${session}`

export class LiveSessions {
  private readonly live = new Map<string, LiveSession>()
  private readonly finalized = new Map<string, { lastTs: number; at: number }>()

  get(app: string, session: string): LiveSession | undefined {
    return this.live.get(key(app, session))
  }

  /** Starts scoring a session live; returns the existing entry when there is one. */
  open(app: string, session: string, lastTs: number, at: number, counted: boolean): LiveSession {
    const k = key(app, session)
    let s = this.live.get(k)
    if (!s) this.live.set(k, (s = { app, session, lastTs, advancedAt: at, issues: [], active: [], counted }))
    return s
  }

  /**
   * Where a session with a frame at `last` stands here: `known` (live here, or finalised here and
   * nothing newer arrived), `reopened` (finalised here, a later frame arrived) or `new`.
   */
  status(app: string, session: string, last: number): 'known' | 'reopened' | 'new' {
    if (this.live.has(key(app, session))) return 'known'
    const f = this.finalized.get(key(app, session))
    if (!f) return 'new'
    return last <= f.lastTs ? 'known' : 'reopened'
  }

  /** Remembers that a session is final up to its frame at `lastTs` (by this instance or, read from the store, another). */
  markFinal(app: string, session: string, lastTs: number, at: number): void {
    this.live.delete(key(app, session))
    this.finalized.set(key(app, session), { lastTs, at })
  }

  /** Drops the live sessions `keep` refuses (another instance owns them now); returns how many. */
  retain(keep: (s: LiveSession) => boolean): number {
    let n = 0
    for (const [k, s] of this.live)
      if (!keep(s)) {
        this.live.delete(k)
        n++
      }
    return n
  }

  /** Forgets finalised sessions older than `before` (analyzer clock): discovery no longer returns them. */
  expire(before: number): void {
    for (const [k, f] of this.finalized) if (f.at < before) this.finalized.delete(k)
  }

  values(): IterableIterator<LiveSession> {
    return this.live.values()
  }
}
