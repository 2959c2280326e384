// createMonitor: polls getStats() of the peer connections it is given, turns their events into frames,
// and hands both to the outbox and transport. Invariant 3 (DESIGN.md): after createMonitor returns,
// nothing here throws into the app — every callback runs inside `guard`, every failure goes to onError.
import { createOutbox } from './outbox.ts'
import { MONITOR_CHANNEL, PROTOCOL_VERSION } from '../../core/protocol.ts'
import type { HelloFrame } from '../../core/protocol.ts'
import { createTransport } from './transport.ts'
import type { WebSocketCtor } from './transport.ts'

export const SDK_VERSION = 'rtcpulse-js/0.1.0'

export interface MonitorError {
  /** Stable, e.g. `buffer_overflow`, `unauthenticated`, `disconnected` (sdk/README.md lists them all). */
  code: string
  message: string
}

export interface MonitorOptions {
  /** Collector base URL, e.g. `https://collector.example.com` (ws:// and wss:// work too). */
  url: string
  /** Signed token from your backend, or a function returning a fresh one (called before each connection). */
  token?: string | (() => string | Promise<string>)
  app: string
  session: string
  /** This participant (one monitor instance) within the session. */
  peer: string
  user?: string
  /** getStats() interval per peer connection, ms (default 1000, at least 100). */
  intervalMs?: number
  /** Share of sessions monitored, 0..1 (default 1); decided by a hash of `session`, so stable. */
  sampleRate?: number
  metadata?: Record<string, string | number | boolean>
  onError?: (error: MonitorError) => void
  /** Kill switch: false makes the monitor a no-op. */
  enabled?: boolean
  /** WebSocket class; defaults to globalThis.WebSocket (pass `ws`'s in Node). */
  WebSocket?: WebSocketCtor
  /**
   * Ceiling of unacknowledged frames held for resending, bytes of JSON (default 32 MiB). Within it the
   * buffer keeps the last 2 minutes of frames whatever the number of streams, and more while under 1 MiB.
   */
  maxBufferBytes?: number
  /** A full keyframe at least this often, ms (default 120000). */
  keyframeIntervalMs?: number
}

export interface PcHandle {
  /** Channel id of this peer connection in the stream (`label` or `pcN`). */
  readonly id: string
  /** Stops monitoring this peer connection; frames already taken are still delivered. */
  remove(): void
}

export interface Monitor {
  /** False when disabled or not sampled: every method is then a no-op. */
  readonly active: boolean
  /** Starts polling `pc` and recording its events; adding the same pc twice returns the same handle. */
  add(pc: RTCPeerConnection, options?: { label?: string }): PcHandle
  /** Monitors every RTCPeerConnection created from now on, and getUserMedia/getDisplayMedia failures. */
  wrapGlobal(): void
  /** Records an app event `custom.<name>` with JSON-serialisable `data`. */
  event(name: string, data?: Record<string, unknown>): void
  /** Stops polling, delivers what is queued (up to 5 s, then sendBeacon), closes. Never rejects. */
  close(): Promise<void>
}

/** Whether `session` falls in a sample of `rate` (0..1): a 32-bit hash of the id against the rate. Pure. */
export function sampled(session: string, rate = 1): boolean {
  // FNV-1a, then one xorshift-multiply round so that ids sharing a prefix still spread over [0, 1).
  let h = 0x811c9dc5
  // (Session ids are ASCII: iterating characters is iterating code units.)
  for (const c of session) h = Math.imul(h ^ c.charCodeAt(0), 0x1000193)
  h = Math.imul(h ^ (h >>> 15), 0x2c1b3c6d)
  return ((h ^ (h >>> 16)) >>> 0) / 2 ** 32 < rate
}

// Shared by every monitor in the realm, so wrapping happens once however many monitors call wrapGlobal.
// Called with a new peer connection, or with the name of a media method and its error.
type Hook = (pc: RTCPeerConnection | string, err?: unknown) => void
const HOOKS = '__rtcpulse'
type Realm = typeof globalThis & {
  [HOOKS]?: Set<Hook>
  RTCPeerConnection?: typeof RTCPeerConnection
}

// Identifiers: 1-128 printable ASCII characters without spaces (sdk/PROTOCOL.md).
const ID = /^[!-~]{1,128}$/
const NOOP: PcHandle = { id: '', remove() {} }
const PC_STATES = 'connectionState iceConnectionState iceGatheringState signalingState'

/**
 * Creates a monitor and starts connecting to the collector. Throws a TypeError for invalid options;
 * never throws afterwards.
 */
export function createMonitor(opts: MonitorOptions): Monitor {
  const { url, app, session, peer, intervalMs = 1000 } = opts
  // Ids are key columns on the collector (collector/protocol.ts, PROTOCOL.md "Identifiers"); a hello it
  // refuses would leave the monitor retrying forever, so refuse it here, loudly, naming the option and its
  // rule. Rules are shown as patterns: words would not fit the 4 KB budget (test/unit/sdk-size.test.ts).
  // Each row: option, rule, the value to test (a string; the option itself when absent). intervalMs is
  // tested as a number: its row holds '' when it passes, false when it does not.
  for (const [name, rule, v = opts[name as 'url']] of [
    ['url', /^(http|ws)s?:\/\/./],
    ['app', ID],
    ['session', ID],
    ['peer', ID],
    ['user', ID, opts.user ?? '-'],
    ['intervalMs', '>= 100', intervalMs >= 100 && ''],
  ] as [string, RegExp | string, unknown?][])
    if (!(typeof v == 'string' && (typeof rule == 'string' || rule.test(v))))
      throw TypeError(`rtcpulse: option ${name} must match ${rule}`)

  // Stringified inside the try: a thrown Symbol does not convert.
  const report = (code: string, message: unknown): void => {
    try {
      opts.onError?.({ code, message: String(message) })
    } catch {
      // The app's handler failing must not break the monitor.
    }
  }
  const guard =
    <A extends unknown[], R>(fn: (...a: A) => R) =>
    (...a: A): R | undefined => {
      try {
        return fn(...a)
      } catch (err) {
        report('internal', err)
      }
    }

  const g = globalThis as Realm
  const active = opts.enabled != false && sampled(session, opts.sampleRate)
  const pcs = new Map<RTCPeerConnection, PcHandle>()
  // Channel ids taken; a bare `pc` is never one (labelless pcs are numbered from pc1).
  const ids = new Set(['pc'])
  const stops: (() => void)[] = []
  const outbox = createOutbox(opts.maxBufferBytes ?? 1 << 25, opts.keyframeIntervalMs ?? 120_000, (n) =>
    report('buffer_overflow', `${n} dropped`),
  )
  let closed = !active
  let n = 0
  // This instance's id (HelloFrame.inst): unguessable enough to tell two tabs apart, not a secret.
  const inst = (Math.random() + '').slice(2)

  const emit = outbox.event
  const listen = (
    target: EventTarget | undefined,
    type: string,
    fn: (e: Event) => void,
    offs = stops,
  ): void => {
    const f = guard(fn)
    target?.addEventListener?.(type, f)
    offs.push(() => target?.removeEventListener?.(type, f))
  }
  // Copies the named (space-separated) fields of an event or error into plain JSON-able data.
  const pick = (o: unknown, keys: string): Record<string, unknown> =>
    Object.fromEntries(keys.split(' ').map((k) => [k, (o as Record<string, unknown> | undefined)?.[k]]))

  const transport =
    active &&
    createTransport({
      collectorUrl: url,
      outbox,
      WebSocketImpl: opts.WebSocket ?? g.WebSocket,
      report,
      hello: async () => {
        const t = opts.token
        // Undefined fields are omitted by JSON.stringify.
        return JSON.stringify({
          t: 'hello',
          v: PROTOCOL_VERSION,
          token: typeof t == 'function' ? await t() : t,
          app,
          session,
          peer,
          user: opts.user,
          inst,
          sdk: SDK_VERSION,
          ua: g.navigator?.userAgent?.slice(0, 512),
          meta: opts.metadata,
        } satisfies HelloFrame)
      },
    })
  const doc = g.document as Document | undefined
  if (transport && doc) {
    // Hidden is the last state a page is reliably seen in (mobile browsers kill it without pagehide).
    // pagehide is the page going away: its event is `bye`, the peer leaving (as on close()). (Of the two
    // types, only visibilitychange sorts after 'q'.)
    const hide = (e: Event): void => {
      emit(MONITOR_CHANNEL, e.type > 'q' ? e.type : 'bye', { state: doc.visibilityState })
      if (doc.visibilityState == 'hidden') transport.beacon()
    }
    listen(doc, 'visibilitychange', hide)
    listen(g, 'pagehide', hide)
  }

  const add = guard((pc: RTCPeerConnection, options?: { label?: string }): PcHandle | undefined => {
    const known = pcs.get(pc)
    if (known || closed) return known
    const label = options?.label?.replace(/[^!-~]/g, '').slice(0, 100) || 'pc'
    let id = label
    while (ids.has(id)) id = label + ++n
    ids.add(id)
    const off: (() => void)[] = []
    const on = (target: EventTarget | undefined, type: string, fn: (e: Event) => void): void =>
      listen(target, type, fn, off)
    let busy = false

    // State changes carry all four states, so each event is a complete snapshot of where the pc stands.
    const snapshot = (e: Event): void => emit(id, e.type, pick(pc, PC_STATES))
    // connectionState -> connectionstatechange, iceConnectionState -> iceconnectionstatechange, …
    for (const state of PC_STATES.split(' ')) on(pc, `${state.toLowerCase()}change`, snapshot)
    on(pc, 'negotiationneeded', snapshot)
    on(pc, 'icecandidateerror', (e) => emit(id, e.type, pick(e, 'url errorCode errorText')))
    on(pc, 'track', (e) => {
      const t = (e as RTCTrackEvent).track
      const info = pick(t, 'id kind')
      emit(id, 'track.added', info)
      for (const type of ['mute', 'unmute', 'ended']) on(t, type, () => emit(id, `track.${type}`, info))
    })

    const stop = (): void => {
      clearInterval(timer)
      for (const f of off.splice(0)) f()
      pcs.delete(pc)
      outbox.end(id)
    }
    const tick = guard(() => {
      if (busy) return
      // close() fires no connectionstatechange (W3C webrtc-pc, RTCPeerConnection.close()): look on every tick.
      if (pc.connectionState == 'closed' || pc.signalingState == 'closed') {
        emit(id, 'closed')
        return stop()
      }
      busy = true
      pc.getStats()
        .then((r) => {
          busy = false
          if (!pcs.has(pc)) return
          // One pass over the report (read and compare at once): browsers build each stats object anew
          // when it is read.
          outbox.stats(id, r)
        })
        .catch((err: unknown) => {
          busy = false
          // Browsers reject only for a closed pc, which the next tick notices; anything else is worth each report.
          report('getstats_failed', `${id} ${err as Error}`)
        })
    })
    const timer = setInterval(tick, intervalMs)
    tick()
    const handle: PcHandle = { id, remove: guard(stop) }
    pcs.set(pc, handle)
    stops.push(stop)
    return handle
  })

  const hook: Hook = guard((pc, err) =>
    typeof pc == 'string'
      ? emit(MONITOR_CHANNEL, `${pc}.error`, pick(err, 'name message constraint'))
      : add(pc),
  )

  return {
    active,
    add: (pc, options) => add(pc, options) ?? NOOP,
    wrapGlobal: guard(() => {
      if (closed) return
      let set = g[HOOKS]
      if (!set) {
        const hooks = (set = g[HOOKS] = new Set<Hook>())
        const Base = g.RTCPeerConnection
        if (typeof Base == 'function') {
          // A subclass keeps `instanceof`, static methods (generateCertificate) and other wrappers working.
          g.RTCPeerConnection = class RTCPeerConnection extends Base {
            constructor(...args: ConstructorParameters<typeof Base>) {
              super(...args)
              for (const h of hooks) h(this)
            }
          }
        }
        const md = g.navigator?.mediaDevices as unknown as Record<
          string,
          (...a: unknown[]) => Promise<unknown>
        >
        for (const m of ['getUserMedia', 'getDisplayMedia']) {
          const orig = md?.[m]
          if (typeof orig != 'function') continue
          md[m] = function (this: unknown, ...args: unknown[]) {
            return orig.apply(this, args).catch((err: unknown) => {
              for (const h of hooks) h(m, err)
              throw err
            })
          }
        }
      }
      const hooks = set
      hooks.add(hook)
      stops.push(() => hooks.delete(hook))
    }),
    event: guard((name: string, data?: Record<string, unknown>) => {
      if (!closed) emit(MONITOR_CHANNEL, `custom.${name}`.slice(0, 128), data)
    }),
    async close() {
      if (closed) return
      closed = true
      guard(() => {
        // The peer leaves: the analyzer finalises a session once every peer said bye, without waiting
        // for it to fall idle (analyzer/analyze.ts sessionEnded).
        emit(MONITOR_CHANNEL, 'bye')
        for (const f of stops.splice(0)) f()
      })()
      await (transport && transport.close(5000))
    },
  }
}
