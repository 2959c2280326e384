// SDK figures: bytes on the wire per peer connection per second (sending and receiving audio+video), CPU
// per poll outside getStats(), and the bundle size. Frames come from the SDK's own outbox (sdk/src/outbox.ts:
// delta encoding, periodic keyframes, JSON) fed with realistic report series (frames.ts).
import { execFileSync } from 'node:child_process'
import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs'
import type { AddressInfo } from 'node:net'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { constants, createDeflateRaw, gzipSync } from 'node:zlib'
import type { DeflateRaw } from 'node:zlib'
import WebSocket, { WebSocketServer } from 'ws'
import { VERBOSE_FIELDS } from '../core/protocol.ts'
import { createOutbox } from '../sdk/src/outbox.ts'
import { ReportSeries, loadRecording, reportTs } from './frames.ts'
import type { Role, Stat } from './frames.ts'
import { quantile, r } from './histogram.ts'

const ROOT = fileURLToPath(new URL('..', import.meta.url))
// Defaults of sdk/src/monitor.ts.
const KEYFRAME_MS = 120_000
// The collector's default welcome.omit (RTCPULSE_SDK_OMIT): what SDKs leave out of reports.
const OMIT = new RegExp(VERBOSE_FIELDS)

/** A report as the browser hands it over: a map of stats objects by id (RTCStatsReport). */
const keyed = (stats: readonly Stat[]): Map<string, Stat> => new Map(stats.map((s) => [s.id, s]))

/** The frames one pc sends over `seconds` polls, as the SDK's outbox produces them (acked at once). */
export function sdkFrames(role: Role, seconds: number, seed = 1): { frames: string[]; reports: Stat[][] } {
  const series = new ReportSeries(loadRecording(role), { seed, startTs: Date.UTC(2025, 0, 1, 12) })
  const frames: string[] = []
  const reports: Stat[][] = []
  const box = createOutbox(1 << 20, KEYFRAME_MS, () => {})
  box.sink = (texts) => frames.push(...texts)
  // As the monitor reads a report: one pass, the collector's default omit applied (sdk/PROTOCOL.md, Fields).
  box.skip = OMIT
  for (let i = 0; i < seconds; i++) {
    const report = series.next()
    reports.push(report)
    box.stats('pc1', keyed(report))
    box.ack({ pc1: i + 1 })
  }
  return { frames, reports }
}

// WebSocket framing of a client message: 2 bytes, +2 or +8 extended length, +4 mask key (RFC 6455 §5.2).
const wsHeader = (n: number): number => 2 + (n < 126 ? 0 : n < 65536 ? 2 : 8) + 4

function deflateMessage(z: DeflateRaw, text: string): Promise<number> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = []
    const onData = (c: Buffer): number => chunks.push(c)
    z.on('data', onData)
    z.write(text)
    z.flush(constants.Z_SYNC_FLUSH, () => {
      z.off('data', onData)
      // RFC 7692 §7.2.1: the trailing 00 00 ff ff of the sync flush is not sent.
      resolve(Buffer.concat(chunks).length - 4)
    })
  })
}

/** Compressed sizes per message with one shared deflate context (client context takeover, 4 KiB window). */
async function deflatedSizes(frames: string[], takeover: boolean): Promise<number[]> {
  const out: number[] = []
  let z = createDeflateRaw({ windowBits: 12 })
  for (const f of frames) {
    if (!takeover) z = createDeflateRaw({ windowBits: 12 })
    out.push(await deflateMessage(z, f))
  }
  return out
}

/** Bytes a real `ws` client writes for `frames` to a server negotiating what the collector negotiates. */
async function realSocketBytes(frames: string[]): Promise<number> {
  const wss = new WebSocketServer({
    port: 0,
    host: '127.0.0.1',
    perMessageDeflate: { clientMaxWindowBits: 12, serverNoContextTakeover: true, threshold: 4096 },
  })
  await new Promise((res) => wss.once('listening', res))
  let received = 0
  wss.on('connection', (s) => s.on('message', () => received++))
  const ws = new WebSocket(`ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, {
    perMessageDeflate: { threshold: 0 },
  })
  await new Promise((res) => ws.once('open', res))
  const socket = (ws as unknown as { _socket: { bytesWritten: number } })._socket
  const before = socket.bytesWritten
  for (const f of frames) {
    await new Promise<void>((res, rej) => ws.send(f, (err) => (err ? rej(err) : res())))
  }
  while (received < frames.length) await new Promise((res) => setTimeout(res, 10))
  const bytes = socket.bytesWritten - before
  ws.close()
  await new Promise((res) => wss.close(res))
  return bytes
}

export interface WireResult {
  role: Role
  seconds: number
  source: string
  /** Whole getStats() report as JSON, per second (what a naive SDK would send), and gzipped. */
  rawReportBytes: number
  rawReportGzipBytes: number
  /** The first (key) frame. */
  keyframeBytes: number
  /** Mean JSON text bytes per second, all frames (deltas and the periodic keyframes). */
  jsonBytesPerSecond: number
  /** On the wire with permessage-deflate as negotiated (context takeover), incl. WebSocket headers. */
  wireBytesPerSecond: number
  /** Same, steady state: delta frames only (median). */
  wireDeltaMedianBytes: number
  /** Without context takeover (each frame alone), for comparison. */
  wireNoTakeoverBytesPerSecond: number
  /** Measured through a real ws client socket (same frames). */
  realSocketBytesPerSecond: number
}

/** Wire sizes of one pc of `role` over `seconds` seconds. */
export async function wireBytes(role: Role, seconds: number): Promise<WireResult> {
  const { frames, reports } = sdkFrames(role, seconds)
  const take = await deflatedSizes(frames, true)
  const alone = await deflatedSizes(frames, false)
  const mid = reports.slice(10)
  const raw = mid.map((rep) => JSON.stringify(rep).length)
  const rawGz = mid.slice(0, 30).map((rep) => gzipSync(JSON.stringify(rep)).length)
  const wire = take.map((n) => n + wsHeader(n))
  const deltas = wire.filter((_, i) => !frames[i]?.includes('"key":true'))
  const real = await realSocketBytes(frames)
  return {
    role,
    seconds,
    source: loadRecording(role).origin,
    rawReportBytes: Math.round(quantile(raw, 0.5)),
    rawReportGzipBytes: Math.round(quantile(rawGz, 0.5)),
    keyframeBytes: frames[0]?.length ?? 0,
    jsonBytesPerSecond: Math.round(frames.reduce((a, f) => a + f.length, 0) / seconds),
    wireBytesPerSecond: Math.round(wire.reduce((a, b) => a + b, 0) / seconds),
    wireDeltaMedianBytes: Math.round(quantile(deltas, 0.5)),
    wireNoTakeoverBytesPerSecond: Math.round(alone.reduce((a, n) => a + n + wsHeader(n), 0) / seconds),
    realSocketBytesPerSecond: Math.round(real / seconds),
  }
}

export interface PollCpu {
  role: Role
  polls: number
  /** outbox.stats (read and encode in one pass, JSON.stringify) + the ack that retires the frame, µs. */
  p50Us: number
  p99Us: number
  maxUs: number
  /** Split of the median poll: read, encode and serialise; then the ack. */
  encodeUs: number
  ackUs: number
}

/** CPU time per poll outside getStats(), on this machine (a browser on a phone is several times slower). */
export function pollCpu(role: Role, polls: number): PollCpu {
  const series = new ReportSeries(loadRecording(role), { seed: 2, startTs: Date.UTC(2025, 0, 1, 12) })
  const reports = Array.from({ length: Math.min(polls, 600) }, () => series.next())
  const box = createOutbox(1 << 20, KEYFRAME_MS, () => {})
  box.sink = () => {}
  box.skip = OMIT
  // The browser hands over a map of stats objects by id (RTCStatsReport); built outside the timing.
  const maps = reports.map(keyed)
  const total: number[] = []
  const enc: number[] = []
  const ack: number[] = []
  // Warm up the JIT as a long-running page would be, then measure.
  for (let pass = 0; pass < 2; pass++) {
    for (let i = 0; i < polls; i++) {
      const report = reports[i % reports.length] as Stat[]
      // Later passes replay the same reports with later timestamps, so they stay deltas.
      const ts = reportTs(report) + pass * 1e7 + Math.floor(i / reports.length) * 1e6
      const t1 = performance.now()
      box.stats('pc1', maps[i % maps.length] as Map<string, Stat>, ts)
      const t2 = performance.now()
      box.ack({ pc1: Number.MAX_SAFE_INTEGER })
      const t3 = performance.now()
      if (pass === 1) {
        enc.push((t2 - t1) * 1000)
        ack.push((t3 - t2) * 1000)
        total.push((t3 - t1) * 1000)
      }
    }
  }
  return {
    role,
    polls,
    p50Us: r(quantile(total, 0.5), 1),
    p99Us: r(quantile(total, 0.99), 1),
    maxUs: r(Math.max(...total), 1),
    encodeUs: r(quantile(enc, 0.5), 1),
    ackUs: r(quantile(ack, 0.5), 1),
  }
}

export type BundleResult =
  | { available: false; reason: string }
  | {
      available: true
      file: string
      minBytes: number
      gzipBytes: number
      files: Record<string, { minBytes: number; gzipBytes: number }>
    }

/** Runs `sdk/build.ts` and measures the minified IIFE (min+gzip). Skips when the build script is missing. */
export function bundleSize(): BundleResult {
  const script = join(ROOT, 'sdk/build.ts')
  if (!existsSync(script))
    return { available: false, reason: 'sdk/build.ts does not exist yet (SDK build not written)' }
  try {
    execFileSync(process.execPath, ['--import', 'tsx', script], {
      cwd: ROOT,
      stdio: 'pipe',
      timeout: 120_000,
    })
  } catch (err) {
    return { available: false, reason: `sdk/build.ts failed: ${(err as Error).message.split('\n')[0]}` }
  }
  const dist = join(ROOT, 'sdk/dist')
  const files: Record<string, { minBytes: number; gzipBytes: number }> = {}
  for (const f of readdirSync(dist)) {
    if (!f.endsWith('.js') || !statSync(join(dist, f)).isFile()) continue
    const buf = readFileSync(join(dist, f))
    files[f] = { minBytes: buf.length, gzipBytes: gzipSync(buf, { level: 9 }).length }
  }
  const min = Object.keys(files).find((f) => f.includes('.min.'))
  if (!min)
    return {
      available: false,
      reason: `sdk/build.ts wrote no *.min.js in sdk/dist (found: ${Object.keys(files).join(', ')})`,
    }
  return {
    available: true,
    file: `sdk/dist/${min}`,
    ...(files[min] as { minBytes: number; gzipBytes: number }),
    files,
  }
}
