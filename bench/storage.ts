// Storage figures on the embedded store (chDB): bytes on disk per stream-second after merges, and insert
// throughput of the batching path. Rows are what the collector writes: per-second metrics from the
// collector's own derivation (core/derive.ts) of realistic per-session report series, identity
// columns as session.ts sets them, raw frames as the SDK's encoder produces them.
import { mkdtempSync, rmSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { Session } from 'chdb'
import { deriveSecond } from '../core/derive.ts'
import type { Snapshot } from '../core/derive.ts'
import { encodeDelta, normalizeReport } from '../core/delta.ts'
import type { StatsState } from '../core/delta.ts'
import { toJsonEachRow } from '../store/index.ts'
import type { Store } from '../store/index.ts'
import { openStore } from '../store/open.ts'
import { prng } from '../test/helpers/prng.ts'
import { ReportSeries, asReport, loadRecording, reportTs } from './frames.ts'
import type { Recording, Role } from './frames.ts'
import { r } from './histogram.ts'

type Row = Record<string, unknown>
export interface SessionRows {
  stream_seconds: Row[]
  transport_seconds: Row[]
  raw_frames: Row[]
}

// chDB binds one data folder per process: every measurement here uses its own database in one folder.
let folder: string | undefined
const dataDir = (): string => (folder ??= mkdtempSync(join(tmpdir(), 'rtcpulse-bench-store-')))

/** Removes the shared data folder; call once the process is done with every storage measurement. */
export function cleanupStorage(): void {
  if (folder) rmSync(folder, { recursive: true, force: true })
  folder = undefined
}

// A recent day, so TTLs and the collector's clock checks would accept the rows; one partition per table.
function baseDay(): number {
  const now = new Date()
  const day = Date.UTC(now.getUTCFullYear(), now.getUTCMonth(), now.getUTCDate())
  return now.getUTCHours() >= 7 ? day : day - 86_400_000
}

const uuid = (rand: () => number): string =>
  'xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx'.replace(/[xy]/g, (c) => {
    const v = Math.floor(rand() * 16)
    return (c === 'x' ? v : (v & 3) | 8).toString(16)
  })

/**
 * Rows of one call of `seconds` seconds: a sending and a receiving pc of one peer, each its own series
 * (own ssrcs, own bitrate level and random walk), exactly as session.ts would build them.
 */
export function sessionRows(index: number, seconds: number, recs: Record<Role, Recording>): SessionRows {
  const rand = prng(1000 + index)
  const start = baseDay() + Math.floor(rand() * 6 * 3600_000)
  const session_id = uuid(rand)
  const peer_id = `user-${Math.floor(rand() * 1e6)}`
  const out: SessionRows = { stream_seconds: [], transport_seconds: [], raw_frames: [] }
  ;(['sender', 'receiver'] as const).forEach((role, k) => {
    const series = new ReportSeries(recs[role], {
      seed: index * 2 + k,
      startTs: start,
      scale: 0.3 + rand() * 1.7,
      remapSsrc: true,
    })
    const base = { app_id: 'bench', session_id, peer_id, pc_id: `pc${k + 1}` }
    let prev: StatsState | undefined
    let snap: Snapshot | undefined
    for (let seq = 1; seq <= seconds; seq++) {
      const report = series.next()
      const ts = reportTs(report)
      const state = normalizeReport(asReport(report), ts)
      const enc = encodeDelta(prev, state)
      const frame = {
        t: 'stats',
        pc: base.pc_id,
        seq,
        ts,
        key: enc.key || undefined,
        d: enc.d,
        rm: enc.rm[0] ? enc.rm : undefined,
      }
      prev = state
      const derived = deriveSecond(state, ts, snap)
      snap = derived.snapshot
      const t = Math.round(ts)
      out.raw_frames.push({ ...base, seq, ts: t, type: 'stats', gap: 0, frame: JSON.stringify(frame) })
      for (const s of derived.streams) out.stream_seconds.push({ ...base, ...s, seq, ts: t })
      if (derived.transport) out.transport_seconds.push({ ...base, ...derived.transport, seq, ts: t })
    }
  })
  return out
}

interface TableSize {
  table: string
  rows: number
  parts: number
  bytesOnDisk: number
  bytesPerRow: number
  /** Largest columns after compression, bytes per row. */
  topColumns: [string, number][]
}

async function tableSize(store: Store, table: string): Promise<TableSize> {
  const [p] = await store.query<{ rows: number; parts: number; bytes: number }>(
    `SELECT sum(rows) AS rows, count() AS parts, sum(bytes_on_disk) AS bytes FROM system.parts
     WHERE database = currentDatabase() AND table = {t:String} AND active`,
    { t: table },
  )
  const cols = await store.query<{ name: string; bytes: number }>(
    `SELECT name, data_compressed_bytes AS bytes FROM system.columns
     WHERE database = currentDatabase() AND table = {t:String} ORDER BY bytes DESC LIMIT 8`,
    { t: table },
  )
  const rows = p?.rows ?? 0
  return {
    table,
    rows,
    parts: p?.parts ?? 0,
    bytesOnDisk: p?.bytes ?? 0,
    bytesPerRow: r((p?.bytes ?? 0) / Math.max(1, rows), 1),
    // Compact parts (small tables) do not report per-column sizes.
    topColumns: cols
      .filter((c) => c.bytes > 0)
      .map((c): [string, number] => [c.name, r(c.bytes / Math.max(1, rows), 2)]),
  }
}

export interface StorageResult {
  sessions: number
  secondsPerSession: number
  /** stream_seconds after OPTIMIZE FINAL: bytes on disk of active parts per row (= per stream-second). */
  streamSecond: TableSize
  transportSecond: TableSize
  rawFrame: TableSize
  /** Everything the collector stores per peer-connection-second (all three tables). */
  bytesPerPcSecond: number
  generateSeconds: number
}

/** Generates `sessions` calls of `seconds` s, inserts them in 20k-row batches, merges, measures. */
export async function bytesOnDisk(sessions: number, seconds: number): Promise<StorageResult> {
  const store = await openStore({ dataDir: dataDir(), database: 'bench_size', clickhouse: undefined })
  const recs = { sender: loadRecording('sender'), receiver: loadRecording('receiver') }
  let generate = 0
  try {
    const pending: SessionRows = { stream_seconds: [], transport_seconds: [], raw_frames: [] }
    const flush = async (): Promise<void> => {
      for (const t of ['stream_seconds', 'transport_seconds', 'raw_frames'] as const) {
        await store.insert(t, pending[t])
        pending[t] = []
      }
    }
    for (let i = 0; i < sessions; i++) {
      const t0 = performance.now()
      const rows = sessionRows(i, seconds, recs)
      generate += performance.now() - t0
      for (const t of ['stream_seconds', 'transport_seconds', 'raw_frames'] as const)
        pending[t].push(...rows[t])
      if (pending.stream_seconds.length >= 20_000) await flush()
    }
    await flush()
    for (const t of ['stream_seconds', 'transport_seconds', 'raw_frames'])
      await store.exec(`OPTIMIZE TABLE ${t} FINAL`)
    const streamSecond = await tableSize(store, 'stream_seconds')
    const transportSecond = await tableSize(store, 'transport_seconds')
    const rawFrame = await tableSize(store, 'raw_frames')
    const pcSeconds = sessions * seconds * 2
    return {
      sessions,
      secondsPerSession: seconds,
      streamSecond,
      transportSecond,
      rawFrame,
      bytesPerPcSecond: r(
        (streamSecond.bytesOnDisk + transportSecond.bytesOnDisk + rawFrame.bytesOnDisk) / pcSeconds,
        1,
      ),
      generateSeconds: r(generate / 1000, 1),
    }
  } finally {
    await store.exec('DROP DATABASE bench_size')
    await store.close()
  }
}

export interface InsertResult {
  format: string
  batchRows: number
  rowsPerSecond: number
  /** Of which: building the payload in JavaScript (JSON.stringify), rows/s. */
  serializeRowsPerSecond: number
  /** CPU seconds of this process (JS + chDB threads) per 1,000 rows. */
  cpuPer1000Rows: number
}

/** Rows in the column order of stream_seconds, for the positional formats. */
function compactRows(rows: Row[]): string {
  const cols = Object.keys(rows[0] ?? {})
  let out = ''
  for (const row of rows) out += JSON.stringify(cols.map((c) => row[c] ?? null)) + '\n'
  return out
}

/**
 * Insert throughput into stream_seconds for each batch size: the Store's JSONEachRow path (what
 * ingest.ts uses), and chDB's JSONCompactEachRow for comparison. About `totalRows` rows per cell.
 */
export async function insertThroughput(batchSizes: number[], totalRows: number): Promise<InsertResult[]> {
  const store = await openStore({ dataDir: dataDir(), database: 'bench_ins', clickhouse: undefined })
  // A second handle on the same folder and process (chDB shares it) for the raw formats.
  const raw = new Session(dataDir())
  await raw.queryAsync('USE bench_ins')
  const recs = { sender: loadRecording('sender'), receiver: loadRecording('receiver') }
  const pool: Row[] = []
  for (let i = 0; pool.length < Math.max(...batchSizes); i++)
    pool.push(...sessionRows(i, 300, recs).stream_seconds)
  const cols = Object.keys(pool[0] ?? {})
  const results: InsertResult[] = []
  try {
    for (const format of ['JSONEachRow (Store.insert)', 'JSONCompactEachRow']) {
      for (const size of batchSizes) {
        const batch = pool.slice(0, size)
        const batches = Math.max(2, Math.round(totalRows / size))
        const compact = !format.startsWith('JSONEachRow')
        const s0 = performance.now()
        for (let b = 0; b < batches; b++) Buffer.from(compact ? compactRows(batch) : toJsonEachRow(batch))
        const serialize = (performance.now() - s0) / 1000
        const c0 = process.cpuUsage()
        const t0 = performance.now()
        for (let b = 0; b < batches; b++) {
          if (compact) {
            const payload = Buffer.from(compactRows(batch))
            await raw.insert({
              table: 'stream_seconds',
              values: payload,
              format: 'JSONCompactEachRow',
              columns: cols,
            })
          } else await store.insert('stream_seconds', batch)
        }
        const wall = (performance.now() - t0) / 1000
        const cpu = process.cpuUsage(c0)
        const rows = batches * size
        results.push({
          format,
          batchRows: size,
          rowsPerSecond: Math.round(rows / wall),
          serializeRowsPerSecond: Math.round(rows / serialize),
          cpuPer1000Rows: r(((cpu.user + cpu.system) / 1e6 / rows) * 1000, 4),
        })
      }
    }
  } finally {
    raw.close()
    await store.exec('DROP DATABASE bench_ins')
    await store.close()
  }
  return results
}

export interface FrameBatchResult {
  framesPerBatch: number
  /** Frames per second the store takes when each batch writes every table as ingest.ts does. */
  framesPerSecond: number
  msPerBatch: number
  /** Wall time per batch by table, ms. */
  msByTable: Record<string, number>
}

/**
 * The storage ceiling of the collector: batches of `framesPerBatch` frames, each written as ingest.ts
 * writes a batch (stream_seconds, transport_seconds, raw_frames, one INSERT each, in order).
 */
export async function frameBatchThroughput(
  sizes: number[],
  totalFrames: number,
): Promise<FrameBatchResult[]> {
  const store = await openStore({ dataDir: dataDir(), database: 'bench_fb', clickhouse: undefined })
  const recs = { sender: loadRecording('sender'), receiver: loadRecording('receiver') }
  const pool: SessionRows = { stream_seconds: [], transport_seconds: [], raw_frames: [] }
  for (let i = 0; pool.raw_frames.length < Math.max(...sizes); i++) {
    const s = sessionRows(i, 300, recs)
    for (const t of ['stream_seconds', 'transport_seconds', 'raw_frames'] as const) pool[t].push(...s[t])
  }
  const out: FrameBatchResult[] = []
  try {
    for (const size of sizes) {
      // Per frame: 1 raw frame, 2 stream rows, 1 transport row (one sending or receiving pc).
      const batch = {
        stream_seconds: pool.stream_seconds.slice(0, size * 2),
        transport_seconds: pool.transport_seconds.slice(0, size),
        raw_frames: pool.raw_frames.slice(0, size),
      }
      const batches = Math.max(3, Math.round(totalFrames / size))
      const byTable: Record<string, number> = {}
      const t0 = performance.now()
      for (let b = 0; b < batches; b++) {
        for (const t of ['stream_seconds', 'transport_seconds', 'raw_frames'] as const) {
          const s0 = performance.now()
          await store.insert(t, batch[t])
          byTable[t] = (byTable[t] ?? 0) + performance.now() - s0
        }
      }
      const wall = (performance.now() - t0) / 1000
      out.push({
        framesPerBatch: size,
        framesPerSecond: Math.round((batches * size) / wall),
        msPerBatch: r((wall / batches) * 1000, 1),
        msByTable: Object.fromEntries(Object.entries(byTable).map(([k, v]) => [k, r(v / batches, 1)])),
      })
    }
  } finally {
    await store.exec('DROP DATABASE bench_fb')
    await store.close()
  }
  return out
}

export interface SustainedOptions {
  framesPerSecond: number
  /** Batch interval (the collector's RTCPULSE_BATCH_MS). */
  batchMs: number
  seconds: number
  /** Codec for raw_frames.frame instead of the schema's (e.g. `ZSTD(1)`); prototype of a schema change. */
  rawCodec?: string
  /** Leave raw_frames out, to see what the forensic copy costs. */
  skipRaw?: boolean
  /** MergeTree settings applied to the three tables first (`ALTER TABLE … MODIFY SETTING …`), e.g. merge tuning. */
  tableSettings?: string
  /** Positional JSON (no key names per row) through chDB's raw insert, instead of Store.insert's JSONEachRow. */
  compact?: boolean
  /**
   * Write as collector/ingest.ts did under steady load before pacing: the next batch starts as soon as the
   * previous one is written, holding whatever arrived meanwhile; `batchMs` is ignored.
   */
  backToBack?: boolean
  label: string
}

export interface SustainedResult extends SustainedOptions {
  achievedFramesPerSecond: number
  /** CPU of this process (JSON building + chDB: inserts, merges) per 1,000 frames, s. */
  cpuPer1000Frames: number
  /** Same as cores at the achieved rate. */
  cores: number
  threads: [string, number][]
  /** INSERT statements (each makes a part per partition, which merges then fold). */
  inserts: number
  /** Active parts of the three tables at the end: what fewer merges leave for queries to read. */
  activeParts: number
}

/**
 * The store alone at a steady rate, as the collector drives it: every `batchMs`, one batch of the
 * frames that arrived (2 stream rows, 1 transport row, 1 raw frame each), one INSERT per table in
 * order; a batch that takes longer delays the next (ingest.ts writes one at a time). Background merges
 * run as they would, and their CPU is counted: this is the storage cost per frame.
 */
export async function sustainedIngest(o: SustainedOptions): Promise<SustainedResult> {
  const { cpuSeconds, threadCpu, threadCpuDelta } = await import('./proc.ts')
  const db = `bench_sus_${Math.floor(Math.random() * 1e9)}`
  const store = await openStore({ dataDir: dataDir(), database: db, clickhouse: undefined })
  const recs = { sender: loadRecording('sender'), receiver: loadRecording('receiver') }
  const pool: SessionRows = { stream_seconds: [], transport_seconds: [], raw_frames: [] }
  const perBatch = Math.max(1, Math.round((o.framesPerSecond * o.batchMs) / 1000))
  for (let i = 0; pool.raw_frames.length < Math.max(perBatch, 4000); i++) {
    const s = sessionRows(i, 120, recs)
    for (const t of ['stream_seconds', 'transport_seconds', 'raw_frames'] as const) pool[t].push(...s[t])
  }
  const raw = o.compact ? new Session(dataDir()) : undefined
  const insert = async (table: string, rows: Row[]): Promise<void> => {
    if (!raw) return store.insert(table, rows)
    const cols = Object.keys(rows[0] ?? {})
    await raw.insert({
      table: `${db}.${table}`,
      values: Buffer.from(compactRows(rows)),
      format: 'JSONCompactEachRow',
      columns: cols,
    })
  }
  let inserts = 0
  try {
    if (o.rawCodec) await store.exec(`ALTER TABLE raw_frames MODIFY COLUMN frame String CODEC(${o.rawCodec})`)
    if (o.tableSettings) {
      for (const t of ['stream_seconds', 'transport_seconds', 'raw_frames'])
        await store.exec(`ALTER TABLE ${t} MODIFY SETTING ${o.tableSettings}`)
    }
    // Batches are built before the clock starts: only what the collector itself would do is timed.
    const batches = Math.ceil((o.seconds * 1000) / o.batchMs)
    const prepared: Record<'stream_seconds' | 'transport_seconds' | 'raw_frames', Row[]>[] = []
    for (let b = 0; b < batches; b++) {
      // Fresh seqs each batch, so the ReplacingMergeTree never collapses rows and merges do full work.
      const take = (rows: Row[], n: number): Row[] =>
        Array.from({ length: n }, (_, k) => ({
          ...rows[(b * n + k) % rows.length],
          seq: (b + 1) * 1_000_000 + k,
        }))
      prepared.push({
        stream_seconds: take(pool.stream_seconds, perBatch * 2),
        transport_seconds: take(pool.transport_seconds, perBatch),
        raw_frames: o.skipRaw ? [] : take(pool.raw_frames, perBatch),
      })
    }
    const cpu0 = cpuSeconds(process.pid)
    const th0 = threadCpu(process.pid)
    const t0 = performance.now()
    let frames = 0
    if (o.backToBack) {
      // Frames arrive at the rate; each write takes all that arrived since the previous one started.
      let sent = 0
      for (let b = 0; performance.now() - t0 < o.seconds * 1000; b++) {
        let due = Math.floor(((performance.now() - t0) / 1000) * o.framesPerSecond)
        if (due <= sent) {
          await new Promise((res) => setTimeout(res, 1))
          due = Math.floor(((performance.now() - t0) / 1000) * o.framesPerSecond)
          if (due <= sent) continue
        }
        const n = due - sent
        const src = prepared[b % prepared.length] as (typeof prepared)[number]
        const seqBase = (batches + b + 1) * 1_000_000
        const pick = (rows: Row[], k: number): Row[] =>
          Array.from({ length: k }, (_, i) => ({ ...rows[i % rows.length], seq: seqBase + i }))
        await insert('stream_seconds', pick(src.stream_seconds, n * 2))
        await insert('transport_seconds', pick(src.transport_seconds, n))
        if (!o.skipRaw) await insert('raw_frames', pick(src.raw_frames, n))
        inserts += o.skipRaw ? 2 : 3
        sent = due
        frames += n
      }
    }
    for (let b = 0; b < (o.backToBack ? 0 : batches); b++) {
      const wait = t0 + b * o.batchMs - performance.now()
      if (wait > 0) await new Promise((res) => setTimeout(res, wait))
      const batch = prepared[b] as (typeof prepared)[number]
      await insert('stream_seconds', batch.stream_seconds)
      await insert('transport_seconds', batch.transport_seconds)
      if (!o.skipRaw) await insert('raw_frames', batch.raw_frames)
      inserts += o.skipRaw ? 2 : 3
      frames += perBatch
    }
    const wall = (performance.now() - t0) / 1000
    // Merges still running count as this load's cost: give them a moment, then read the CPU.
    await new Promise((res) => setTimeout(res, 2000))
    const cpu = cpuSeconds(process.pid) - cpu0
    const [parts] = await store.query<{ n: number }>(
      `SELECT count() AS n FROM system.parts WHERE database = currentDatabase() AND active
         AND table IN ('stream_seconds', 'transport_seconds', 'raw_frames')`,
    )
    return {
      ...o,
      activeParts: parts?.n ?? 0,
      achievedFramesPerSecond: Math.round(frames / wall),
      cpuPer1000Frames: r((cpu / frames) * 1000, 3),
      cores: r(cpu / (wall + 2), 2),
      threads: threadCpuDelta(th0, threadCpu(process.pid)).slice(0, 6),
      inserts,
    }
  } finally {
    raw?.close()
    await store.exec(`DROP DATABASE ${db}`)
    await store.close()
  }
}
