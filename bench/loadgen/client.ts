// Load generator process: N simulated SDKs, each one WebSocket to the collector's /v1/stream carrying one
// or more peer connections at 1 Hz. Runs in its own process (forked by bench/loadgen/driver.ts) so the
// collector's CPU figures are its own; controlled over IPC (protocol.ts).
//
// Per client: hello → wait for welcome → one stats frame per pc per second at the client's phase in the
// second (clients are spread over 200 phases of 5 ms), a keyframe first and every 120 s, deltas between,
// seq +1 per frame.
// Ack latency is measured from the write of a frame to the first ack whose seq covers it.
import { performance } from 'node:perf_hooks'
import type { Socket } from 'node:net'
import WebSocket from 'ws'
import type { RawData } from 'ws'
import { Timeline, framePrefix, loadRecording } from '../frames.ts'
import type { Role, TimelineEntry } from '../frames.ts'
import { Histogram } from '../histogram.ts'
import { deflateBody, frameHead, plainHead } from './wire.ts'
import type { LoadgenConfig, Reply, Request, WindowStats } from './protocol.ts'

// The SDK's default periodic keyframe (sdk/src/monitor.ts keyframeIntervalMs: 120 s).
const KEYFRAME_EVERY = 120
const SLOT_MS = 5
const SLOTS = 1000 / SLOT_MS

interface Pc {
  id: string
  role: Role
  seq: number
  // Sent and not yet acknowledged: seqs and send times, consumed from `head`.
  pendSeq: number[]
  pendT: number[]
  head: number
}

interface Client {
  ws: WebSocket
  socket: Socket | undefined
  pcs: Pc[]
  ready: boolean
  closed: boolean
  helloAt: number
}

/** Timeline entry with its bodies deflated once for every client (raw mode). */
interface Packed {
  entry: TimelineEntry
  delta: Buffer
  key: Buffer | undefined
  /** Uncompressed bodies (plain mode). */
  plainDelta?: Buffer
  plainKey?: Buffer
}

let config: LoadgenConfig | undefined
let base = 0
const timelines = new Map<Role, Timeline>()
const packed = new Map<Role, Packed[]>()
const slots: Client[][] = Array.from({ length: SLOTS }, () => [])
const clients: Client[] = []
// Clients a `grow` asked for whose connect() has not run yet (they are spread over the grow's duration).
let scheduled = 0
let lastSlot = -1
let ticker: NodeJS.Timeout | undefined

// Window counters, reset by each `window` request.
const ack = new Histogram()
const welcome = new Histogram()
const lag = new Histogram()
let framesSent = 0
let framesAcked = 0
let textBytes = 0
let errors: Record<string, number> = {}
let closes: Record<string, number> = {}
let windowStart = performance.now()
let cpuStart = process.cpuUsage()
let bytesBefore = 0

function entryOf(role: Role, second: number): Packed {
  const list = packed.get(role) as Packed[]
  let p = list[second]
  if (!p) {
    const entry = (timelines.get(role) as Timeline).at(second)
    p = { entry, delta: deflateBody(entry.delta), key: undefined }
    list[second] = p
    // Old seconds are never sent again; keep memory flat over long runs.
    if (second > 2) list[second - 3] = undefined as unknown as Packed
  }
  return p
}

function sendFrames(c: Client, second: number, lagMs: number): void {
  const cfg = config as LoadgenConfig
  const now = performance.now()
  for (const pc of c.pcs) {
    const seq = ++pc.seq
    const p = entryOf(pc.role, second)
    const isKey = (seq - 1) % KEYFRAME_EVERY === 0
    const prefix = framePrefix(pc.id, seq, p.entry.ts)
    const body = isKey ? p.entry.key : p.entry.delta
    if (cfg.sendMode === 'ws') {
      c.ws.send(prefix + body)
    } else if (cfg.sendMode === 'plain') {
      const b = isKey ? (p.plainKey ??= Buffer.from(body)) : (p.plainDelta ??= Buffer.from(body))
      const socket = c.socket as Socket
      socket.cork()
      socket.write(plainHead(prefix, b.length))
      socket.write(b)
      socket.uncork()
    } else {
      const z = isKey ? (p.key ??= deflateBody(p.entry.key)) : p.delta
      const socket = c.socket as Socket
      socket.cork()
      socket.write(frameHead(prefix, z.length))
      socket.write(z)
      socket.uncork()
    }
    pc.pendSeq.push(seq)
    pc.pendT.push(now)
    framesSent++
    textBytes += prefix.length + body.length
    lag.add(lagMs)
  }
}

function tick(): void {
  const nowSlot = Math.floor((performance.now() - base) / SLOT_MS)
  for (let s = lastSlot + 1; s <= nowSlot; s++) {
    const second = Math.floor((s * SLOT_MS) / 1000)
    const lagMs = performance.now() - (base + s * SLOT_MS)
    for (const c of slots[s % SLOTS] as Client[]) if (c.ready && !c.closed) sendFrames(c, second, lagMs)
  }
  lastSlot = nowSlot
}

function onAck(c: Client, seqs: Record<string, number>): void {
  const now = performance.now()
  for (const pc of c.pcs) {
    const upTo = seqs[pc.id]
    if (upTo === undefined) continue
    while (pc.head < pc.pendSeq.length && (pc.pendSeq[pc.head] as number) <= upTo) {
      ack.add(now - (pc.pendT[pc.head] as number))
      pc.head++
      framesAcked++
    }
    if (pc.head > 256) {
      pc.pendSeq.splice(0, pc.head)
      pc.pendT.splice(0, pc.head)
      pc.head = 0
    }
  }
}

function connect(i: number): void {
  const cfg = config as LoadgenConfig
  // Spread source addresses over 127.0.0.2-9 so tens of thousands of sockets never exhaust the ports.
  // permessage-deflate is offered without a window size; the collector answers client_max_window_bits=12.
  const ws = new WebSocket(cfg.url, {
    perMessageDeflate: { threshold: 0 },
    localAddress: `127.0.0.${2 + (i % 8)}`,
  })
  const roles: Role[] = ['sender', 'receiver']
  const pcs: Pc[] = Array.from({ length: cfg.pcsPerClient }, (_, k) => ({
    id: `pc${k}`,
    role: roles[k % 2] as Role,
    seq: 0,
    pendSeq: [],
    pendT: [],
    head: 0,
  }))
  const c: Client = { ws, socket: undefined, pcs, ready: false, closed: false, helloAt: 0 }
  clients.push(c)
  ws.on('open', () => {
    c.socket = (ws as unknown as { _socket: Socket })._socket
    c.helloAt = performance.now()
    const hello = {
      t: 'hello',
      v: 1,
      app: 'bench',
      session: `${cfg.runId}-${i}`,
      peer: `p${i}`,
      sdk: 'bench/0',
    }
    ws.send(JSON.stringify(hello), { compress: false })
  })
  ws.on('message', (data: RawData) => {
    const msg = JSON.parse((data as Buffer).toString()) as {
      t: string
      seq?: Record<string, number>
      code?: string
    }
    if (msg.t === 'ack') onAck(c, msg.seq ?? {})
    else if (msg.t === 'welcome') {
      welcome.add(performance.now() - c.helloAt)
      c.ready = true
      // Phases spread evenly whatever the order of welcomes (multiplier coprime with SLOTS).
      ;(slots[(i * 37) % SLOTS] as Client[]).push(c)
    } else if (msg.t === 'error') errors[msg.code ?? 'unknown'] = (errors[msg.code ?? 'unknown'] ?? 0) + 1
  })
  ws.on('close', (code: number) => {
    c.closed = true
    closes[String(code)] = (closes[String(code)] ?? 0) + 1
  })
  ws.on('error', (err: Error & { code?: string }) => {
    const k = `socket:${err.code ?? err.message}`
    errors[k] = (errors[k] ?? 0) + 1
  })
}

function bytesWrittenTotal(): number {
  let n = 0
  for (const c of clients) n += c.socket?.bytesWritten ?? 0
  return n
}

function windowStats(reset: boolean): WindowStats {
  const now = performance.now()
  const cpu = process.cpuUsage(cpuStart)
  const bytes = bytesWrittenTotal()
  let unacked = 0
  let ready = 0
  let pcs = 0
  for (const c of clients) {
    if (c.closed) continue
    if (c.ready) ready++
    for (const pc of c.pcs) {
      unacked += pc.pendSeq.length - pc.head
      pcs++
    }
  }
  const stats: WindowStats = {
    seconds: (now - windowStart) / 1000,
    clients: clients.filter((c) => !c.closed).length,
    closedTotal: clients.filter((c) => c.closed).length,
    scheduled,
    ready,
    pcs,
    framesSent,
    framesAcked,
    unacked,
    ack: ack.snapshot(),
    welcome: welcome.snapshot(),
    lag: lag.snapshot(),
    bytesWritten: bytes - bytesBefore,
    textBytes,
    cpuSeconds: (cpu.user + cpu.system) / 1e6,
    errors,
    closes,
  }
  if (!reset) return stats
  ack.reset()
  welcome.reset()
  lag.reset()
  framesSent = framesAcked = textBytes = 0
  errors = {}
  closes = {}
  windowStart = now
  cpuStart = process.cpuUsage()
  bytesBefore = bytes
  return stats
}

function handle(req: Request): Reply {
  switch (req.cmd) {
    case 'config': {
      config = req.config
      base = performance.now()
      const startTs = Date.now()
      for (const role of ['sender', 'receiver'] as const) {
        timelines.set(role, new Timeline(loadRecording(role), startTs))
        packed.set(role, [])
        entryOf(role, 0)
      }
      ticker = setInterval(tick, SLOT_MS)
      return { id: req.id, ok: true }
    }
    case 'grow': {
      const first = clients.length + scheduled
      scheduled += req.clients
      for (let k = 0; k < req.clients; k++) {
        setTimeout(
          () => {
            scheduled--
            connect(first + k)
          },
          (k * req.overMs) / req.clients,
        )
      }
      return { id: req.id, ok: true }
    }
    case 'window':
      return { id: req.id, ok: true, stats: windowStats(req.reset) }
    case 'stop':
      if (ticker) clearInterval(ticker)
      for (const c of clients) c.ws.terminate()
      return { id: req.id, ok: true }
  }
}

process.on('disconnect', () => process.exit(0))
process.on('message', (req: Request) => {
  let reply: Reply
  try {
    reply = handle(req)
  } catch (err) {
    reply = { id: req.id, ok: false, error: (err as Error).stack ?? String(err) }
  }
  process.send?.(reply)
  if (req.cmd === 'stop') setTimeout(() => process.exit(0), 200)
})
process.send?.({ id: 0, ok: true })
