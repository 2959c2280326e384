// An in-memory collector for SDK unit tests: the real protocol logic (collector/session.ts ClientSession
// and the zod schemas of collector/protocol.ts) behind a FAKE WebSocket class and a fake store that keeps
// raw_frames in a Map. Unit tests only: the integration tests run the SDK against the real collector over
// real sockets. The fake lets a test cut, refuse or restart connections at exact points in the sequence.
import pino from 'pino'
import { ingestRequestSchema, parseClientFrame } from '../../collector/protocol.ts'
import { ClientSession } from '../../collector/session.ts'
import type { SessionDeps } from '../../collector/session.ts'
import { SessionRegistry } from '../../collector/registry.ts'
import { COLUMNS } from '../../collector/rows.ts'
import { parseTsvLine } from '../../store/tsv.ts'
import { createCollectorMetrics } from '../../collector/stats.ts'
import { applyDelta } from '../../core/delta.ts'
import type { StatsState } from '../../core/delta.ts'
import { VERBOSE_FIELDS } from '../../core/protocol.ts'
import type { ErrorFrame, ServerFrame, StatsFrame } from '../../core/protocol.ts'
import type { WebSocketCtor } from '../../sdk/src/transport.ts'

export interface StoredFrame {
  peer: string
  pc: string
  seq: number
  gap: number
  type: string
  text: string
}

type Handler<E> = ((ev: E) => void) | null

export class FakeSocket {
  onopen: Handler<void> = null
  onmessage: Handler<{ data: string }> = null
  onclose: Handler<{ code: number; reason: string }> = null
  onerror: Handler<void> = null
  /** Client frames received, as text. */
  readonly received: string[] = []
  closed = false
  private session: ClientSession | undefined
  private helloDone: Promise<boolean> | undefined

  constructor(
    readonly url: string,
    private readonly server: MemoryCollector,
  ) {
    server.sockets.push(this)
    setTimeout(() => {
      if (this.closed) return
      if (!server.up || server.blockWebSocket) return this.end(1006)
      this.session = new ClientSession(
        server.deps,
        { ip: '127.0.0.1', origin: undefined, live: true },
        {
          send: (f: ServerFrame) => this.deliver(f),
          close: (code) => this.end(code),
        },
      )
      this.onopen?.()
    }, 1)
  }

  send(text: string): void {
    if (this.closed || !this.session) return
    this.received.push(text)
    const session = this.session
    const parsed = parseClientFrame(text)
    if (!parsed.ok) {
      session.fail(parsed.code, parsed.message)
      // Like stream.ts: a first frame that is no valid hello closes the socket at once (after the
      // error frame, which this fake delivers 1 ms later).
      if (!this.helloDone) setTimeout(() => this.end(1008), 2)
      return
    }
    if (parsed.frame.t === 'hello') {
      this.helloDone = session.hello(parsed.frame)
      return
    }
    const frame = parsed.frame
    // Like stream.ts: frames that arrive while hello is pending wait for it.
    void (this.helloDone ?? Promise.resolve(false)).then((ok) => {
      if (!ok) return session.fail('hello_required', 'the first frame must be hello')
      if (!this.closed) void session.frame(frame, text)
    })
  }

  /** Client-initiated close. */
  close(code = 1000): void {
    if (this.closed) return
    this.end(code)
  }

  /** Server-side close (or a network cut with 1006). */
  end(code: number): void {
    if (this.closed) return
    this.closed = true
    this.session?.dispose()
    setTimeout(() => this.onclose?.({ code, reason: '' }), 1)
  }

  private deliver(f: ServerFrame): void {
    if (this.closed) return
    if (f.t === 'error') this.server.errors.push(f)
    if (this.server.holdAcks && f.t === 'ack') return
    const text = JSON.stringify(f)
    setTimeout(() => !this.closed && this.onmessage?.({ data: text }), 1)
  }
}

/** A WebSocket class whose instances connect to `server`. */
function socketClass(server: MemoryCollector): WebSocketCtor {
  return class extends FakeSocket {
    constructor(url: string) {
      super(url, server)
    }
  }
}

export class MemoryCollector {
  /** raw_frames, keyed by `peer pc seq` (a resend overwrites, as ReplacingMergeTree collapses it). */
  readonly frames = new Map<string, StoredFrame>()
  /** Rows written per frame, counting resends (what count() without FINAL would see). */
  inserts = 0
  readonly errors: ErrorFrame[] = []
  readonly sockets: FakeSocket[] = []
  /** While false, new sockets close with 1006 before opening. */
  up = true
  /** While true, WebSockets cannot open but HTTP works (a proxy that only passes HTTPS). */
  blockWebSocket = false
  /** While true, frames are stored but no ack is sent (a slow store). */
  holdAcks = false
  readonly deps: SessionDeps
  readonly WebSocket: WebSocketCtor

  constructor() {
    const frames = this.frames
    this.deps = {
      store: {
        backend: 'chdb',
        database: 'memory',
        query: <T>(_sql: string, params?: Record<string, unknown>) => {
          const max = new Map<string, number>()
          for (const f of frames.values()) {
            if (f.peer === params?.peer) max.set(f.pc, Math.max(max.get(f.pc) ?? 0, f.seq))
          }
          return Promise.resolve([...max].map(([pc_id, seq]) => ({ pc_id, seq })) as T[])
        },
        exec: () => Promise.resolve(),
        insert: () => Promise.resolve(),
        ping: () => Promise.resolve({ ok: true }),
        close: () => Promise.resolve(),
      },
      ingest: {
        add: (rows) => {
          for (const line of rows.raw_frames ?? []) {
            const r = parseTsvLine(COLUMNS.raw_frames, line) as Record<string, string>
            this.inserts++
            const f = {
              peer: r.peer_id as string,
              pc: r.pc_id as string,
              seq: Number(r.seq),
              gap: Number(r.gap),
              type: r.type as string,
              text: r.frame as string,
            }
            frames.set(`${r.peer_id} ${r.pc_id} ${r.seq}`, f)
          }
          return new Promise((resolve) => setTimeout(resolve, 2))
        },
        pendingFrames: 0,
        pendingBytes: 0,
        overloaded: false,
        healthy: true,
        flush: () => Promise.resolve(),
        close: () => Promise.resolve(),
      },
      registry: new SessionRegistry(),
      config: {
        maskIps: false,
        dev: true,
        keys: [],
        maxTokenTtlS: 86_400,
        sdkOmit: VERBOSE_FIELDS,
        allowedOrigins: new Map(),
        maxPcsPerConnection: 32,
        maxFrameBytes: 256 * 1024,
        maxFramesPerSecond: 50,
      },
      log: pino({ level: 'silent' }),
      metrics: createCollectorMetrics(),
    }
    this.WebSocket = socketClass(this)
  }

  /** Bodies POSTed to /v1/ingest (fetch and sendBeacon). */
  readonly posts: string[] = []

  /**
   * A fetch for `POST /v1/ingest` doing what collector/app.ts does: one ClientSession per request, the
   * response `{ seq, errors }` once the frames are stored. While `up` is false it rejects like a network error.
   */
  readonly fetch = async (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    if (!this.up) throw new TypeError('fetch failed')
    const text = init?.body as string
    this.posts.push(text)
    const parsed = ingestRequestSchema.safeParse(JSON.parse(text))
    if (!parsed.success) return Response.json({ error: parsed.error.message }, { status: 400 })
    const errors: ServerFrame[] = []
    const session = new ClientSession(
      this.deps,
      { ip: '127.0.0.1', origin: undefined, live: false },
      {
        send: (f) => {
          if (f.t === 'error') {
            errors.push(f)
            this.errors.push(f)
          }
        },
        close: () => {},
      },
    )
    if (!(await session.hello(parsed.data.hello))) return Response.json({ errors }, { status: 503 })
    const writes = parsed.data.frames.flatMap((f) => session.frame(f, JSON.stringify(f)) ?? [])
    await Promise.all(writes)
    session.dispose()
    return Response.json({ seq: session.storedSeqs(), errors })
  }

  /** The open socket, if any. */
  get socket(): FakeSocket | undefined {
    return this.sockets.findLast((s) => !s.closed)
  }

  /** Stored frames of `pc` (of every peer, unless `peer` is given) in seq order. */
  stored(pc: string, peer?: string): StoredFrame[] {
    return [...this.frames.values()]
      .filter((f) => f.pc === pc && (peer === undefined || f.peer === peer))
      .sort((a, b) => a.seq - b.seq)
  }

  /**
   * Checks the ledger of `pc` as the analyzer would read it: seqs strictly increasing from 1, every hole
   * covered by the next frame's `gap`. Returns the holes' total (frames the SDK reported as dropped).
   */
  holes(pc: string): number {
    let last = 0
    let dropped = 0
    for (const f of this.stored(pc)) {
      const skipped = f.seq - last - 1
      if (skipped > f.gap) throw new Error(`${pc}: seq ${f.seq} skips ${skipped} but gap is ${f.gap}`)
      dropped += skipped
      last = f.seq
    }
    return dropped
  }

  /** The state a reader rebuilds from the stored frames of `pc` alone, in seq order. */
  decode(pc: string): StatsState {
    const state: StatsState = new Map()
    for (const f of this.stored(pc))
      if (f.type === 'stats') applyDelta(state, JSON.parse(f.text) as StatsFrame)
    return state
  }
}
