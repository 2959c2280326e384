// Latency histogram with fixed memory: 0.1 ms buckets below 100 ms, 1 ms buckets up to 60 s.
// Percentiles are exact to the bucket width, which is all a p99 needs.

export interface HistogramSnapshot {
  buckets: [index: number, count: number][]
  count: number
  sum: number
  max: number
}

const FINE = 1000 // 0..100 ms in 0.1 ms steps
const COARSE = 60_000 // 100 ms..60 s in 1 ms steps

export class Histogram {
  private counts = new Uint32Array(FINE + COARSE + 1)
  count = 0
  sum = 0
  max = 0

  /** Records one latency in ms (negative counts as 0; beyond 60 s goes to the last bucket). */
  add(ms: number): void {
    const v = Math.max(0, ms)
    const i = v < 100 ? Math.floor(v * 10) : Math.min(FINE + COARSE, FINE + Math.floor(v - 100))
    this.counts[i] = (this.counts[i] ?? 0) + 1
    this.count++
    this.sum += v
    if (v > this.max) this.max = v
  }

  /** Adds every observation of `other` (a snapshot from another process or window). */
  merge(other: HistogramSnapshot): void {
    for (const [i, c] of other.buckets) this.counts[i] = (this.counts[i] ?? 0) + c
    this.count += other.count
    this.sum += other.sum
    this.max = Math.max(this.max, other.max)
  }

  /** The q-quantile (0..1) in ms, upper edge of its bucket; NaN when empty. */
  quantile(q: number): number {
    if (this.count === 0) return NaN
    const rank = Math.ceil(q * this.count)
    let seen = 0
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i] ?? 0
      if (seen >= rank) return i < FINE ? (i + 1) / 10 : 100 + (i - FINE + 1)
    }
    return this.max
  }

  get mean(): number {
    return this.count ? this.sum / this.count : NaN
  }

  /** A sparse plain snapshot that survives structured clone (IPC between the load generator and the runner). */
  snapshot(): HistogramSnapshot {
    const buckets: [number, number][] = []
    for (let i = 0; i < this.counts.length; i++)
      if (this.counts[i]) buckets.push([i, this.counts[i] as number])
    return { buckets, count: this.count, sum: this.sum, max: this.max }
  }

  static from(s: HistogramSnapshot): Histogram {
    const h = new Histogram()
    h.merge(s)
    return h
  }

  reset(): void {
    this.counts.fill(0)
    this.count = this.sum = this.max = 0
  }
}

/** p-quantile of an unsorted sample array (sorts a copy); NaN when empty. */
export function quantile(values: readonly number[], q: number): number {
  if (values.length === 0) return NaN
  const s = [...values].sort((a, b) => a - b)
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil(q * s.length) - 1))] as number
}

/** Rounds to `digits` decimals for printing and JSON. */
export const r = (v: number, digits = 2): number =>
  Number.isFinite(v) ? Math.round(v * 10 ** digits) / 10 ** digits : v
