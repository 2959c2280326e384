// The `/v1/stream` WebSocket endpoint: framing, limits, liveness. Protocol logic lives in session.ts.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { RawData, WebSocket } from 'ws'
import { CloseCode } from '../sdk/src/protocol.ts'
import type { ServerFrame } from '../sdk/src/protocol.ts'
import type { Config } from './config.ts'
import { parseClientFrame } from './protocol.ts'
import { ClientSession } from './session.ts'
import type { SessionDeps } from './session.ts'

export interface StreamServer {
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void
  /** Closes every stream with 1001 (going away); the SDKs reconnect elsewhere. */
  close(): Promise<void>
  readonly connections: number
}

export interface StreamOptions extends SessionDeps {
  config: SessionDeps['config'] & Pick<Config, 'maxConnectionsPerIp' | 'maxPendingFrames'>
  /** Interval of liveness pings; a socket that misses one pong is terminated. */
  pingIntervalMs?: number
}

// A client that keeps sending garbage is closed after this many refused frames.
const MAX_ERRORS = 100

/** Client address: the socket's peer (a proxy in front must be trusted explicitly; we do not read XFF). */
const ipOf = (req: IncomingMessage): string => req.socket.remoteAddress ?? ''

/** Creates the WebSocket endpoint. Frames over `maxFrameBytes` close the socket with 1009 (ws maxPayload). */
export function createStreamServer(opts: StreamOptions): StreamServer {
  const { config, metrics, log, ingest } = opts
  // permessage-deflate (RFC 7692) with the client keeping its context: consecutive delta frames share
  // most of their keys, so the SDK's frames shrink to a fraction on the wire. The server's own frames
  // (acks) are tiny and sent uncompressed (threshold), and a 4 KiB client window bounds inflate memory.
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: config.maxFrameBytes,
    perMessageDeflate: {
      clientMaxWindowBits: 12,
      serverNoContextTakeover: true,
      threshold: 4096,
      concurrencyLimit: 4,
    },
  })
  const perIp = new Map<string, number>()
  const alive = new WeakSet<WebSocket>()

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!alive.has(ws)) {
        metrics.closes.inc({ code: 'timeout' })
        ws.terminate()
        continue
      }
      alive.delete(ws)
      ws.ping()
    }
  }, opts.pingIntervalMs ?? 30_000)
  pinger.unref()

  function onConnection(ws: WebSocket, req: IncomingMessage): void {
    const ip = ipOf(req)
    const count = (perIp.get(ip) ?? 0) + 1
    perIp.set(ip, count)
    metrics.connections.set(wss.clients.size)
    metrics.connectionsTotal.inc()
    alive.add(ws)
    ws.on('pong', () => alive.add(ws))

    const close = (code: number, reason: string): void => {
      metrics.closes.inc({ code: String(code) })
      ws.close(code, reason)
    }
    const session = new ClientSession(
      opts,
      { ip, origin: req.headers.origin },
      {
        send: (frame: ServerFrame) => {
          if (ws.readyState === ws.OPEN) ws.send(JSON.stringify(frame))
        },
        close,
      },
    )
    if (count > config.maxConnectionsPerIp) {
      metrics.rejected.inc({ reason: 'connections_per_ip' })
      close(CloseCode.rateLimited, 'too many connections from this address')
    }

    // Token bucket: a burst of 2 s worth of frames, refilled at maxFramesPerSecond.
    const capacity = config.maxFramesPerSecond * 2
    let tokens = capacity
    let refilled = performance.now()
    let errors = 0
    let helloState: 'none' | 'pending' | 'done' = 'none'
    const queued: string[] = []

    const handleText = (text: string): void => {
      const parsed = parseClientFrame(text)
      if (!parsed.ok) {
        metrics.rejected.inc({ reason: parsed.code })
        session.fail(parsed.code, parsed.message)
        if (parsed.code === 'unsupported_version') close(CloseCode.policy, 'unsupported protocol version')
        else if (++errors > MAX_ERRORS) close(CloseCode.policy, 'too many invalid frames')
        return
      }
      const frame = parsed.frame
      if (frame.t === 'hello') {
        if (helloState !== 'none') {
          metrics.rejected.inc({ reason: 'hello_repeated' })
          session.fail('hello_repeated', 'hello was already received on this connection')
          return
        }
        helloState = 'pending'
        void session.hello(frame).then((ok) => {
          if (!ok) return
          helloState = 'done'
          for (const t of queued.splice(0)) handleText(t)
        })
        return
      }
      if (helloState === 'none') {
        metrics.rejected.inc({ reason: 'hello_required' })
        session.fail('hello_required', 'the first frame must be hello')
        close(CloseCode.policy, 'hello required')
        return
      }
      if (session.frame(frame, text) === undefined && ++errors > MAX_ERRORS)
        close(CloseCode.policy, 'too many refused frames')
    }

    ws.on('message', (data: RawData, isBinary: boolean) => {
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
        return
      }
      if (ingest.pendingFrames > config.maxPendingFrames) {
        // The store is behind: push back rather than grow without bound. Unacked frames stay in the SDK.
        metrics.rejected.inc({ reason: 'backpressure' })
        close(CloseCode.tryAgainLater, 'collector is overloaded; retry later')
        return
      }
      const text = (data as Buffer).toString('utf8')
      metrics.bytes.inc(undefined, text.length)
      if (helloState === 'pending') queued.push(text)
      else handleText(text)
    })
    ws.on('close', () => {
      session.dispose()
      const n = (perIp.get(ip) ?? 1) - 1
      if (n <= 0) perIp.delete(ip)
      else perIp.set(ip, n)
      metrics.connections.set(wss.clients.size)
    })
    ws.on('error', (err) => {
      // ws closes with 1009 itself when maxPayload is exceeded; anything else is logged and dropped.
      if ((err as { code?: string }).code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH') {
        metrics.rejected.inc({ reason: 'frame_too_large' })
        metrics.closes.inc({ code: '1009' })
      } else log.debug({ err }, 'stream socket error')
    })
  }

  return {
    handleUpgrade(req, socket, head) {
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
