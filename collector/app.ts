// HTTP routes on web-standard Request/Response (hono): health, readiness, metrics, the HTTPS fallback
// for clients that cannot open a WebSocket, and whatever the analyzer and web view mount.
import { getConnInfo } from '@hono/node-server/conninfo'
import { Hono } from 'hono'
import type { Context } from 'hono'
import type { BlankEnv } from 'hono/types'
import { bodyLimit } from 'hono/body-limit'
import { cors } from 'hono/cors'
import { HTTPException } from 'hono/http-exception'
import type { Logger } from 'pino'
import type { ChannelFrame, HelloFrame, ServerFrame } from '../core/protocol.ts'
import type { Store } from '../store/index.ts'
import { mountAdmin } from './admin.ts'
import type { Config } from './config.ts'
import { Gate } from './gate.ts'
import type { DeletionWatch } from './deletions.ts'
import type { Ingest } from './ingest.ts'
import { parseIngestRequest } from './protocol.ts'
import { createFrameParts } from './frame-parts.ts'
import { clientAddress } from './proxies.ts'
import type { SessionRegistry } from './registry.ts'
import type { ResumeLoader } from './resume.ts'
import { ClientSession } from './session.ts'
import type { CollectorMetrics } from './stats.ts'
import { METRICS_CONTENT_TYPE, processMetrics, renderMetrics } from '../lib/metrics.ts'
import type { Registry } from '../lib/metrics.ts'

export interface AppDeps {
  store: Store
  ingest: Ingest
  registry: SessionRegistry
  resume: ResumeLoader
  deletions?: DeletionWatch
  config: Config
  log: Logger
  metrics: CollectorMetrics
  /** Further routes (analyzer API, web view), mounted after the collector's own. */
  mount?: ReadonlyArray<(app: Hono) => void>
  /** Further metrics served at /metrics beside the collector's and the process's (the analyzer's). */
  registries?: readonly Registry[]
}

// Ingest bodies read and parsed at once (the rest wait, unread, in their sockets).
const READERS = 8

/** A parsed ingest body, each frame with its JSON as stored. */
interface IngestRequest {
  hello: HelloFrame
  frames: { frame: ChannelFrame; text: string; dropped?: string }[]
}

/** Builds the HTTP app. No I/O happens until a request arrives. */
export function createApp(deps: AppDeps): Hono {
  const { store, ingest, config, log, metrics } = deps
  const app = new Hono()

  app.onError((err, c) => {
    if (err instanceof HTTPException) return c.json({ error: err.message }, err.status)
    log.error({ err, path: c.req.path }, 'request failed')
    return c.json({ error: 'internal error' }, 500)
  })

  // CORS (browsers only; tokens and keys are the real gate, no cookies are ever used). The ingest
  // fallback lets every origin read its answer: the per-app allow-list is enforced on its hello (403),
  // as on streams. The API (analyzer, deletion) answers only the configured origins, or any in dev mode.
  const origins = new Set([...config.allowedOrigins.values()].flat())
  const apiAny = config.dev || origins.has('*')
  app.use(
    '/v1/ingest',
    cors({
      origin: (o) => o || '*',
      allowMethods: ['POST', 'OPTIONS'],
      maxAge: 600,
    }),
  )
  app.use(
    '/api/*',
    cors({
      origin: (o) => (apiAny || origins.has(o) ? o : null),
      allowMethods: ['GET', 'POST', 'DELETE', 'OPTIONS'],
      allowHeaders: ['Authorization', 'Content-Type'],
      maxAge: 600,
    }),
  )

  app.get('/healthz', (c) => c.json({ ok: true }))

  // Ready = the store answers, writes succeed, and unstored frames are within bounds. A load balancer
  // stops sending new clients while this is 503; streams already open are pushed back with 1013.
  app.get('/readyz', async (c) => {
    const ping = await store.ping()
    const ready = ping.ok && ingest.healthy && !ingest.overloaded
    const body = {
      ok: ready,
      store: ping.ok ? 'ok' : ping.error,
      writes: ingest.healthy ? 'ok' : 'failing',
      pendingFrames: ingest.pendingFrames,
      pendingBytes: ingest.pendingBytes,
      overloaded: ingest.overloaded,
      ...(config.dev ? { dev: true, warning: 'DEV MODE: streams are accepted without authentication' } : {}),
    }
    return c.json(body, ready ? 200 : 503)
  })

  metrics.registry.gauge(
    'rtcpulse_pending_frames',
    'Frames accepted but not yet stored (acks pending)',
    () => ingest.pendingFrames,
  )
  metrics.registry.gauge(
    'rtcpulse_pending_bytes',
    'Bytes of frames accepted but not yet stored',
    () => ingest.pendingBytes,
  )
  metrics.registry.gauge('rtcpulse_store_healthy', '1 while store writes succeed', () =>
    ingest.healthy ? 1 : 0,
  )
  metrics.registry.gauge(
    'rtcpulse_dev_mode',
    '1 when the collector runs in insecure dev mode (streams accepted without a token)',
    () => (config.dev ? 1 : 0),
  )

  // One endpoint for everything this process measures: the collector's metrics, the plugins' (the
  // analyzer's rtcpulse_analyzer_*) and prom-client's process metrics (event-loop lag, GC, heap, fds).
  const registries = [metrics.registry, ...(deps.registries ?? []), processMetrics()]
  app.get('/metrics', async (c) =>
    c.text(await renderMetrics(registries), 200, { 'content-type': METRICS_CONTENT_TYPE }),
  )

  // Request bodies are read before their hello is authenticated: each is bounded (hono's bodyLimit
  // counts the bytes of a chunked body as they arrive, and stops at the limit), and only a few are read
  // and parsed at once, so unauthenticated posts hold at most READERS × maxIngestBytes: each reserves its
  // Content-Length (the limit when it has none) from that budget, so a storm of small hellos is read side
  // by side while large bodies queue.
  const tooLarge = `request body over ${config.maxIngestBytes} bytes`
  const limit = bodyLimit({
    maxSize: config.maxIngestBytes,
    onError: (c) => {
      metrics.rejected.inc({ reason: 'body_too_large' })
      return c.json({ error: tooLarge, code: 'frame_too_large' }, 413)
    },
  })
  const readers = new Gate(READERS * config.maxIngestBytes, 1024)

  /** Reads, bounds and parses an ingest body: the request, or the answer that refuses it. */
  const readIngest = async (
    c: Context<BlankEnv, string>,
  ): Promise<{ ok: true; req: IngestRequest } | { ok: false; res: Response }> => {
    const declared = Number(c.req.header('content-length'))
    const reserve = Number.isSafeInteger(declared) && declared >= 0 ? declared : config.maxIngestBytes
    if (!(await readers.acquire(reserve)))
      return { ok: false, res: c.json({ error: 'collector overloaded' }, 503) }
    let text: string | undefined
    try {
      const refused = await limit(c, async () => {
        text = await c.req.text()
      })
      if (refused) return { ok: false, res: refused }
    } finally {
      readers.release(reserve)
    }
    let body: unknown
    try {
      body = JSON.parse(text ?? '')
    } catch {
      throw new HTTPException(400, { message: 'body is not JSON' })
    }
    const parsed = parseIngestRequest(body)
    if (!parsed.ok) throw new HTTPException(400, { message: parsed.message })
    // The stream's per-message limits, per frame: a hello is at most maxHelloBytes, a frame maxFrameBytes.
    const helloBytes = Buffer.byteLength(JSON.stringify(parsed.hello))
    if (helloBytes > config.maxHelloBytes) {
      metrics.rejected.inc({ reason: 'frame_too_large' })
      return {
        ok: false,
        res: c.json({ error: `hello is over ${config.maxHelloBytes} bytes`, code: 'frame_too_large' }, 413),
      }
    }
    const frames: IngestRequest['frames'] = []
    for (const [i, f] of parsed.frames.entries()) {
      const text = JSON.stringify(f.frame)
      if (Buffer.byteLength(text) > config.maxFrameBytes) {
        metrics.rejected.inc({ reason: 'frame_too_large' })
        const error = `frames.${i} is over ${config.maxFrameBytes} bytes`
        return { ok: false, res: c.json({ error, code: 'frame_too_large' }, 413) }
      }
      frames.push({ ...f, text })
    }
    return { ok: true, req: { hello: parsed.hello, frames } }
  }

  // HTTPS fallback and sendBeacon target: one hello and a run of frames per request (sdk/PROTOCOL.md).
  app.post('/v1/ingest', async (c) => {
    const read = await readIngest(c)
    if (!read.ok) return read.res
    const parsed = read.req
    const errors: ServerFrame[] = []
    let closed: { code: number; reason: string } | undefined
    const ip = clientAddress(
      getConnInfo(c).remote.address ?? '',
      (h) => c.req.header(h),
      config.trustedProxies,
    )
    const session = new ClientSession(
      deps,
      { ip, origin: c.req.header('origin'), live: false },
      {
        send: (f) => {
          if (f.t === 'error') errors.push(f)
        },
        close: (code, reason) => (closed = { code, reason }),
      },
    )
    if (!(await session.hello(parsed.hello))) {
      const status = closed?.code === 4001 ? 401 : closed?.code === 4003 ? 403 : 503
      return c.json({ error: closed?.reason ?? 'refused', errors }, status)
    }
    const writes: Promise<void>[] = []
    let overloaded = false
    const joinParts = createFrameParts(config.maxFrameBytes * 8, (code, message, f) =>
      session.fail(code, message, f),
    )
    for (const received of parsed.frames) {
      // Stop taking frames once the store is behind (memory stays bounded); the rest are not acked.
      if ((overloaded = ingest.overloaded)) break
      const whole = joinParts(received)
      const w = whole && session.frame(whole.frame, whole.text, whole.dropped)
      if (w) writes.push(w)
    }
    const results = await Promise.allSettled(writes)
    session.dispose()
    if (results.some((r) => r.status === 'rejected'))
      return c.json({ error: 'store unavailable', errors }, 503)
    if (overloaded) return c.json({ error: 'collector overloaded', seq: session.storedSeqs(), errors }, 503)
    return c.json({ seq: session.storedSeqs(), errors })
  })

  mountAdmin(app, deps)
  for (const m of deps.mount ?? []) m(app)
  return app
}
