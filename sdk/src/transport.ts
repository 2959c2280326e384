// Moves the outbox to the collector: one WebSocket (`/v1/stream`, sdk/PROTOCOL.md), reconnecting with
// capped exponential backoff and full jitter; `POST /v1/ingest` batches when a WebSocket cannot be opened;
// `sendBeacon` when the page goes away. Never throws: every failure goes to `onError`.
import type { Outbox } from './outbox.ts'
import type { ServerFrame } from '../../core/protocol.ts'

/** Anything `new`-able with a URL that behaves like a browser WebSocket (the `ws` package does). */
export type WebSocketCtor = new (url: string) => unknown

interface Socket {
  send(data: string): void
  close(code?: number, reason?: string): void
  onopen: (() => void) | null
  onmessage: ((ev: { data: unknown }) => void) | null
  onclose: ((ev: { code: number; reason: string }) => void) | null
  onerror: (() => void) | null
}

export interface TransportOptions {
  /** Collector base URL: http(s):// or ws(s)://, without the /v1/... path. */
  collectorUrl: string
  /** JSON of the hello frame; called before every connection and batch (tokens may be refreshed). */
  hello: () => Promise<string>
  outbox: Outbox
  WebSocketImpl: WebSocketCtor | undefined
  /** Reports a failure; `message` is made a string (an Error as its `name: message`). */
  report: (code: string, message: unknown) => void
}

export interface Transport {
  /** Waits until every queued frame is acknowledged or `timeoutMs` passed, then closes. Never rejects. */
  close(timeoutMs: number): Promise<void>
  /** Sends what is unacknowledged with navigator.sendBeacon (page hide/unload); a no-op elsewhere. */
  beacon(): void
}

/** Full-jitter exponential backoff: a uniformly random delay in [0, min(30000, 500·2^attempt)) ms. */
export const backoff = (attempt: number, random = Math.random): number =>
  // 500 ms doubling per attempt, capped at 30 s.
  random() * Math.min(30_000, 500 * 2 ** attempt)

// Close codes that say retrying cannot help (DESIGN.md invariant 2; CloseCode in protocol.ts).
const FINAL: Record<number, string> = {
  1007: 'bad_frame',
  1008: 'policy',
  1009: 'frame_too_large',
  4001: 'unauthenticated',
  4003: 'forbidden',
}
// Tunables, written as literals where used (the IIFE budget counts every declaration):
// - 3 WebSockets failing before any opened switch to HTTP batches for good (the network blocks them),
//   one every 5000 ms;
// - a socket silent for 20000 ms while we wait (no welcome, or frames unacknowledged) is presumed dead;
// - an HTTP batch carries up to 128 KiB (the collector takes RTCPULSE_MAX_INGEST_BYTES: 1 MiB by default,
//   and never less than a frame and a hello), a beacon 60000 bytes (browsers refuse sendBeacon payloads
//   over 64 KiB in flight).

/** Starts connecting at once. */
export function createTransport(o: TransportOptions): Transport {
  const { outbox, report: onError } = o
  const WS = o.WebSocketImpl as (new (url: string) => Socket) | undefined
  const base = o.collectorUrl.replace(/\/+$/, '')
  const wsUrl = base.replace(/^http/, 'ws') + '/v1/stream'
  const httpUrl = base.replace(/^ws/, 'http') + '/v1/ingest'
  const g = globalThis as { fetch?: typeof fetch; navigator?: Navigator }
  let ws: Socket | undefined
  let welcomed = false
  let heard = 0
  let attempt = 0
  // WebSockets that failed before any opened. Once one opened, WebSockets work from here: a later failure
  // is an outage to wait out, not a network that blocks them, so there is no fallback after that.
  let unopened = 0
  // HTTP batches instead of WebSockets: set once and for good (no socket is opened after it).
  let http = !WS
  let stopped = false
  let timer: ReturnType<typeof setTimeout> | undefined
  let settle: (() => void) | undefined
  let hello: string | undefined
  // Frames waiting to be sent. A resume can hold minutes of frames, and a pc joining an SFU call emits
  // one track event per remote track at once; the collector closes a connection that exceeds its frame
  // rate (4029), so every frame, live or resent, goes out at most `rate` per one-second window (80% of
  // the rate the welcome advertises; the collector's bucket holds two seconds, so windows that straddle
  // its own stay inside it).
  let backlog: string[] = []
  let rate = 40
  let pacer: ReturnType<typeof setTimeout> | undefined
  let windowStart = 0
  let used = 0

  // Schedules the next connection attempt, or the next HTTP batch.
  const next = (ms = http ? 5000 : backoff(attempt++)): void => {
    clearTimeout(timer)
    if (!stopped) timer = setTimeout(http ? post : open, ms)
  }
  const check = (): void => {
    if (!outbox.size) settle?.()
  }
  const stop = (code: string, message: string): void => {
    stopped = true
    onError(code, message)
    settle?.()
  }
  const getHello = async (): Promise<string> => (hello = await o.hello())
  const body = (frames: string[]): string => `{"hello":${hello},"frames":[${frames.join()}]}`

  // Liveness: browsers expose no ping, so a socket that stays silent while we wait is replaced.
  const watchdog = setInterval(() => {
    if (ws && (!welcomed || outbox.size) && Date.now() - heard > 20_000) lost(ws, 'silent')
  }, 5000)

  function pump(): void {
    const now = Date.now()
    if (now - windowStart >= 1000) {
      windowStart = now
      used = 0
    }
    for (; used < rate && backlog[0] && ws; used++) ws.send(backlog.shift() as string)
    if (backlog[0]) pacer = setTimeout(pump, windowStart + 1000 - now)
  }

  function detach(): void {
    // onerror stays set: the `ws` package emits 'error' on an aborted handshake and throws without a listener.
    // 1000 is always a valid code, so close() cannot throw (WHATWG WebSockets, close() steps).
    if (ws) {
      ws.onclose = ws.onmessage = null
      ws.close(1000)
    }
    ws = outbox.sink = undefined
    backlog = []
    clearTimeout(pacer)
  }

  function lost(s: Socket, why: string, code = 1006): void {
    if (s != ws) return
    detach()
    const final = FINAL[code]
    const msg = `close ${code} ${why}`
    if (final) return stop(final, msg)
    if (welcomed) onError('disconnected', msg)
    else if (unopened > 2 && g.fetch) {
      http = true
      onError('http_fallback', msg)
    }
    welcomed = false
    next()
  }

  function open(): void {
    if (stopped || ws || !WS) return
    heard = Date.now()
    unopened++
    try {
      ws = new WS(wsUrl)
    } catch (err) {
      // e.g. SecurityError: a ws:// URL from an https:// page.
      onError('connect_failed', err)
      return next()
    }
    const s = ws
    s.onerror = () => {}
    s.onclose = (ev) => lost(s, ev.reason, ev.code)
    s.onopen = () => {
      unopened = -Infinity
      getHello().then(
        (text) => s == ws && s.send(text),
        (err: unknown) => {
          onError('token_failed', err)
          lost(s, '')
        },
      )
    }
    s.onmessage = (ev) => {
      heard = Date.now()
      let f: ServerFrame
      try {
        f = JSON.parse(ev.data as string) as ServerFrame
      } catch {
        return
      }
      if (f.t == 'welcome') {
        welcomed = true
        attempt = 0
        // `used < rate` lets ceil(rate) frames through per window.
        rate = f.limits.maxFramesPerSecond * 0.8
        outbox.skip = RegExp(f.omit || '$^')
        backlog = outbox.resume(f.resume)
        // Frames joining an empty backlog go at once; otherwise the pacer's timer is pending.
        outbox.sink = (t) => backlog.push(...t) == t.length && pump()
        pump()
      } else if (f.t == 'ack') outbox.ack(f.seq)
      else if (f.t == 'error') {
        onError(f.code, f.message)
        // The collector lost our sequence (seq_gap, seq_regression: a refused frame): a new connection re-primes and resends.
        if (/^seq_/.test(f.code)) lost(s, f.message, 1000)
      }
      check()
    }
  }

  async function post(): Promise<void> {
    if (stopped || ws) return
    if (outbox.size && g.fetch) {
      try {
        await getHello()
        const res = await g.fetch(httpUrl, { method: 'POST', body: body(outbox.resume({}, 1 << 17)) })
        // 401 and 403 mean what close codes 4001 and 4003 mean on the WebSocket.
        const final = FINAL[res.status + 3600]
        const status = `HTTP ${res.status}`
        if (final) return stop(final, status)
        if (!res.ok) throw Error(status)
        const r = (await res.json()) as {
          seq: Record<string, number>
          errors: { code: string; message: string }[]
        }
        outbox.ack(r.seq)
        for (const e of r.errors) onError(e.code, e.message)
        attempt = 0
        check()
      } catch (err) {
        onError('http_failed', err)
        return next(backoff(attempt++))
      }
    }
    next()
  }

  function beacon(): void {
    // An optional call evaluates its arguments only when sendBeacon exists, and keeps `this`.
    if (hello && outbox.size && !stopped) g.navigator?.sendBeacon?.(httpUrl, body(outbox.resume({}, 60_000)))
  }

  if (http) next(0)
  else open()

  return {
    beacon,
    close: (timeoutMs) =>
      new Promise<void>((resolve) => {
        settle = () => {
          settle = undefined
          beacon()
          stopped = true
          clearTimeout(t)
          clearTimeout(timer)
          clearInterval(watchdog)
          detach()
          resolve()
        }
        const t = setTimeout(settle, timeoutMs)
        // Between connections, try again now rather than after the backoff: there is little time left.
        if (stopped) settle()
        else if (!ws) next(0)
        check()
      }),
  }
}
