// When scoring happens: every `intervalMs` one pass (analyzer/pass.ts), never two at once, errors
// logged and counted. Any number of analyzers may run on one store (inside collectors or standalone):
// they share the sessions through a membership table in ClickHouse (analyzer/members.ts), each scoring
// and counting only the sessions it owns, and a stopped or dead one's sessions pass to the others.
import { randomBytes } from 'node:crypto'
import { hostname } from 'node:os'
import type { Logger } from 'pino'
import type { Store } from '../store/index.ts'
import type { SessionAnalysis } from './analyze.ts'
import { createAnalyzerMetrics } from './analyzer-metrics.ts'
import type { AnalyzerMetrics } from './analyzer-metrics.ts'
import { Membership } from './members.ts'
import { ScoringPasses } from './pass.ts'
import type { PassConfig, TickResult } from './pass.ts'

export { createAnalyzerMetrics }
export type { AnalyzerMetrics, TickResult }

/** The default membership lifetime, and its floor in scoring intervals (a live member beats every pass). */
export const DEFAULT_MEMBER_TTL_MS = 20_000
const MIN_TTL_INTERVALS = 3

export interface AnalyzerDeps {
  store: Store
  log: Logger
  config: PassConfig & {
    /** An instance silent this long is gone and its sessions move, ms (raised to 3 intervals). */
    memberTtlMs?: number
  }
  metrics?: AnalyzerMetrics
  /** This instance's name among the analyzers on the store (default host-pid-random). */
  instance?: string
  /** Clock, epoch ms (tests move it). */
  now?: () => number
}

export interface Analyzer {
  readonly metrics: AnalyzerMetrics
  /** This instance's name in analyzer_members. */
  readonly instance: string
  /** One pass: heartbeat, discover, re-score live sessions, finalise ended or idle ones. Rejects with StoreError. */
  tick(): Promise<TickResult>
  /** Scores a session over its whole span now and stores it as final. */
  finalize(app: string, session: string): Promise<SessionAnalysis | undefined>
  /** Runs tick() every intervalMs (never two at once); errors are logged and counted. */
  start(): void
  /** Stops the loop, waits for a running pass and leaves the members. Never rejects. */
  stop(): Promise<void>
}

/** A unique instance name: host, pid and 4 random bytes (a restarted process is a new member). */
export const instanceName = (): string => `${hostname()}-${process.pid}-${randomBytes(4).toString('hex')}`

/** Runs `pass` every `intervalMs` after the previous one ended; `onError` gets a rejected pass. */
export class Loop {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> | undefined
  private stopped = false

  constructor(
    private readonly intervalMs: number,
    private readonly pass: () => Promise<unknown>,
  ) {}

  start(): void {
    this.stopped = false
    if (!this.timer && !this.running) this.timer = setTimeout(() => this.run(), 0).unref()
  }

  /** Resolves once no pass runs and none is scheduled. */
  async stop(): Promise<void> {
    this.stopped = true
    if (this.timer) clearTimeout(this.timer)
    this.timer = undefined
    await this.running
  }

  private run(): void {
    this.timer = undefined
    if (this.stopped) return
    this.running = this.pass().finally(() => {
      this.running = undefined
      if (!this.stopped) this.timer = setTimeout(() => this.run(), this.intervalMs).unref()
    })
  }
}

/** Creates an analyzer instance. Nothing runs until start() or tick(). */
export function createAnalyzer(deps: AnalyzerDeps): Analyzer {
  const { store, log, config } = deps
  const metrics = deps.metrics ?? createAnalyzerMetrics()
  const now = deps.now ?? Date.now
  const members = new Membership({
    store,
    instance: deps.instance ?? instanceName(),
    ttlMs: Math.max(config.memberTtlMs ?? DEFAULT_MEMBER_TTL_MS, MIN_TTL_INTERVALS * config.intervalMs),
    now,
  })
  const passes = new ScoringPasses({ store, log, config, metrics, members, now })
  const loop = new Loop(config.intervalMs, async () => {
    const started = performance.now()
    try {
      const r = await passes.tick()
      if (r.finalized.length || r.live.length)
        log.debug({ live: r.live.length, finalized: r.finalized.length }, 'scored')
    } catch (err) {
      metrics.errors.inc()
      log.error({ err }, 'scoring pass failed; retrying next interval')
    } finally {
      metrics.ticks.observe((performance.now() - started) / 1000)
    }
  })
  return {
    metrics,
    instance: members.instance,
    tick: () => passes.tick(),
    finalize: (app, session) => passes.finalize(app, session),
    start: () => loop.start(),
    async stop() {
      await loop.stop()
      // The others take this instance's sessions at their next pass instead of after its heartbeat expires.
      await members.leave().catch((err: unknown) => log.warn({ err }, 'could not leave the analyzer members'))
    },
  }
}
