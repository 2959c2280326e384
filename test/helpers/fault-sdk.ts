// A fleet of real SDK monitors (`createMonitor` from sdk/src) for the fault tests. What is simulated is
// only what Node lacks: the RTCPeerConnection (an object whose getStats() walks a report sequence grown
// from real libwebrtc reports) and the browser WebSocket (the `ws` package, wrapped to record what
// crosses the wire). Everything between — delta encoding, the outbox, resume, backoff, pacing — is the
// SDK's own code, so "every frame the SDK produced" is what these monitors numbered.
import WebSocket from 'ws'
import { createMonitor } from '../../sdk/src/index.ts'
import type { Monitor, MonitorError, WebSocketCtor } from '../../sdk/src/index.ts'
import type { ServerFrame } from '../../core/protocol.ts'
import type { Store } from '../../store/index.ts'
import { asReport, reportSequence } from './reports.ts'
import type { Stat } from './reports.ts'

export interface FleetOptions {
  /** Collector base URL (http://…); the SDK derives ws://…/v1/stream. */
  url: string
  app: string
  /** Session ids are `${prefix}-${i}`. */
  prefix: string
  monitors: number
  /** getStats() interval (the SDK's minimum is 100 ms). */
  intervalMs?: number
  token?: (session: string) => string
}

export interface Fleet {
  sessions: string[]
  errors: MonitorError[]
  /** Close codes the collector sent, with counts. */
  closes: Map<number, number>
  /** Ack frames received so far (all sockets). */
  readonly acks: number
  /** Open sockets. */
  readonly sockets: ReadonlySet<WebSocket>
  /** Highest seq the SDK put on the wire, per `session/pc`: the SDK numbers 1, 2, 3, … without holes. */
  sent: Map<string, number>
  /** Highest seq acknowledged, per `session/pc`. */
  acked: Map<string, number>
  /** Frames written to sockets or posted, resends included. */
  readonly framesOnWire: number
  /** HTTP fallback requests (`POST /v1/ingest`). */
  readonly posts: number
  /** Stops polling and waits (up to the SDK's 5 s) until everything queued is acknowledged. */
  close(): Promise<void>
}

// A peer connection as far as the monitor looks at one: state, events, getStats().
function fakePc(reports: Stat[][]): RTCPeerConnection {
  let i = 0
  return {
    connectionState: 'connected',
    signalingState: 'stable',
    iceConnectionState: 'connected',
    iceGatheringState: 'complete',
    getStats: () => Promise.resolve(asReport(reports[Math.min(i++, reports.length - 1)] as Stat[])),
    getSenders: () => [],
    addEventListener: () => {},
    removeEventListener: () => {},
  } as unknown as RTCPeerConnection
}

let shared: { sender: Stat[][]; receiver: Stat[][] } | undefined

/** Starts `monitors` SDK monitors with two peer connections each (a sender and a receiver). */
export function startFleet(o: FleetOptions): Fleet {
  // 2000 polls: 200 s at the fastest interval, shared read-only by every monitor.
  shared ??= { sender: reportSequence('sender', 2000), receiver: reportSequence('receiver', 2000) }
  const reports = shared
  const sockets = new Set<WebSocket>()
  const sent = new Map<string, number>()
  const acked = new Map<string, number>()
  const closes = new Map<number, number>()
  const errors: MonitorError[] = []
  let acks = 0
  let framesOnWire = 0

  // Called with `new` by the SDK: returning an object from a constructor makes it the instance.
  function RecordingWebSocket(url: string): WebSocket {
    const ws = new WebSocket(url)
    let session = ''
    const send = ws.send.bind(ws)
    ws.send = ((data: string) => {
      const f = JSON.parse(data) as { t: string; session?: string; pc?: string; seq?: number }
      if (f.t === 'hello') session = f.session ?? ''
      else {
        framesOnWire++
        const k = `${session}/${f.pc}`
        sent.set(k, Math.max(sent.get(k) ?? 0, f.seq ?? 0))
      }
      send(data)
    }) as typeof ws.send
    ws.on('message', (data: Buffer) => {
      const f = JSON.parse(data.toString()) as ServerFrame
      if (f.t !== 'ack') return
      acks++
      for (const [pc, seq] of Object.entries(f.seq)) {
        const k = `${session}/${pc}`
        acked.set(k, Math.max(acked.get(k) ?? 0, seq))
      }
    })
    ws.on('close', (code: number) => {
      sockets.delete(ws)
      closes.set(code, (closes.get(code) ?? 0) + 1)
    })
    sockets.add(ws)
    return ws
  }

  // The SDK falls back to `POST /v1/ingest` when WebSockets keep failing (a collector down for a few
  // seconds): record that path too, through the fetch it uses (globalThis.fetch, restored on close).
  const realFetch = globalThis.fetch
  let posts = 0
  globalThis.fetch = async (input: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const url = String(input instanceof Request ? input.url : input)
    if (!url.endsWith('/v1/ingest') || typeof init?.body !== 'string') return realFetch(input, init)
    posts++
    const body = JSON.parse(init.body) as {
      hello: { session: string }
      frames: { pc: string; seq: number }[]
    }
    const session = body.hello.session
    for (const f of body.frames) {
      framesOnWire++
      const k = `${session}/${f.pc}`
      sent.set(k, Math.max(sent.get(k) ?? 0, f.seq))
    }
    const res = await realFetch(input, init)
    if (res.ok) {
      const r = (await res.clone().json()) as { seq: Record<string, number> }
      for (const [pc, seq] of Object.entries(r.seq)) {
        const k = `${session}/${pc}`
        acked.set(k, Math.max(acked.get(k) ?? 0, seq))
      }
    }
    return res
  }

  const sessions: string[] = []
  const monitors: Monitor[] = []
  const timers: NodeJS.Timeout[] = []
  for (let i = 0; i < o.monitors; i++) {
    const session = `${o.prefix}-${i}`
    sessions.push(session)
    const m = createMonitor({
      url: o.url,
      app: o.app,
      session,
      peer: 'p1',
      user: `user-${i}`,
      token: o.token ? () => (o.token as (s: string) => string)(session) : undefined,
      intervalMs: o.intervalMs ?? 100,
      WebSocket: RecordingWebSocket as unknown as WebSocketCtor,
      // Big enough that nothing is dropped in these tests: a drop would be a counted, reported gap.
      maxBufferBytes: 64 * 1024 * 1024,
      onError: (e) => errors.push(e),
    })
    m.add(fakePc(reports.sender), { label: 'send' })
    m.add(fakePc(reports.receiver), { label: 'recv' })
    // App events on the monitor channel, interleaved with the stats.
    let n = 0
    timers.push(setInterval(() => m.event('tick', { n: ++n }), 700 + i))
    monitors.push(m)
  }
  return {
    sessions,
    errors,
    closes,
    get acks() {
      return acks
    },
    get sockets() {
      return sockets
    },
    sent,
    acked,
    get framesOnWire() {
      return framesOnWire
    },
    get posts() {
      return posts
    },
    async close() {
      for (const t of timers) clearInterval(t)
      await Promise.all(monitors.map((m) => m.close()))
      globalThis.fetch = realFetch
    },
  }
}

export interface ExactlyOnce {
  /** Frames the SDKs produced (sum of the highest seq per channel). */
  produced: number
  /** raw_frames rows for the fleet's sessions. */
  rows: number
  channels: number
  /** Channels whose stored seqs are not exactly 1..produced, once each (empty when all is well). */
  bad: string[]
  /** Channels acknowledged beyond what is stored (an ack that lied; empty when all is well). */
  overAcked: string[]
}

/**
 * Compares what the fleet produced with what the store holds: per channel, raw_frames must hold seqs
 * 1..N exactly once (no FINAL: not even a transient duplicate row), N being the SDK's last seq; and no
 * ack may cover a seq that is not stored.
 */
export async function checkExactlyOnce(store: Store, app: string, fleet: Fleet): Promise<ExactlyOnce> {
  const rows = await store.query<{
    session_id: string
    pc_id: string
    n: number
    u: number
    lo: number
    hi: number
  }>(
    `SELECT session_id, pc_id, count() AS n, uniqExact(seq) AS u, min(seq) AS lo, max(seq) AS hi
     FROM raw_frames WHERE app_id = {app:String} AND session_id IN {sessions:Array(String)}
     GROUP BY session_id, pc_id`,
    { app, sessions: fleet.sessions },
  )
  const stored = new Map(rows.map((r) => [`${r.session_id}/${r.pc_id}`, r]))
  const bad: string[] = []
  let produced = 0
  for (const [k, n] of fleet.sent) {
    produced += n
    const r = stored.get(k)
    if (!r || r.n !== n || r.u !== n || r.lo !== 1 || r.hi !== n)
      bad.push(
        `${k}: produced 1..${n}, stored ${r ? `${r.n} rows, ${r.u} distinct, ${r.lo}..${r.hi}` : 'nothing'}`,
      )
  }
  for (const k of stored.keys()) if (!fleet.sent.has(k)) bad.push(`${k}: stored but never sent`)
  const overAcked: string[] = []
  for (const [k, acked] of fleet.acked) {
    const hi = stored.get(k)?.hi ?? 0
    if (acked > hi) overAcked.push(`${k}: acked ${acked}, stored up to ${hi}`)
  }
  return { produced, rows: rows.reduce((s, r) => s + r.n, 0), channels: fleet.sent.size, bad, overAcked }
}

/** The monitors' onError reports, counted by code (e.g. `{"disconnected":40}`). */
export const errorCounts = (fleet: Fleet): string => {
  const out: Record<string, number> = {}
  for (const e of fleet.errors) out[e.code] = (out[e.code] ?? 0) + 1
  return JSON.stringify(out)
}

export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

/** Polls `pred` every 50 ms until true; rejects with `what` after `timeoutMs`. */
export async function until(
  pred: () => boolean | Promise<boolean>,
  timeoutMs: number,
  what: string,
): Promise<void> {
  const end = Date.now() + timeoutMs
  while (!(await pred())) {
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`)
    await sleep(50)
  }
}
