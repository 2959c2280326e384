// One `/v1/stream` WebSocket: hello gating, frame-rate and buffer limits, error counting. Its state is
// its fields; the protocol itself (hello, resume, seqs, derivation, acks) is the ClientSession's.
import type { IncomingMessage } from 'node:http'
import type { RawData, WebSocket } from 'ws'
import { CloseCode } from '../core/protocol.ts'
import type { ServerFrame } from '../core/protocol.ts'
import { setMessageLimit } from './message-limit.ts'
import { createFrameParts } from './frame-parts.ts'
import { parseClientFrame } from './protocol.ts'
import { ClientSession } from './session.ts'
import type { StreamOptions } from './stream.ts'

// A client that keeps sending garbage is closed after this many refused frames.
const MAX_ERRORS = 100

/** Connection count per key (client address, token), for the per-IP and per-token limits. */
export class Counts {
  private readonly map = new Map<string, number>()
  get(key: string): number {
    return this.map.get(key) ?? 0
  }
  inc(key: string): number {
    const n = this.get(key) + 1
    this.map.set(key, n)
    return n
  }
  dec(key: string): void {
    const n = this.get(key) - 1
    if (n <= 0) this.map.delete(key)
    else this.map.set(key, n)
  }
}

/** What every connection of one stream server shares. */
export interface ConnectionContext {
  opts: StreamOptions
  perIp: Counts
  perToken: Counts
  /** Sockets that proved liveness since the last ping (stream.ts's pinger clears and checks it). */
  alive: WeakSet<WebSocket>
  /** Open sockets, for the connections gauge. */
  open(): number
  /** Terminates `ws` at once, counting why. */
  terminate(ws: WebSocket, why: 'timeout' | 'slow_consumer'): void
}

/**
 * A stream connection from upgrade to close. Limits close the socket with their code (sdk/PROTOCOL.md):
 * connections per IP and per token, and frame rate 4029; no hello in time, store overload and unstored
 * bytes 1013; a refused hello or too many refused frames 1008; a frame that throws 1011.
 */
export class StreamConnection {
  private readonly session: ClientSession
  private tokenKey: string | undefined
  private closing = false
  private helloState: 'none' | 'pending' | 'done' = 'none'
  private readonly helloTimer: NodeJS.Timeout
  // Token bucket: a burst of 2 s worth of frames, refilled at maxFramesPerSecond.
  private readonly capacity: number
  private tokens: number
  private refilled = performance.now()
  private errors = 0
  // Frames that arrive while the hello waits for the store, with their byte count (bounded).
  private queued: string[] = []
  private queuedBytes = 0
  // Joins a frame sent in parts (stats.more) before the session sees it (collector/frame-parts.ts).
  private readonly joinParts: ReturnType<typeof createFrameParts>

  constructor(
    private readonly ctx: ConnectionContext,
    private readonly ws: WebSocket,
    private readonly ip: string,
    req: IncomingMessage,
  ) {
    const { config, metrics, log } = ctx.opts
    // Until the hello is accepted, a message may be a hello and nothing bigger: an unauthenticated
    // socket cannot make the collector inflate more than maxHelloBytes (maxFrameBytes after welcome).
    if (!setMessageLimit(ws, config.maxHelloBytes)) log.warn('cannot lower the message limit before hello')
    this.capacity = config.maxFramesPerSecond * 2
    this.tokens = this.capacity
    this.session = new ClientSession(
      ctx.opts,
      { ip, origin: req.headers.origin, live: true, probe: (ms) => this.probe(ms) },
      { send: (frame) => this.send(frame), close: (code, reason) => this.close(code, reason) },
    )
    this.joinParts = createFrameParts(config.maxFrameBytes * 8, (code, message, f) =>
      this.session.fail(code, message, f),
    )
    this.helloTimer = setTimeout(() => this.helloTimeout(), config.helloTimeoutMs)
    this.helloTimer.unref()
    ws.on('close', () => this.onClose())
    ws.on('error', (err) => this.onError(err))
    ws.on('pong', () => ctx.alive.add(ws))
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary))
    metrics.connections.set(ctx.open())
    metrics.connectionsTotal.inc()
    ctx.alive.add(ws)
    if (ctx.perIp.inc(ip) > config.maxConnectionsPerIp) {
      metrics.rejected.inc({ reason: 'connections_per_ip' })
      this.close(CloseCode.rateLimited, 'too many connections from this address')
    }
  }

  /** Pings and resolves true on a pong or any frame within `ms` (a peer's claim, registry.ts). */
  probe(ms: number): Promise<boolean> {
    const ws = this.ws
    return new Promise((resolve) => {
      if (ws.readyState !== ws.OPEN) return resolve(false)
      const done = (alive: boolean): void => {
        clearTimeout(timer)
        ws.off('pong', yes).off('message', yes).off('close', no)
        resolve(alive)
      }
      const yes = (): void => done(true)
      const no = (): void => done(false)
      const timer = setTimeout(no, ms)
      ws.on('pong', yes).on('message', yes).on('close', no)
      ws.ping()
    })
  }

  private send(frame: ServerFrame): void {
    const ws = this.ws
    if (ws.readyState !== ws.OPEN) return
    ws.send(JSON.stringify(frame))
    if (ws.bufferedAmount > this.ctx.opts.config.maxSendBufferBytes) this.ctx.terminate(ws, 'slow_consumer')
  }

  private close(code: number, reason: string): void {
    if (this.closing) return
    this.closing = true
    this.ctx.opts.metrics.closes.inc({ code: String(code) })
    this.ws.close(code, reason)
  }

  private helloTimeout(): void {
    if (this.helloState !== 'none') return
    // 1013, not 1008: an SDK whose token callback is slow should come back, not give up.
    this.ctx.opts.metrics.rejected.inc({ reason: 'hello_timeout' })
    this.close(CloseCode.tryAgainLater, 'no hello received in time')
  }

  private onClose(): void {
    clearTimeout(this.helloTimer)
    this.session.dispose()
    this.ctx.perIp.dec(this.ip)
    if (this.tokenKey !== undefined) this.ctx.perToken.dec(this.tokenKey)
    this.ctx.opts.metrics.connections.set(this.ctx.open())
  }

  private onError(err: Error): void {
    const { metrics, log } = this.ctx.opts
    // ws closes with 1009 itself when maxPayload is exceeded; anything else is logged and dropped.
    if ((err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
      metrics.rejected.inc({ reason: 'frame_too_large' })
      metrics.closes.inc({ code: '1009' })
    } else log.debug({ err }, 'stream socket error')
  }

  /** Counts a refused frame; past MAX_ERRORS the connection is closed (1008). */
  private refused(reason: string): void {
    if (++this.errors > MAX_ERRORS) this.close(CloseCode.policy, reason)
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    const { config, metrics, ingest } = this.ctx.opts
    // A frame proves liveness as well as a pong does. Under overload a pong waits behind seconds of
    // queued frames; without this every busy socket would miss its pong and be cut at once.
    this.ctx.alive.add(this.ws)
    if (this.closing) return
    const now = performance.now()
    this.tokens = Math.min(
      this.capacity,
      this.tokens + ((now - this.refilled) / 1000) * config.maxFramesPerSecond,
    )
    this.refilled = now
    if (--this.tokens < 0) {
      metrics.rejected.inc({ reason: 'rate_limited' })
      this.close(CloseCode.rateLimited, 'frame rate limit exceeded')
      return
    }
    if (isBinary) {
      metrics.rejected.inc({ reason: 'bad_frame' })
      this.session.fail('bad_frame', 'frames are JSON text')
      if (this.helloState === 'none') this.close(CloseCode.policy, 'hello refused')
      else this.refused('too many invalid frames')
      return
    }
    if (ingest.overloaded) {
      // The store is behind: push back rather than grow without bound. Unacked frames stay in the SDK.
      metrics.rejected.inc({ reason: 'backpressure' })
      this.close(CloseCode.tryAgainLater, 'collector is overloaded; retry later')
      return
    }
    const buf = data as Buffer
    if (this.queuedBytes + this.session.pendingBytes + buf.length > config.maxBufferedBytes) {
      // This connection holds too much that is not stored yet (store slow, or frames sent before
      // welcome): the SDK keeps its frames and resends them after reconnecting.
      metrics.rejected.inc({ reason: 'buffered_bytes' })
      this.close(CloseCode.tryAgainLater, 'too much unstored data on this connection; retry later')
      return
    }
    const text = buf.toString('utf8')
    metrics.bytes.inc(undefined, buf.length)
    if (this.helloState === 'pending') {
      this.queued.push(text)
      this.queuedBytes += buf.length
    } else this.safely(text)
  }

  // Invariant 2: whatever a frame does to the code below, it costs this connection only (1011).
  private safely(text: string): void {
    try {
      this.handleText(text)
    } catch (err) {
      const { metrics, log } = this.ctx.opts
      log.error({ err, frame: text.slice(0, 200) }, 'frame handling failed')
      metrics.rejected.inc({ reason: 'internal' })
      this.close(CloseCode.internal, 'internal error')
    }
  }

  private handleText(text: string): void {
    const { metrics } = this.ctx.opts
    const parsed = parseClientFrame(text)
    if (!parsed.ok) {
      metrics.rejected.inc({ reason: parsed.code })
      if (this.helloState === 'none') {
        // The first frame must be a valid hello; one that is not cannot become one, so the socket is
        // closed at once (1008, final for the SDK) rather than held open until the hello timeout.
        this.session.fail(parsed.code, `hello refused: ${parsed.message}`)
        this.close(CloseCode.policy, 'hello refused')
        return
      }
      this.session.fail(parsed.code, parsed.message)
      this.refused('too many invalid frames')
      return
    }
    const frame = parsed.frame
    if (frame.t === 'hello') {
      this.hello(frame)
      return
    }
    if (this.helloState === 'none') {
      metrics.rejected.inc({ reason: 'hello_required' })
      this.session.fail('hello_required', 'the first frame must be hello')
      this.close(CloseCode.policy, 'hello required')
      return
    }
    const whole = this.joinParts({ frame, text, dropped: parsed.dropped })
    if (whole && this.session.frame(whole.frame, whole.text, whole.dropped) === undefined)
      this.refused('too many refused frames')
  }

  private hello(frame: Parameters<ClientSession['hello']>[0]): void {
    const { config, metrics, log } = this.ctx.opts
    if (this.helloState !== 'none') {
      metrics.rejected.inc({ reason: 'hello_repeated' })
      this.session.fail('hello_repeated', 'hello was already received on this connection')
      this.refused('too many refused frames')
      return
    }
    this.helloState = 'pending'
    if (frame.token) {
      // Keyed by the signature: unique per token, and a forged one only ever counts against itself.
      this.tokenKey = frame.token.slice(frame.token.lastIndexOf('.') + 1)
      if (this.ctx.perToken.inc(this.tokenKey) > config.maxConnectionsPerToken) {
        metrics.rejected.inc({ reason: 'connections_per_token' })
        this.session.fail('rate_limited', 'too many connections with this token')
        this.close(CloseCode.rateLimited, 'too many connections with this token')
        return
      }
    }
    void this.session.hello(frame).then(
      (ok) => {
        if (!ok || this.closing) return
        this.helloState = 'done'
        setMessageLimit(this.ws, config.maxFrameBytes)
        const queued = this.queued
        this.queued = []
        this.queuedBytes = 0
        for (const t of queued) if (!this.closing) this.safely(t)
      },
      (err: unknown) => {
        log.error({ err }, 'hello failed')
        this.close(CloseCode.internal, 'internal error')
      },
    )
  }
}
