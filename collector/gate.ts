// A counting gate: at most `max` holders at once, the rest wait in order, and past `maxWaiting` waiters
// a newcomer is turned away. Bounds the memory of work whose cost is per holder (request bodies).

export class Gate {
  private holders = 0
  private readonly waiting: (() => void)[] = []

  constructor(
    private readonly max: number,
    private readonly maxWaiting: number,
  ) {}

  /** Resolves true once held (call release() exactly once), or false at once when the queue is full. */
  async acquire(): Promise<boolean> {
    if (this.holders < this.max) {
      this.holders++
      return true
    }
    if (this.waiting.length >= this.maxWaiting) return false
    await new Promise<void>((resolve) => this.waiting.push(resolve))
    return true
  }

  /** Hands the slot to the next waiter, or frees it. */
  release(): void {
    const next = this.waiting.shift()
    if (next) next()
    else this.holders--
  }
}
