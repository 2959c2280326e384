// A small Prometheus registry (text exposition format 0.0.4). Enough for counters, gauges and
// histograms with labels, without a dependency on the hot path.

type Labels = Record<string, string>

const esc = (v: string): string => v.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/"/g, '\\"')
const labelKey = (labels: Labels | undefined): string =>
  labels
    ? Object.keys(labels)
        .sort()
        .map((k) => `${k}="${esc(labels[k] as string)}"`)
        .join(',')
    : ''

interface Metric {
  render(): string
}

export class Counter implements Metric {
  private readonly values = new Map<string, number>()
  constructor(
    readonly name: string,
    readonly help: string,
  ) {}
  inc(labels?: Labels, by = 1): void {
    const k = labelKey(labels)
    this.values.set(k, (this.values.get(k) ?? 0) + by)
  }
  get(labels?: Labels): number {
    return this.values.get(labelKey(labels)) ?? 0
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} counter\n`
    if (this.values.size === 0) out += `${this.name} 0\n`
    for (const [k, v] of this.values) out += `${this.name}${k ? `{${k}}` : ''} ${v}\n`
    return out
  }
}

export class Gauge implements Metric {
  private readonly values = new Map<string, number>()
  constructor(
    readonly name: string,
    readonly help: string,
    private readonly collect?: () => number,
  ) {}
  set(value: number, labels?: Labels): void {
    this.values.set(labelKey(labels), value)
  }
  /** Replaces every labelled value at once (for gauges recomputed from a query). */
  reset(): void {
    this.values.clear()
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} gauge\n`
    if (this.collect) out += `${this.name} ${this.collect()}\n`
    else if (this.values.size === 0) out += `${this.name} 0\n`
    for (const [k, v] of this.values) out += `${this.name}${k ? `{${k}}` : ''} ${v}\n`
    return out
  }
}

export class Histogram implements Metric {
  private readonly series = new Map<string, { counts: number[]; sum: number; count: number }>()
  constructor(
    readonly name: string,
    readonly help: string,
    readonly buckets: readonly number[],
  ) {}
  observe(value: number, labels?: Labels): void {
    const k = labelKey(labels)
    let s = this.series.get(k)
    if (!s) this.series.set(k, (s = { counts: this.buckets.map(() => 0), sum: 0, count: 0 }))
    for (let i = 0; i < this.buckets.length; i++)
      if (value <= (this.buckets[i] as number)) (s.counts[i] as number)++
    s.sum += value
    s.count++
  }
  /** Drops all observations (for histograms recomputed from a query each scrape). */
  reset(): void {
    this.series.clear()
  }
  render(): string {
    let out = `# HELP ${this.name} ${this.help}\n# TYPE ${this.name} histogram\n`
    for (const [k, s] of this.series) {
      const sep = k ? `${k},` : ''
      this.buckets.forEach((b, i) => (out += `${this.name}_bucket{${sep}le="${b}"} ${s.counts[i]}\n`))
      out += `${this.name}_bucket{${sep}le="+Inf"} ${s.count}\n`
      out += `${this.name}_sum${k ? `{${k}}` : ''} ${s.sum}\n${this.name}_count${k ? `{${k}}` : ''} ${s.count}\n`
    }
    return out
  }
}

export class Registry {
  private readonly metrics: Metric[] = []
  counter(name: string, help: string): Counter {
    return this.add(new Counter(name, help))
  }
  gauge(name: string, help: string, collect?: () => number): Gauge {
    return this.add(new Gauge(name, help, collect))
  }
  histogram(name: string, help: string, buckets: readonly number[]): Histogram {
    return this.add(new Histogram(name, help, buckets))
  }
  render(): string {
    return this.metrics.map((m) => m.render()).join('')
  }
  private add<M extends Metric>(m: M): M {
    this.metrics.push(m)
    return m
  }
}
