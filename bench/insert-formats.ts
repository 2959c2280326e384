// What the insert format costs chDB: the same batches of the collector's rows (stream_seconds,
// transport_seconds, raw_frames, derived from realistic frames as session.ts derives them) inserted as
// JSONEachRow objects and as TabSeparated lines (collector/rows.ts), rounds interleaved so that a shared
// machine's load falls on both alike. Merges are stopped, so the CPU measured is the insert's own (parse,
// sort, compress, write the part); the encoding is timed apart, on the main thread.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { applyDelta } from '../core/delta.ts'
import type { StatsState } from '../core/delta.ts'
import { deriveSecond } from '../core/derive.ts'
import type { Snapshot } from '../core/derive.ts'
import type { StatsFrame } from '../core/protocol.ts'
import { COLUMNS, linePrefix, rawFrameLine, streamLine, transportLine } from '../collector/rows.ts'
import { toJsonEachRow } from '../store/index.ts'
import { openStore } from '../store/open.ts'
import { buildFrames } from './hotpath.ts'
import { r } from './histogram.ts'

type Table = 'stream_seconds' | 'transport_seconds' | 'raw_frames'
const TABLES: Table[] = ['stream_seconds', 'transport_seconds', 'raw_frames']

interface Batch {
  objects: Record<Table, object[]>
  lines: Record<Table, string[]>
}

/** `batches` batches of `framesPerBatch` frames each, as objects and as lines. */
function buildBatches(framesPerBatch: number, batches: number): Batch[] {
  const pcs = 50
  const frames = buildFrames(pcs, Math.ceil((framesPerBatch * batches) / pcs))
  const dims = { browser: 'Chrome 131', os: 'Windows', sdk_version: '0.1.0' }
  const states = new Map<string, { state: StatsState; snap: Snapshot | undefined }>()
  const out: Batch[] = []
  let cur: Batch | undefined
  const now = Date.now()
  for (const [i, f] of frames.entries()) {
    if (i % framesPerBatch === 0) {
      if (out.length === batches) break
      cur = {
        objects: { stream_seconds: [], transport_seconds: [], raw_frames: [] },
        lines: { stream_seconds: [], transport_seconds: [], raw_frames: [] },
      }
      out.push(cur)
    }
    const b = cur as Batch
    const frame = JSON.parse(f.text) as StatsFrame
    let ch = states.get(frame.pc)
    if (!ch) states.set(frame.pc, (ch = { state: new Map(), snap: undefined }))
    applyDelta(ch.state, frame)
    const d = deriveSecond(ch.state, frame.ts, ch.snap)
    ch.snap = d.snapshot
    const id = { app: 'bench', session: 'a6f1c1d2-3b4c-4d5e-8f90-123456789abc', peer: 'user-1', pc: frame.pc }
    const base = { app_id: id.app, session_id: id.session, peer_id: id.peer, pc_id: id.pc }
    // Recent timestamps: the tables' TTLs drop rows that are expired on arrival.
    const ts = now - 3_600_000 + Math.floor(i / pcs) * 1000
    const seq = Math.floor(i / pcs) + 1
    const prefix = linePrefix(id, dims)
    for (const s of d.streams) {
      b.objects.stream_seconds.push({ ...base, ...dims, ...s, seq, ts })
      b.lines.stream_seconds.push(streamLine(prefix, seq, ts, s))
    }
    if (d.transport) {
      b.objects.transport_seconds.push({ ...base, ...dims, ...d.transport, seq, ts })
      b.lines.transport_seconds.push(transportLine(prefix, seq, ts, d.transport))
    }
    b.objects.raw_frames.push({ ...base, seq, ts, type: 'stats', gap: 0, frame: f.text })
    b.lines.raw_frames.push(rawFrameLine(linePrefix(id), seq, ts, 'stats', 0, f.text))
  }
  return out
}

export interface FormatCost {
  format: 'JSONEachRow' | 'TabSeparated'
  /** Process CPU during the inserts (chDB's threads; the main thread only waits), s per 1,000 frames. */
  insertCpuS: Record<Table | 'total', number>
  /** Main-thread encoding of the insert bodies (objects → JSONEachRow, or lines joined), s per 1,000 frames. */
  encodeCpuS: number
  bytesPerFrame: number
}

/**
 * Inserts `batches` batches of `framesPerBatch` frames in each format, `rounds` times, alternating, into
 * a fresh embedded store with merges stopped; returns CPU per 1,000 frames for each format.
 */
export async function insertFormatCosts(
  framesPerBatch: number,
  batches: number,
  rounds: number,
  /** Statements run on the fresh store first (e.g. a codec to compare). */
  prepare: readonly string[] = [],
): Promise<FormatCost[]> {
  const built = buildBatches(framesPerBatch, batches)
  const dir = mkdtempSync(join(tmpdir(), 'rtcpulse-formats-'))
  const store = await openStore({ dataDir: dir, database: 'formats', clickhouse: undefined })
  try {
    for (const sql of prepare) await store.exec(sql)
    for (const t of TABLES) await store.exec(`SYSTEM STOP MERGES ${t}`)
    const formats = ['JSONEachRow', 'TabSeparated'] as const
    const cpu = { JSONEachRow: {} as Record<string, number>, TabSeparated: {} as Record<string, number> }
    const encode = { JSONEachRow: 0, TabSeparated: 0 }
    const bytes = { JSONEachRow: 0, TabSeparated: 0 }
    let frames = 0
    for (let round = 0; round < rounds; round++) {
      for (const format of formats) {
        for (const b of built) {
          for (const t of TABLES) {
            const c0 = process.cpuUsage()
            const body = format === 'JSONEachRow' ? toJsonEachRow(b.objects[t]) : b.lines[t].join('')
            const c1 = process.cpuUsage(c0)
            encode[format] += c1.user + c1.system
            bytes[format] += Buffer.byteLength(body)
            const c2 = process.cpuUsage()
            if (format === 'JSONEachRow') await store.insert(t, b.objects[t])
            else await store.insert(t, { format, columns: COLUMNS[t], lines: b.lines[t] })
            const c3 = process.cpuUsage(c2)
            cpu[format][t] = (cpu[format][t] ?? 0) + c3.user + c3.system
          }
        }
      }
      frames += framesPerBatch * built.length
    }
    return formats.map((format) => {
      const per = (us: number): number => r(us / 1e6 / (frames / 1000), 4)
      const insertCpuS = Object.fromEntries(TABLES.map((t) => [t, per(cpu[format][t] ?? 0)])) as Record<
        Table,
        number
      >
      return {
        format,
        insertCpuS: {
          ...insertCpuS,
          total: r(
            TABLES.reduce((s, t) => s + insertCpuS[t], 0),
            4,
          ),
        },
        encodeCpuS: per(encode[format]),
        bytesPerFrame: Math.round(bytes[format] / frames),
      }
    })
  } finally {
    await store.close()
    rmSync(dir, { recursive: true, force: true })
  }
}
