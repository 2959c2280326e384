// The `ws` WebSocket class the SDK uses in Node, configured as sdk/README.md recommends (compress every
// frame, not only those over ws's default 1 KiB threshold) and recording what the SDK sends through it.
import WebSocket from 'ws'
import { createMonitor } from '../../sdk/src/index.ts'
import type { Monitor, MonitorError, MonitorOptions, WebSocketCtor } from '../../sdk/src/index.ts'
import { startWrtcCall } from './wrtc-call.ts'
import type { WrtcCall, WrtcCallOptions } from './wrtc-call.ts'

export interface SentLog {
  /** UTF-8 bytes of every text frame sent, before compression and framing. */
  bytes: number
  /** Text frames sent, hello included. */
  frames: number
  /** Highest seq sent per pc. */
  maxSeq: Map<string, number>
  /** Sockets created (one per connection attempt). */
  sockets: number
}

/** A WebSocket class for createMonitor({ WebSocket }) and the log of what went through it. */
export function recordingWebSocket(): { WebSocket: WebSocketCtor; log: SentLog } {
  const log: SentLog = { bytes: 0, frames: 0, maxSeq: new Map(), sockets: 0 }
  class RecordingWebSocket extends WebSocket {
    constructor(url: string) {
      super(url, { perMessageDeflate: { threshold: 0 } })
      log.sockets++
      const send = this.send.bind(this)
      this.send = ((data: string) => {
        log.bytes += Buffer.byteLength(data)
        log.frames++
        const f = JSON.parse(data) as { pc?: string; seq?: number }
        if (f.pc !== undefined && f.seq !== undefined) {
          log.maxSeq.set(f.pc, Math.max(log.maxSeq.get(f.pc) ?? 0, f.seq))
        }
        send(data)
      }) as typeof this.send
    }
  }
  return { WebSocket: RecordingWebSocket, log }
}

export interface MonitoredCall {
  call: WrtcCall
  monitor: Monitor
  /** What the SDK sent. */
  log: SentLog
  /** What the SDK reported to onError. */
  errors: MonitorError[]
}

/**
 * A real wrtc call (sender `a`, receiver `b`) with both peer connections on one SDK monitor that talks
 * to `url` through a recording WebSocket. `monitor` options pass through (e.g. maxBufferBytes).
 */
export function monitoredCall(
  opts: { url: string; app: string; session: string; call?: WrtcCallOptions } & Partial<MonitorOptions>,
): MonitoredCall {
  const { url, app, session, call: callOptions, ...rest } = opts
  const { WebSocket, log } = recordingWebSocket()
  const errors: MonitorError[] = []
  const call = startWrtcCall({ width: 320, height: 180, fps: 30, ...callOptions })
  const monitor = createMonitor({
    peer: 'p1',
    ...rest,
    url,
    app,
    session,
    WebSocket,
    onError: (e) => errors.push(e),
  })
  monitor.add(call.a, { label: 'sender' })
  monitor.add(call.b, { label: 'receiver' })
  return { call, monitor, log, errors }
}
