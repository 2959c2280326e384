// The `/v1/stream` WebSocket endpoint: upgrade, deflate offer, liveness pings, shutdown. Each socket is a
// StreamConnection (connection.ts); protocol logic lives in session.ts.
import type { IncomingMessage } from 'node:http'
import type { Duplex } from 'node:stream'
import { WebSocketServer } from 'ws'
import type { WebSocket } from 'ws'
import { CloseCode } from '../core/protocol.ts'
import type { Config } from './config.ts'
import { Counts, StreamConnection } from './connection.ts'
import type { ConnectionContext } from './connection.ts'
import { chooseDeflateOffer } from './deflate-offer.ts'
import { installOneTripInflate } from './inflate.ts'
import { clientAddress } from './proxies.ts'
import type { TrustedProxies } from './proxies.ts'
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

/** Client address: the socket's peer, or the client a trusted proxy names (collector/proxies.ts). */
const ipOf = (req: IncomingMessage, trusted: TrustedProxies): string =>
  clientAddress(req.socket.remoteAddress ?? '', (name) => headerText(req.headers[name]), trusted)
const headerText = (v: string | string[] | undefined): string | undefined =>
  Array.isArray(v) ? v.join(', ') : v

/**
 * Creates the WebSocket endpoint. Every limit closes the socket with its code (sdk/PROTOCOL.md): frames
 * over `maxFrameBytes` 1009 (ws maxPayload), frame rate, connections per IP and per token 4029, unstored
 * bytes, store outages and no hello in time 1013. Liveness: a ping every `pingIntervalMs`; a socket
 * that sent neither a pong nor a frame since the previous one, or whose unread server bytes pass
 * `maxSendBufferBytes`, is terminated (half-open sockets and slow consumers hold memory and slots).
 */
export function createStreamServer(opts: StreamOptions): StreamServer {
  const { config, metrics, log } = opts
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
  const ctx: ConnectionContext = {
    opts,
    perIp: new Counts(),
    perToken: new Counts(),
    alive: new WeakSet<WebSocket>(),
    open: () => wss.clients.size,
    terminate(ws, why) {
      metrics.closes.inc({ code: why })
      ws.terminate()
    },
  }

  const pinger = setInterval(() => {
    for (const ws of wss.clients) {
      if (!ctx.alive.has(ws)) ctx.terminate(ws, 'timeout')
      else if (ws.bufferedAmount > config.maxSendBufferBytes) ctx.terminate(ws, 'slow_consumer')
      else {
        ctx.alive.delete(ws)
        ws.ping()
      }
    }
  }, config.pingIntervalMs)
  pinger.unref()

  return {
    handleUpgrade(req, socket, head) {
      // ws sees only the offer chosen here, already in the form of its answer, or none (uncompressed).
      const offer = chooseDeflateOffer(req.headers['sec-websocket-extensions'])
      if (offer === undefined) delete req.headers['sec-websocket-extensions']
      else req.headers['sec-websocket-extensions'] = offer
      wss.handleUpgrade(
        req,
        socket,
        head,
        (ws) => new StreamConnection(ctx, ws, ipOf(req, config.trustedProxies), req),
      )
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
