// How far a client's clock is from the collector's, estimated from its stats frames. Per-second rows
// are stored at the report's own time (`ts`, the getStats() timestamp, client clock), so a peer whose
// clock is 5 s ahead draws its series 5 s to the right of the others: the skew is stored per peer
// (peers.clock_skew_ms) and shown beside it.
//
// `hello` carries no client time, and a stats `ts` is the clock the rows are on anyway. A report is
// taken at ts (client clock) = g + θ, where g is the same instant on the collector's clock and θ the
// skew; it arrives at a = g + age + delay (age: from getStats() to sending, ~0 for a live poll, long
// for a frame the SDK buffered and resends; delay: one-way network and queueing delay). So every frame
// gives ts − a = θ − (age + delay) ≤ θ, a lower bound, and the estimate is the largest of them: it is
// at most θ and short of it by the smallest one-way delay plus send age seen (half a round trip to the
// collector for a live WebSocket; up to the batching delay over the HTTP fallback).
//
// The estimate is due once frames have arrived for SETTLE_MS: a reconnect's burst of buffered frames
// (old, so poor bounds) comes first, live polls follow once a second, and after a few of them the
// largest bound is a live one. A later estimate more than REWRITE_MS better (a backlog that took longer
// to drain) is due again.
const SETTLE_MS = 5000
const REWRITE_MS = 1000
const INT32_MAX = 2 ** 31 - 1

export class ClockSkew {
  private best: number | undefined
  private firstAt: number | undefined
  private stored: number | undefined

  /**
   * Takes one stats frame's `ts` (client epoch ms) arriving at `arrivalMs` (collector epoch ms). Returns
   * the skew to store now (ms, client minus collector, clamped to Int32), or undefined when none is due.
   */
  observe(ts: number, arrivalMs: number): number | undefined {
    const bound = ts - arrivalMs
    if (!Number.isFinite(bound)) return undefined
    if (this.best === undefined || bound > this.best) this.best = bound
    this.firstAt ??= arrivalMs
    return arrivalMs - this.firstAt >= SETTLE_MS ? this.due() : undefined
  }

  /** The estimate if it was never returned or improved by more than REWRITE_MS since; else undefined. */
  due(): number | undefined {
    if (this.best === undefined) return undefined
    const skew = Math.max(-INT32_MAX, Math.min(INT32_MAX, Math.round(this.best)))
    if (this.stored !== undefined && skew - this.stored <= REWRITE_MS) return undefined
    this.stored = skew
    return skew
  }
}
