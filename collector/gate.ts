// A byte budget for work whose memory is per request (ingest bodies read before their hello is
// authenticated): a request reserves what it may hold, the rest wait in order, and past `maxWaiting`
// waiters a newcomer is turned away. Small requests (a hello and a few frames) pass side by side; only
// large or unsized ones queue behind each other.

export class Gate {
  private held = 0
  private readonly waiting: { bytes: number; resolve: () => void }[] = []

  constructor(
    private readonly budget: number,
    private readonly maxWaiting: number,
  ) {}

  /**
   * Resolves true once `bytes` (capped at the budget) are reserved — call release() with the same number
   * exactly once — or false at once when the queue is full. Waiters are served in arrival order.
   */
  async acquire(bytes: number): Promise<boolean> {
    const n = Math.min(bytes, this.budget)
    if (this.waiting.length === 0 && this.held + n <= this.budget) {
      this.held += n
      return true
    }
    if (this.waiting.length >= this.maxWaiting) return false
    await new Promise<void>((resolve) => this.waiting.push({ bytes: n, resolve }))
    return true
  }

  /** Returns `bytes` to the budget and admits the waiters that now fit, in order. */
  release(bytes: number): void {
    this.held -= Math.min(bytes, this.budget)
    for (let w = this.waiting[0]; w && this.held + w.bytes <= this.budget; w = this.waiting[0]) {
      this.waiting.shift()
      this.held += w.bytes
      w.resolve()
    }
  }
}
