// Prometheus metrics on prom-client (text exposition format 0.0.4). The classes keep the calls the hot
// path makes (`inc(labels?, by)`, `set`, `observe`, with label objects) and hand the storage and the
// exposition to prom-client; a metric names its label keys when it is created, as Prometheus requires
// one label set per metric name (prom-client throws on a label it was not given).
import {
  Counter as PromCounter,
  Gauge as PromGauge,
  Histogram as PromHistogram,
  Registry as PromRegistry,
  collectDefaultMetrics,
} from 'prom-client'

type Labels = Record<string, string>

/** Content type of `renderMetrics`: Prometheus text format 0.0.4. */
export const METRICS_CONTENT_TYPE = PromRegistry.PROMETHEUS_CONTENT_TYPE

export class Counter {
  constructor(readonly metric: PromCounter) {}
  /** Adds `by` (default 1, never negative) to the series of `labels`. Throws on an undeclared label. */
  inc(labels?: Labels, by = 1): void {
    if (labels) this.metric.inc(labels, by)
    else this.metric.inc(by)
  }
  /** The current value of the series of `labels` (0 when it has none). */
  async get(labels: Labels = {}): Promise<number> {
    const keys = Object.keys(labels)
    const { values } = await this.metric.get()
    const v = values.find(
      (s) =>
        Object.keys(s.labels).length === keys.length && keys.every((k) => String(s.labels[k]) === labels[k]),
    )
    return v?.value ?? 0
  }
}

export class Gauge {
  constructor(readonly metric: PromGauge) {}
  set(value: number, labels?: Labels): void {
    if (labels) this.metric.set(labels, value)
    else this.metric.set(value)
  }
  /** Replaces every labelled value at once (for gauges recomputed from a query). */
  reset(): void {
    this.metric.reset()
  }
}

export class Histogram {
  constructor(readonly metric: PromHistogram) {}
  observe(value: number, labels?: Labels): void {
    if (labels) this.metric.observe(labels, value)
    else this.metric.observe(value)
  }
  /** Drops all observations (for histograms recomputed from a query each scrape). */
  reset(): void {
    this.metric.reset()
  }
}

/** One set of metrics (the collector's, the analyzer's); `renderMetrics` serves several together. */
export class Registry {
  readonly prom = new PromRegistry()
  /** A counter; `labels` names the label keys its `inc` calls may pass. */
  counter(name: string, help: string, labels: readonly string[] = []): Counter {
    return new Counter(new PromCounter({ name, help, labelNames: labels, registers: [this.prom] }))
  }
  /** A gauge: set by its owner, or, given `collect`, read from it at each scrape. */
  gauge(name: string, help: string, collect?: (() => number) | readonly string[]): Gauge {
    const read = typeof collect === 'function' ? collect : undefined
    return new Gauge(
      new PromGauge({
        name,
        help,
        labelNames: Array.isArray(collect) ? collect : [],
        registers: [this.prom],
        ...(read && {
          collect(this: PromGauge) {
            this.set(read())
          },
        }),
      }),
    )
  }
  histogram(
    name: string,
    help: string,
    buckets: readonly number[],
    labels: readonly string[] = [],
  ): Histogram {
    return new Histogram(
      new PromHistogram({ name, help, buckets: [...buckets], labelNames: labels, registers: [this.prom] }),
    )
  }
  /** This registry alone in the text format. */
  render(): Promise<string> {
    return this.prom.metrics()
  }
}

let processRegistry: Registry | undefined

/**
 * prom-client's default process metrics (CPU, resident memory, open fds, heap spaces, GC durations,
 * event-loop lag, …), collected once per process however many servers it runs.
 */
export function processMetrics(): Registry {
  if (!processRegistry) {
    processRegistry = new Registry()
    collectDefaultMetrics({ register: processRegistry.prom })
  }
  return processRegistry
}

/** Several registries as one exposition. Rejects if two define the same metric name. */
export function renderMetrics(registries: readonly Registry[]): Promise<string> {
  return PromRegistry.merge(registries.map((r) => r.prom)).metrics()
}
