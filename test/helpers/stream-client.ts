// A minimal protocol client over a real `ws` socket, for driving the collector frame by frame.
import WebSocket from 'ws'
import { encodeDelta, normalizeReport } from '../../core/delta.ts'
import type { StatsState } from '../../core/delta.ts'
import type { HelloFrame, ServerFrame, StatsFrame } from '../../core/protocol.ts'
import { asReport } from './reports.ts'
import type { Stat } from './reports.ts'

export interface StreamClient {
  ws: WebSocket
  received: ServerFrame[]
  /** Resolves with the close code and reason once the socket closes. */
  closed: Promise<{ code: number; reason: string }>
  send(frame: object | string): void
  /** Waits until a received server frame matches (default 5 s). */
  waitFor<T extends ServerFrame>(pred: (f: ServerFrame) => f is T, timeoutMs?: number): Promise<T>
  waitFor(pred: (f: ServerFrame) => boolean, timeoutMs?: number): Promise<ServerFrame>
  /** Highest cumulative ack seen for `pc` (0 if none). */
  acked(pc: string): number
  close(): void
}

export const helloFor = (session: string, extra: Partial<HelloFrame> = {}): HelloFrame => ({
  t: 'hello',
  v: 1,
  app: 'demo',
  session,
  peer: 'peer-1',
  sdk: 'test/0',
  ua: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/131.0.0.0 Safari/537.36',
  ...extra,
})

/** Opens a socket to `url` and resolves once it is open. */
export async function connect(url: string, headers: Record<string, string> = {}): Promise<StreamClient> {
  const ws = new WebSocket(url, { headers })
  const received: ServerFrame[] = []
  const waiters = new Set<() => void>()
  const acks = new Map<string, number>()
  ws.on('message', (data) => {
    const f = JSON.parse((data as Buffer).toString('utf8')) as ServerFrame
    received.push(f)
    if (f.t === 'ack')
      for (const [pc, s] of Object.entries(f.seq)) acks.set(pc, Math.max(acks.get(pc) ?? 0, s))
    for (const w of waiters) w()
  })
  const closed = new Promise<{ code: number; reason: string }>((resolve) =>
    ws.on('close', (code, reason) => {
      resolve({ code, reason: String(reason) })
      for (const w of waiters) w()
    }),
  )
  await new Promise<void>((resolve, reject) => {
    ws.once('open', resolve)
    ws.once('error', reject)
  })
  const waitFor = (pred: (f: ServerFrame) => boolean, timeoutMs = 5000): Promise<ServerFrame> =>
    new Promise((resolve, reject) => {
      const check = (): void => {
        const hit = received.find(pred)
        if (hit) {
          waiters.delete(check)
          clearTimeout(timer)
          resolve(hit)
        }
      }
      const timer = setTimeout(() => {
        waiters.delete(check)
        reject(new Error(`timed out waiting; received ${JSON.stringify(received.slice(-5))}`))
      }, timeoutMs)
      waiters.add(check)
      check()
    })
  return {
    ws,
    received,
    closed,
    send: (frame) => ws.send(typeof frame === 'string' ? frame : JSON.stringify(frame)),
    waitFor: waitFor,
    acked: (pc) => acks.get(pc) ?? 0,
    close: () => ws.close(),
  }
}

/** Encodes a report sequence into the stats frames the SDK would send (seq from `firstSeq`). */
export function statsFrames(pc: string, reports: Stat[][], firstSeq = 1): StatsFrame[] {
  let prev: StatsState | undefined
  return reports.map((stats, i) => {
    const ts = stats[0]?.timestamp ?? 0
    const next = normalizeReport(asReport(stats), ts)
    const { key, d, rm } = encodeDelta(prev, next)
    prev = next
    return { t: 'stats', pc, seq: firstSeq + i, ts, ...(key ? { key } : {}), d, ...(rm.length ? { rm } : {}) }
  })
}

/** Makes a keyframe of the full state as of frame `upto` (index into frames). */
export function keyframeAt(pc: string, reports: Stat[][], index: number, seq: number): StatsFrame {
  const stats = reports[index] as Stat[]
  const ts = stats[0]?.timestamp ?? 0
  return {
    t: 'stats',
    pc,
    seq,
    ts,
    key: true,
    d: encodeDelta(undefined, normalizeReport(asReport(stats), ts)).d,
  }
}
