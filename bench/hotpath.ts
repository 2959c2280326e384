// The collector's per-frame work, stage by stage, in one process without sockets or storage: what each
// step of session.ts costs per frame, as shipped and as it was before the hand-written stats check and
// in-place row building replaced zod and spread copies on the hot path.
// Stages: permessage-deflate inflate (as ws does it) → JSON.parse → zod → applyDelta → deriveSecond →
// row objects → JSONEachRow. Frames are the SDK encoder's output for realistic report series.
import { constants, createInflateRaw } from 'node:zlib'
import type { InflateRaw } from 'node:zlib'
import { deriveSecond } from '../core/derive.ts'
import type { Snapshot } from '../core/derive.ts'
import { clientFrameSchema, isValidStatsFrame, parseClientFrame } from '../collector/protocol.ts'
import { applyDelta, normalizeReport } from '../core/delta.ts'
import type { StatsState } from '../core/delta.ts'
import type { StatsFrame } from '../core/protocol.ts'
import { createCollectorMetrics } from '../collector/stats.ts'
import type { CollectorMetrics } from '../collector/stats.ts'
import { toJsonEachRow } from '../store/index.ts'
import { linePrefix, rawFrameLine, streamLine, transportLine } from '../collector/rows.ts'
import { ReportSeries, asReport, frameBody, framePrefix, loadRecording, reportTs } from './frames.ts'
import type { Role } from './frames.ts'
import { r } from './histogram.ts'
import { deflateBody } from './loadgen/wire.ts'
import { createSyncInflater, inflateSync } from '../collector/inflate-sync.ts'

interface TestFrame {
  pc: string
  text: string
}

/** `pcs` peer connections (alternating sender/receiver, own series each) × `seconds` frames, interleaved per second. */
export function buildFrames(pcs: number, seconds: number): TestFrame[] {
  const recs = { sender: loadRecording('sender'), receiver: loadRecording('receiver') }
  const per: TestFrame[][] = []
  for (let p = 0; p < pcs; p++) {
    const role: Role = p % 2 ? 'receiver' : 'sender'
    const series = new ReportSeries(recs[role], {
      seed: 50 + p,
      startTs: Date.now(),
      scale: 0.5 + (p % 5) / 4,
      remapSsrc: true,
    })
    let prev: StatsState | undefined
    const list: TestFrame[] = []
    for (let s = 1; s <= seconds; s++) {
      const rep = series.next()
      const state = normalizeReport(asReport(rep), reportTs(rep))
      list.push({ pc: `pc${p}`, text: framePrefix(`pc${p}`, s, reportTs(rep)) + frameBody(prev, state) })
      prev = state
    }
    per.push(list)
  }
  const out: TestFrame[] = []
  for (let s = 0; s < seconds; s++) for (const l of per) out.push(l[s] as TestFrame)
  return out
}

export interface StageCosts {
  frames: number
  bytesPerFrame: number
  /** Mean µs per frame for each stage. */
  us: Record<string, number>
  totalUs: number
}

type Variant = 'before' | 'json' | 'shipped'

/**
 * One pass over `frames` as session.ts handles a frame, timing each stage. `shipped` is session.ts today:
 * in-place validation (isValidStatsFrame), each row a TabSeparated line built from the derived values
 * (collector/rows.ts); `json` is the same with row objects (identity written into the derived rows) and
 * JSONEachRow, as before issue 14; `before` is zod and spread copies, kept to show what each change bought.
 */
function pass(
  frames: TestFrame[],
  variant: Variant,
  t: Record<string, number>,
  metrics: CollectorMetrics,
): void {
  const states = new Map<string, { state: StatsState; snap: Snapshot | undefined }>()
  const rows: Record<string, object[]> = { stream_seconds: [], transport_seconds: [], raw_frames: [] }
  const lines: Record<string, string[]> = { stream_seconds: [], transport_seconds: [], raw_frames: [] }
  const prefixes = new Map<string, { raw: string; dims: string }>()
  const dims = { browser: 'Chrome 131', os: 'Windows', sdk_version: '0.1.0' }
  const base0 = { app_id: 'bench', session_id: 'a6f1c1d2-3b4c-4d5e-8f90-123456789abc', peer_id: 'user-1' }
  let a = performance.now()
  const lap = (k: string): void => {
    const b = performance.now()
    t[k] = (t[k] ?? 0) + (b - a)
    a = b
  }
  for (const f of frames) {
    a = performance.now()
    const raw = JSON.parse(f.text) as unknown
    lap('JSON.parse')
    let frame: StatsFrame
    if (variant === 'before') {
      const res = clientFrameSchema.safeParse(raw)
      if (!res.success || res.data.t !== 'stats') throw new Error('frame refused')
      frame = res.data
      lap('zod validate')
    } else {
      if (!isValidStatsFrame(raw)) throw new Error('frame refused by the fast check')
      frame = raw
      lap('fast validate')
    }
    let ch = states.get(frame.pc)
    if (!ch) states.set(frame.pc, (ch = { state: new Map(), snap: undefined }))
    ch.state = applyDelta(ch.state, frame)
    lap('applyDelta')
    const derived = deriveSecond(ch.state, frame.ts, ch.snap)
    ch.snap = derived.snapshot
    lap('deriveSecond')
    const ts = Math.round(frame.ts)
    const base = { ...base0, pc_id: frame.pc }
    if (variant === 'shipped') {
      let p = prefixes.get(frame.pc)
      if (!p) {
        const id = { app: base0.app_id, session: base0.session_id, peer: base0.peer_id, pc: frame.pc }
        prefixes.set(frame.pc, (p = { raw: linePrefix(id), dims: linePrefix(id, dims) }))
      }
      lines.raw_frames?.push(rawFrameLine(p.raw, frame.seq, ts, 'stats', 0, f.text))
      for (const s of derived.streams) lines.stream_seconds?.push(streamLine(p.dims, frame.seq, ts, s))
      if (derived.transport)
        lines.transport_seconds?.push(transportLine(p.dims, frame.seq, ts, derived.transport))
    } else if (variant === 'before') {
      rows.raw_frames?.push({ ...base, seq: frame.seq, ts, type: 'stats', gap: 0, frame: f.text })
      for (const s of derived.streams) rows.stream_seconds?.push({ ...base, ...s, seq: frame.seq, ts })
      if (derived.transport)
        rows.transport_seconds?.push({ ...base, ...derived.transport, seq: frame.seq, ts })
    } else {
      rows.raw_frames?.push({ ...base, seq: frame.seq, ts, type: 'stats', gap: 0, frame: f.text })
      for (const s of derived.streams)
        rows.stream_seconds?.push(Object.assign(s, base, dims, { seq: frame.seq, ts }))
      if (derived.transport)
        rows.transport_seconds?.push(Object.assign(derived.transport, base, dims, { seq: frame.seq, ts }))
    }
    lap('row objects')
    // The registry calls stream.ts and session.ts make for every accepted frame.
    metrics.bytes.inc(undefined, f.text.length)
    metrics.frames.inc({ type: frame.t })
    lap('metrics')
  }
  a = performance.now()
  if (variant === 'shipped') {
    for (const table of Object.keys(lines)) Buffer.from((lines[table] ?? []).join(''))
    lap('TabSeparated body + Buffer')
  } else {
    for (const table of Object.keys(rows)) Buffer.from(toJsonEachRow(rows[table] ?? []))
    lap('JSONEachRow + Buffer')
  }
}

/** Mean per-frame cost of each stage over `reps` passes after one warm-up pass. */
export function stageCosts(frames: TestFrame[], variant: Variant, reps: number): StageCosts {
  const t: Record<string, number> = {}
  const metrics = createCollectorMetrics()
  pass(frames, variant, {}, metrics)
  for (let i = 0; i < reps; i++) pass(frames, variant, t, metrics)
  const n = frames.length * reps
  const us = Object.fromEntries(Object.entries(t).map(([k, v]) => [k, r((v * 1000) / n, 2)]))
  return {
    frames: frames.length,
    bytesPerFrame: Math.round(frames.reduce((s, f) => s + f.text.length, 0) / frames.length),
    us,
    totalUs: r(
      Object.values(us).reduce((s, v) => s + v, 0),
      1,
    ),
  }
}

/** parseClientFrame as the collector ships it (JSON.parse + zod), µs per frame; guards against drift. */
export function parseCost(frames: TestFrame[], reps: number): number {
  for (const f of frames) parseClientFrame(f.text)
  const t0 = performance.now()
  for (let i = 0; i < reps; i++)
    for (const f of frames) if (!parseClientFrame(f.text).ok) throw new Error('refused')
  return r(((performance.now() - t0) * 1000) / (frames.length * reps), 2)
}

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff])

type InflateMode = 'ws' | 'one-write' | 'sync' | 'sync-context'

export interface InflateCost {
  mode: string
  messagesPerSecond: number
  /** Process CPU (main thread + libuv pool) per message, µs, net of the pacing loop's own cost. */
  cpuUsPerMessage: number
}

/** Each inflate mode at each paced rate, minus an idle run of the same pacing loop. */
export async function inflateCosts(rates: number[], seconds: number): Promise<InflateCost[]> {
  const out: InflateCost[] = []
  for (const rate of rates) {
    const idle = await inflateCost('idle', rate, seconds)
    for (const mode of ['ws', 'one-write', 'sync', 'sync-context'] as const) {
      const c = await inflateCost(mode, rate, seconds)
      out.push({ ...c, cpuUsPerMessage: r(c.cpuUsPerMessage - idle.cpuUsPerMessage, 1) })
    }
  }
  return out
}

/**
 * Inflating permessage-deflate messages on 1,000 connections at a paced rate. `ws` mode repeats what
 * ws/lib/permessage-deflate.js does per message (write data, write trailer, flush: three libuv pool
 * round trips); `one-write` is the proposed single round trip (data+trailer in one write with
 * Z_SYNC_FLUSH); `sync` inflates on the main thread (needs no context takeover, i.e. bigger frames).
 */
async function inflateCost(mode: 'idle' | InflateMode, rate: number, seconds: number): Promise<InflateCost> {
  const frames = buildFrames(2, 60)
  const msgs = frames.map((f) => {
    const pre = Buffer.from(f.text.slice(0, f.text.indexOf(',"d"') + 1), 'latin1')
    const stored = Buffer.from([
      0,
      pre.length & 255,
      pre.length >> 8,
      ~pre.length & 255,
      (~pre.length >> 8) & 255,
    ])
    return Buffer.concat([stored, pre, deflateBody(f.text.slice(pre.length))])
  })
  const conns = 1000
  const streams: InflateRaw[] = Array.from({ length: conns }, () => {
    if (mode === 'sync-context') return createSyncInflater(12)
    const z = createInflateRaw({
      windowBits: 12,
      ...(mode === 'one-write' ? { flush: constants.Z_SYNC_FLUSH } : {}),
    })
    z.on('data', () => {})
    return z
  })
  const { inflateRawSync } = await import('node:zlib')
  let k = 0
  let pendingCb = 0
  const perMs = rate / 1000
  const c0 = process.cpuUsage()
  const t0 = performance.now()
  await new Promise<void>((resolve) => {
    let due = 0
    const timer = setInterval(() => {
      const elapsed = performance.now() - t0
      due = Math.floor(elapsed * perMs)
      for (; k < due; k++) {
        const z = streams[k % conns] as InflateRaw
        const m = msgs[k % msgs.length] as Buffer
        if (mode === 'ws') {
          pendingCb++
          z.write(m)
          z.write(TRAILER)
          z.flush(() => pendingCb--)
        } else if (mode === 'one-write') {
          pendingCb++
          z.write(Buffer.concat([m, TRAILER]), () => pendingCb--)
        } else if (mode === 'sync-context') {
          const res = inflateSync(z, Buffer.concat([m, TRAILER]), 0)
          if (!res.ok) throw new Error('sync-context inflate failed')
        } else if (mode === 'sync') {
          inflateRawSync(Buffer.concat([m, TRAILER]), { windowBits: 12, finishFlush: constants.Z_SYNC_FLUSH })
        }
      }
      if (elapsed > seconds * 1000) {
        clearInterval(timer)
        const wait = (): void => void (pendingCb > 0 ? setTimeout(wait, 5) : resolve())
        wait()
      }
    }, 1)
  })
  const cpu = process.cpuUsage(c0)
  for (const z of streams) z.close()
  return { mode, messagesPerSecond: rate, cpuUsPerMessage: r((cpu.user + cpu.system) / k, 1) }
}
