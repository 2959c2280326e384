// Messages between the benchmark runner and the load generator child (Node IPC, structured clone).
import type { HistogramSnapshot } from '../histogram.ts'

export interface LoadgenConfig {
  /** ws://host:port/v1/stream */
  url: string
  /** Peer connections per simulated SDK (one WebSocket each); roles alternate sender, receiver, … */
  pcsPerClient: number
  /**
   * `raw`: pre-deflated frames written straight to the socket (lean; used for load). `ws`: every frame
   * through ws.send() with the client's own deflate context, as a browser would (costly for the generator).
   * `plain`: pre-built frames sent uncompressed (legal under RFC 7692), to measure the collector without inflate.
   */
  sendMode: 'raw' | 'ws' | 'plain'
  /** Identifies this run's sessions, so reruns on the same store never resume old sessions. */
  runId: string
}

export type Request =
  | { id: number; cmd: 'config'; config: LoadgenConfig }
  | { id: number; cmd: 'grow'; clients: number; overMs: number }
  | { id: number; cmd: 'window'; reset: boolean }
  | { id: number; cmd: 'stop' }

export interface WindowStats {
  /** Length of the window, s. */
  seconds: number
  /** Clients open now (connecting, waiting for welcome, or sending). */
  clients: number
  /** Clients whose socket closed, since the start (not reset by a window). */
  closedTotal: number
  /** Clients asked for by `grow` whose connection attempt has not started yet. */
  scheduled: number
  /** Clients whose hello got a welcome (sending). */
  ready: number
  pcs: number
  framesSent: number
  framesAcked: number
  /** Frames sent and not yet acknowledged, at the end of the window. */
  unacked: number
  /** Send → covering-ack latency, ms. */
  ack: HistogramSnapshot
  /** hello → welcome, ms. */
  welcome: HistogramSnapshot
  /** How late the generator sent each frame against its schedule, ms (generator saturation). */
  lag: HistogramSnapshot
  /** Bytes the generator wrote to its sockets (WebSocket frames incl. headers, excl. TCP/IP). */
  bytesWritten: number
  /** Uncompressed frame text bytes sent. */
  textBytes: number
  /** Generator CPU seconds in the window. */
  cpuSeconds: number
  errors: Record<string, number>
  closes: Record<string, number>
}

export type Reply = { id: number; ok: true; stats?: WindowStats } | { id: number; ok: false; error: string }
