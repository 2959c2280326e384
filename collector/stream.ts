// The `/v1/stream` WebSocket endpoint: framing, limits, liveness. Protocol logic lives in session.ts.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { RawData, WebSocket } from 'ws'
import { CloseCode } from '../sdk/src/protocol.ts'
import type { ServerFrame } from '../sdk/src/protocol.ts'
import type { Config } from './config.ts'
import { chooseDeflateOffer } from './deflate-offer.ts'
import { installOneTripInflate } from './inflate.ts'
import { setMessageLimit } from './message-limit.ts'
import { createFrameParts } from './frame-parts.ts'
import { parseClientFrame } from './protocol.ts'
import { clientAddress } from './proxies.ts'
import type { TrustedProxies } from './proxies.ts'
import { ClientSession } from './session.ts'
import type { SessionDeps } from './session.ts'

export interface StreamServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** Closes every stream with 1001 (going away); the SDKs reconnect elsewhere. */
  close(): Promise<void>
  readonly connections: number
}

export interface StreamOptions extends SessionDeps {
  config: SessionDeps['config'] &
    Pick<
      Config,
      | 'maxConnectionsPerIp'
      | 'maxConnectionsPerToken'
      | 'maxBufferedBytes'
      | 'maxSendBufferBytes'
      | 'pingIntervalMs'
      | 'helloTimeoutMs'
      | 'maxHelloBytes'
      | 'trustedProxies'
    >
}

// A client that keeps sending garbage is closed after this many refused frames.
const MAX_ERRORS = 100

/** Client address: the socket's peer, or the client a trusted proxy names (collector/proxies.ts). */
const ipOf = (req: IncomingMessage, trusted: TrustedProxies): string =>
  clientAddress(req.socket.remoteAddress ?? '', (name) => headerText(req.headers[name]), trusted)
const headerText = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v.join(', ') : v

/** Connection count per key (client address, token), for the per-IP and per-token limits. */
class Counts {
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

/**
 * Creates the WebSocket endpoint. Every limit closes the socket with its code (sdk/PROTOCOL.md): frames
 * over `maxFrameBytes` 1009 (ws maxPayload), frame rate, connections per IP and per token 4029, unstored
 * bytes, store outages and no hello in time 1013. Liveness: a ping every `pingIntervalMs`; a socket
 * that sent neither a pong nor a frame since the previous one, or whose unread server bytes pass
 * `maxSendBufferBytes`, is terminated (half-open sockets and slow consumers hold memory and slots).
 */
export function createStreamServer(opts: StreamOptions): StreamServer {
  const { config, metrics, log, ingest } = opts
  const inflate = installOneTripInflate()
  if (!inflate.installed)
    log.warn({ reason: inflate.reason }, 'ws inflates messages its own way (3 pool trips)')
  // permessage-deflate (RFC 7692) with the client keeping its context: consecutive delta frames share
  // most of their keys, so the SDK's frames shrink to a fraction on the wire. The server's own frames
  // (acks) are tiny and sent uncompressed (threshold). The offer is chosen in handleUpgrade
  // (collector/deflate-offer.ts: a 4 KiB client window when the client allows it, any offer accepted).
  // ws inflates on the libuv pool behind a process-wide limiter (ws's default: 10); a low limit leaves
  // messages queued for a slot while the pool idles between round trips (collector/inflate.ts).
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: {
      serverNoContextTakeover: true,
      threshold: 4096,
      concurrencyLimit: 16,
    },
  })
  const perIp = new Counts()
  const perToken = new Counts()
  const alive = new WeakSet<WebSocket>()

  const terminate = (ws: WebSocket, why: 'timeout' | 'slow_consumer'): void => {
    metrics.closes.inc({ code: why })
    ws.terminate()
  }

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) terminate(ws, 'timeout')
      else if (ws.bufferedAmount > config.maxSendBufferBytes) terminate(ws, 'slow_consumer')
      else {
        alive.delete(ws)
        ws.ping()
      }
    }
  }, config.pingIntervalMs)
  pinger.unref()

  // Pings `ws` and resolves true on its pong or any frame within `ms` (a peer's claim, registry.ts).
  const probe = (ws: WebSocket, ms: number): Promise<boolean> =>
    new Promise((resolve) => {
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

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    const ip = ipOf(req, config.trustedProxies)
    // Until the hello is accepted, a message may be a hello and nothing bigger: an unauthenticated
    // socket cannot make the collector inflate more than maxHelloBytes (maxFrameBytes after welcome).
    if (!setMessageLimit(ws, config.maxHelloBytes)) log.warn('cannot lower the message limit before hello')
    let tokenKey: string | undefined
    let closing = false
    let helloState: 'none' | 'pending' | 'done' = 'none'
    const close = (code: number, reason: string): void => {
      if (closing) return
      closing = true
      metrics.closes.inc({ code: String(code) })
      ws.close(code, reason)
    }
    const session = new ClientSession(
      opts,
      { ip, origin: req.headers.origin, live: true, probe: (ms) => probe(ws, ms) },
      {
        send: (frame: ServerFrame) => {
          if (ws.readyState !== ws.OPEN) return
          ws.send(JSON.stringify(frame))
          if (ws.bufferedAmount > config.maxSendBufferBytes) terminate(ws, 'slow_consumer')
        },
        close,
      },
    )
    const helloTimer = setTimeout(() => {
      if (helloState === 'none') {
        // 1013, not 1008: an SDK whose token callback is slow should come back, not give up.
        metrics.rejected.inc({ reason: 'hello_timeout' })
        close(CloseCode.tryAgainLater, 'no hello received in time')
      }
    }, config.helloTimeoutMs)
    helloTimer.unref()
    ws.on('close', () => {
      clearTimeout(helloTimer)
      session.dispose()
      perIp.dec(ip)
      if (tokenKey !== undefined) perToken.dec(tokenKey)
      metrics.connections.set(wss.clients.size)
    })
    ws.on('error', (err) => {
      // ws closes with 1009 itself when maxPayload is exceeded; anything else is logged and dropped.
      if ((err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        metrics.rejected.inc({ reason: 'frame_too_large' })
        metrics.closes.inc({ code: '1009' })
      } else log.debug({ err }, 'stream socket error')
    })
    metrics.connections.set(wss.clients.size)
    metrics.connectionsTotal.inc()
    alive.add(ws)
    ws.on('pong', () => alive.add(ws))
    if (perIp.inc(ip) > config.maxConnectionsPerIp) {
      metrics.rejected.inc({ reason: 'connections_per_ip' })
      close(CloseCode.rateLimited, 'too many connections from this address')
      return
    }

    // Token bucket: a burst of 2 s worth of frames, refilled at maxFramesPerSecond.
    const capacity = config.maxFramesPerSecond * 2
    let tokens = capacity
    let refilled = performance.now()
    let errors = 0
    // Frames that arrive while the hello waits for the store, with their byte count (bounded below).
    const queued: string[] = []
    let queuedBytes = 0
    const joinParts = createFrameParts(config.maxFrameBytes * 8, (code, message, f) =>
      session.fail(code, message, f),
    )

    const handleText = (text: string): void => {
      const parsed = parseClientFrame(text)
      if (!parsed.ok) {
        metrics.rejected.inc({ reason: parsed.code })
        if (helloState === 'none') {
          // The first frame must be a valid hello; one that is not cannot become one, so the socket is
          // closed at once (1008, final for the SDK) rather than held open until the hello timeout.
          session.fail(parsed.code, `hello refused: ${parsed.message}`)
          close(CloseCode.policy, 'hello refused')
          return
        }
        session.fail(parsed.code, parsed.message)
        if (++errors > MAX_ERRORS) close(CloseCode.policy, 'too many invalid frames')
        return
      }
      const frame = parsed.frame
      if (frame.t === 'hello') {
        if (helloState !== 'none') {
          metrics.rejected.inc({ reason: 'hello_repeated' })
          session.fail('hello_repeated', 'hello was already received on this connection')
          if (++errors > MAX_ERRORS) close(CloseCode.policy, 'too many refused frames')
          return
        }
        helloState = 'pending'
        if (frame.token) {
          // Keyed by the signature: unique per token, and a forged one only ever counts against itself.
          tokenKey = frame.token.slice(frame.token.lastIndexOf('.') + 1)
          if (perToken.inc(tokenKey) > config.maxConnectionsPerToken) {
            metrics.rejected.inc({ reason: 'connections_per_token' })
            session.fail('rate_limited', 'too many connections with this token')
            close(CloseCode.rateLimited, 'too many connections with this token')
            return
          }
        }
        void session.hello(frame).then(
          (ok) => {
            if (!ok || closing) return
            helloState = 'done'
            setMessageLimit(ws, config.maxFrameBytes)
            queuedBytes = 0
            for (const t of queued.splice(0)) if (!closing) safely(t)
          },
          (err: unknown) => {
            log.error({ err }, 'hello failed')
            close(CloseCode.internal, 'internal error')
          },
        )
        return
      }
      if (helloState === 'none') {
        metrics.rejected.inc({ reason: 'hello_required' })
        session.fail('hello_required', 'the first frame must be hello')
        close(CloseCode.policy, 'hello required')
        return
      }
      const whole = joinParts({ frame, text, dropped: parsed.dropped })
      if (
        whole &&
        session.frame(whole.frame, whole.text, whole.dropped) === undefined &&
        ++errors > MAX_ERRORS
      )
        close(CloseCode.policy, 'too many refused frames')
    }

    // Invariant 2: whatever a frame does to the code below, it costs this connection only (1011).
    const safely = (text: string): void => {
      try {
        handleText(text)
      } catch (err) {
        log.error({ err, frame: text.slice(0, 200) }, 'frame handling failed')
        metrics.rejected.inc({ reason: 'internal' })
        close(CloseCode.internal, 'internal error')
      }
    }

    ws.on('message', (data: RawData, isBinary: boolean) => {
      // A frame proves liveness as well as a pong does. Under overload a pong waits behind seconds of
      // queued frames; without this every busy socket would miss its pong and be cut at once.
      alive.add(ws)
      if (closing) return
      const now = performance.now()
      tokens = Math.min(capacity, tokens + ((now - refilled) / 1000) * config.maxFramesPerSecond)
      refilled = now
      if (--tokens < 0) {
        metrics.rejected.inc({ reason: 'rate_limited' })
        close(CloseCode.rateLimited, 'frame rate limit exceeded')
        return
      }
      if (isBinary) {
        metrics.rejected.inc({ reason: 'bad_frame' })
        session.fail('bad_frame', 'frames are JSON text')
        if (helloState === 'none') close(CloseCode.policy, 'hello refused')
        else if (++errors > MAX_ERRORS) close(CloseCode.policy, 'too many invalid frames')
        return
      }
      if (ingest.overloaded) {
        // The store is behind: push back rather than grow without bound. Unacked frames stay in the SDK.
        metrics.rejected.inc({ reason: 'backpressure' })
        close(CloseCode.tryAgainLater, 'collector is overloaded; retry later')
        return
      }
      const buf = data as Buffer
      if (queuedBytes + session.pendingBytes + buf.length > config.maxBufferedBytes) {
        // This connection holds too much that is not stored yet (store slow, or frames sent before
        // welcome): the SDK keeps its frames and resends them after reconnecting.
        metrics.rejected.inc({ reason: 'buffered_bytes' })
        close(CloseCode.tryAgainLater, 'too much unstored data on this connection; retry later')
        return
      }
      const text = buf.toString('utf8')
      metrics.bytes.inc(undefined, buf.length)
      if (helloState === 'pending') {
        queued.push(text)
        queuedBytes += buf.length
      } else safely(text)
    })
  }

  return {
    handleUpgrade(req, socket, head) {
      // ws sees only the offer chosen here, already in the form of its answer, or none (uncompressed).
      const offer = chooseDeflateOffer(req.headers['sec-websocket-extensions'])
      if (offer === undefined) delete req.headers['sec-websocket-extensions']
      else req.headers['sec-websocket-extensions'] = offer
      wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, req))
    },
    async close() {
      clearInterval(pinger)
      const closing = [...wss.clients].map(
        (ws) =>
          new Promise<void>((resolve) => {
            ws.once('close', () => resolve())
            ws.close(CloseCode.goingAway, 'collector shutting down')
            setTimeout(() => {
              ws.terminate()
              resolve()
            }, 2000).unref()
          }),
      )
      await Promise.all(closing)
      await new Promise<void>((resolve) => wss.close(() => resolve()))
    },
    get connections() {
      return wss.clients.size
    },
  }
}
