// Feeds a real collector over its WebSocket protocol (core/protocol.ts) without the SDK: getStats()
// reports are normalised and delta-encoded with the SDK's own codec (core/delta.ts), numbered per pc,
// and sent as stats frames; events go out as event frames. Used live (one report per second from a real
// call) and for replaying recorded reports as fast as the socket takes them (timestamps come from the
// reports, so nothing waits in real time).
import WebSocket from 'ws'
import { encodeDelta, normalizeReport } from '../../core/delta.ts'
import type { ReportLike, StatsState } from '../../core/delta.ts'
import { PROTOCOL_VERSION } from '../../core/protocol.ts'
import type { ClientFrame, ServerFrame } from '../../core/protocol.ts'

export interface FeederHello {
  app: string
  session: string
  peer: string
  token?: string
  ua?: string
  sdk?: string
  meta?: Record<string, string>
}

export interface Feeder {
  /** Sends one report of `pc` (an RTCStatsReport or an array of stats); `ts` defaults to its timestamp. */
  stats(pc: string, report: ReportLike | readonly { id: string; timestamp?: number }[], ts?: number): void
  /** Sends an event of `pc` (`_` is the monitor channel), at `ts` (default now). */
  event(pc: string, name: string, data?: Record<string, unknown>, ts?: number): void
  /** Resolves once every frame sent so far is acknowledged; rejects on an error frame or timeout. */
  flush(timeoutMs?: number): Promise<void>
  /** Flushes, then closes the socket. */
  close(): Promise<void>
}

const asReport = (r: ReportLike | readonly { id: string; timestamp?: number }[]): ReportLike =>
  Array.isArray(r) ? { forEach: (cb) => (r as { id: string }[]).forEach((s) => cb(s)) } : r

/** The largest object timestamp of a report (all objects of one getStats() call share it). */
function reportTs(report: ReportLike): number {
  let ts = 0
  report.forEach((s) => {
    if (typeof s.timestamp === 'number' && s.timestamp > ts) ts = s.timestamp
  })
  return ts || Date.now()
}

/** Opens a stream, sends hello and waits for welcome. Rejects if refused or after `timeoutMs`. */
export async function openFeeder(url: string, hello: FeederHello, timeoutMs = 10_000): Promise<Feeder> {
  const ws = new WebSocket(url)
  const seqs = new Map<string, number>()
  const acked = new Map<string, number>()
  const states = new Map<string, StatsState>()
  const waiters: (() => void)[] = []
  let failure: Error | undefined

  const welcome = new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('no welcome from the collector')), timeoutMs)
    ws.on('open', () => {
      const frame: ClientFrame = {
        t: 'hello',
        v: PROTOCOL_VERSION,
        app: hello.app,
        session: hello.session,
        peer: hello.peer,
        sdk: hello.sdk ?? 'analyzer-feed/1',
        ...(hello.token ? { token: hello.token } : {}),
        ...(hello.ua ? { ua: hello.ua } : {}),
        ...(hello.meta ? { meta: hello.meta } : {}),
      }
      ws.send(JSON.stringify(frame))
    })
    ws.on('message', (data: Buffer) => {
      const f = JSON.parse(data.toString('utf8')) as ServerFrame
      if (f.t === 'welcome') {
        clearTimeout(timer)
        resolve()
      } else if (f.t === 'ack') {
        for (const [pc, n] of Object.entries(f.seq)) acked.set(pc, n)
        for (const w of waiters.splice(0)) w()
      } else if (f.t === 'error') {
        failure = new Error(`collector error ${f.code}: ${f.message}`)
        for (const w of waiters.splice(0)) w()
      }
    })
    ws.on('close', (code, reason) => {
      clearTimeout(timer)
      failure ??= new Error(`stream closed ${code} ${reason.toString()}`)
      reject(failure)
      for (const w of waiters.splice(0)) w()
    })
    ws.on('error', (err) => {
      failure ??= err
      reject(err)
    })
  })
  await welcome

  const next = (pc: string): number => {
    const n = (seqs.get(pc) ?? 0) + 1
    seqs.set(pc, n)
    return n
  }
  const send = (frame: ClientFrame): void => {
    if (failure) throw failure
    ws.send(JSON.stringify(frame))
  }

  const feeder: Feeder = {
    stats(pc, r, ts) {
      const report = asReport(r)
      const t = ts ?? reportTs(report)
      const state = normalizeReport(report, t)
      const delta = encodeDelta(states.get(pc), state)
      states.set(pc, state)
      send({
        t: 'stats',
        pc,
        seq: next(pc),
        ts: t,
        ...(delta.key ? { key: true } : {}),
        d: delta.d,
        ...(delta.rm.length ? { rm: delta.rm } : {}),
      })
    },
    event(pc, name, data, ts) {
      send({ t: 'event', pc, seq: next(pc), ts: ts ?? Date.now(), name, ...(data ? { data } : {}) })
    },
    async flush(ms = 10_000) {
      const deadline = Date.now() + ms
      const done = (): boolean => [...seqs].every(([pc, n]) => (acked.get(pc) ?? 0) >= n)
      while (!done()) {
        if (failure) throw failure
        if (Date.now() > deadline) throw new Error('frames were not acknowledged in time')
        await new Promise<void>((resolve) => {
          waiters.push(resolve)
          setTimeout(resolve, 50).unref()
        })
      }
      if (failure) throw failure
    },
    async close() {
      try {
        await feeder.flush()
      } finally {
        if (ws.readyState === ws.OPEN) {
          await new Promise<void>((resolve) => {
            ws.once('close', () => resolve())
            ws.close(1000)
          })
        }
      }
    },
  }
  return feeder
}

export interface ReplayPc {
  pc: string
  reports: readonly (readonly { id: string; timestamp?: number }[])[]
  events?: readonly { t: number; name: string; data?: Record<string, unknown> }[]
}

/**
 * Replays one peer's recorded reports (and events) in time order as fast as the socket accepts them, then
 * waits for every ack. The collector needs RTCPULSE_MAX_FRAMES_PER_SECOND above the frame count.
 */
export async function replayPeer(url: string, hello: FeederHello, pcs: readonly ReplayPc[]): Promise<void> {
  const feeder = await openFeeder(url, hello)
  type Item = { t: number; run: () => void }
  const items: Item[] = []
  for (const p of pcs) {
    for (const r of p.reports) {
      const t = reportTs(asReport(r))
      items.push({ t, run: () => feeder.stats(p.pc, r, t) })
    }
    for (const e of p.events ?? []) items.push({ t: e.t, run: () => feeder.event(p.pc, e.name, e.data, e.t) })
  }
  // Stable sort: a pc's frames keep their order, and so their seq numbers.
  items.sort((a, b) => a.t - b.t)
  for (const i of items) i.run()
  await feeder.close()
}
