// The collector's rows as TabSeparated lines (store/tsv.ts), one function per table, each with its column
// list. A line is built once, straight from the derived values: no row object, no JSON.stringify, and
// ClickHouse parses TabSeparated at a fraction of JSONEachRow's cost (bench/RESULTS.md, issue 14).
// The identity columns, the same on every row of a channel, are escaped once per channel (`linePrefix`).
import type { StreamMetrics, TransportMetrics } from '../core/derive.ts'
import type { PeersRow } from '../store/peers.ts'
import { tsvMap, tsvNumber, tsvString } from '../store/tsv.ts'

/** One value: strings escaped, numbers as text, null/undefined as NULL. */
const value = (v: string | number | null | undefined): string =>
  typeof v === 'string' ? tsvString(v) : tsvNumber(v)

// Every StreamMetrics / TransportMetrics field, in column order: a field added to the interface and not
// here fails to compile (`Exhaustive` below), so no derived value is silently left out of the insert.
const STREAM_METRICS = [
  'stream_id',
  'direction',
  'kind',
  'ssrc',
  'mid',
  'codec',
  'interval_ms',
  'active',
  'bitrate_bps',
  'header_bitrate_bps',
  'retransmit_bitrate_bps',
  'target_bitrate_bps',
  'packets_per_s',
  'packets_lost',
  'loss_ratio',
  'jitter_ms',
  'rtt_ms',
  'fps',
  'width',
  'height',
  'frames_dropped',
  'freeze_count',
  'frozen_share',
  'qp_avg',
  'nack_per_s',
  'pli_per_s',
  'fir_per_s',
  'keyframes',
  'limitation',
  'limit_bandwidth_share',
  'limit_cpu_share',
  'limit_other_share',
  'jb_delay_ms',
  'concealment_ratio',
  'audio_level',
  'pause_count',
  'paused_share',
  'source_fps',
  'source_width',
  'source_height',
  'available_out_bps',
  'rid',
  'layers',
] as const satisfies readonly (keyof StreamMetrics)[]

const TRANSPORT_METRICS = [
  'pair_id',
  'state',
  'interval_ms',
  'rtt_ms',
  'available_out_bps',
  'available_in_bps',
  'send_bps',
  'recv_bps',
  'local_type',
  'remote_type',
  'protocol',
  'relay_protocol',
  'network_type',
] as const satisfies readonly (keyof TransportMetrics)[]

type Exhaustive<T, L extends readonly unknown[]> = [Exclude<keyof T, L[number]>] extends [never]
  ? true
  : never
const streamExhaustive: Exhaustive<StreamMetrics, typeof STREAM_METRICS> = true
const transportExhaustive: Exhaustive<TransportMetrics, typeof TRANSPORT_METRICS> = true
void streamExhaustive
void transportExhaustive

const ID = ['app_id', 'session_id', 'peer_id', 'pc_id'] as const
const DIMS = ['browser', 'os', 'sdk_version'] as const

/** Column lists of the tables the collector writes, in the order their lines hold values. */
export const COLUMNS = {
  peers: [
    'app_id',
    'session_id',
    'peer_id',
    'user_id',
    'sdk_version',
    'user_agent',
    'browser',
    'os',
    'metadata',
    'remote_addr',
    'connected_at',
    'clock_skew_ms',
  ],
  events: [...ID, 'seq', 'ts', 'name', 'data'],
  stream_seconds: [...ID, ...DIMS, 'seq', 'ts', ...STREAM_METRICS],
  transport_seconds: [...ID, ...DIMS, 'seq', 'ts', ...TRANSPORT_METRICS],
  raw_frames: [...ID, 'seq', 'ts', 'type', 'gap', 'frame'],
} as const satisfies Record<string, readonly string[]>

export interface ChannelIdentity {
  app: string
  session: string
  peer: string
  pc: string
}

export interface PeerDims {
  browser: string
  os: string
  sdk_version: string
}

/** A channel's identity columns (and its peer's browser, OS and SDK when `dims` is given), tab-terminated. */
export function linePrefix(id: ChannelIdentity, dims?: PeerDims): string {
  let p = `${tsvString(id.app)}\t${tsvString(id.session)}\t${tsvString(id.peer)}\t${tsvString(id.pc)}\t`
  if (dims) p += `${tsvString(dims.browser)}\t${tsvString(dims.os)}\t${tsvString(dims.sdk_version)}\t`
  return p
}

// NULL for a missing rate; a number goes into the template as its shortest text (as JSON writes it).
const N = (v: number | null): string | number => (v === null ? '\\N' : v)
const S = tsvString

/**
 * A `stream_seconds` line; `prefix` is linePrefix(id, dims), `ts` in ms. Written out field by field in
 * COLUMNS order (test/unit/rows.test.ts reads lines back column by column): a loop over the column names
 * cost 2–3× as much (keyed loads of 43 fields).
 */
export function streamLine(prefix: string, seq: number, ts: number, s: StreamMetrics): string {
  return `${prefix}${seq}\t${ts}\t${S(s.stream_id)}\t${s.direction}\t${s.kind}\t${s.ssrc}\t${S(s.mid)}\t${S(s.codec)}\t${s.interval_ms}\t${s.active}\t${N(s.bitrate_bps)}\t${N(s.header_bitrate_bps)}\t${N(s.retransmit_bitrate_bps)}\t${N(s.target_bitrate_bps)}\t${N(s.packets_per_s)}\t${N(s.packets_lost)}\t${N(s.loss_ratio)}\t${N(s.jitter_ms)}\t${N(s.rtt_ms)}\t${N(s.fps)}\t${s.width}\t${s.height}\t${N(s.frames_dropped)}\t${N(s.freeze_count)}\t${N(s.frozen_share)}\t${N(s.qp_avg)}\t${N(s.nack_per_s)}\t${N(s.pli_per_s)}\t${N(s.fir_per_s)}\t${N(s.keyframes)}\t${S(s.limitation)}\t${N(s.limit_bandwidth_share)}\t${N(s.limit_cpu_share)}\t${N(s.limit_other_share)}\t${N(s.jb_delay_ms)}\t${N(s.concealment_ratio)}\t${N(s.audio_level)}\t${N(s.pause_count)}\t${N(s.paused_share)}\t${N(s.source_fps)}\t${s.source_width}\t${s.source_height}\t${N(s.available_out_bps)}\t${S(s.rid)}\t${s.layers}\n`
}

/** A `transport_seconds` line; `prefix` is linePrefix(id, dims), `ts` in ms. Field by field, as streamLine. */
export function transportLine(prefix: string, seq: number, ts: number, t: TransportMetrics): string {
  return `${prefix}${seq}\t${ts}\t${S(t.pair_id)}\t${S(t.state)}\t${t.interval_ms}\t${N(t.rtt_ms)}\t${N(t.available_out_bps)}\t${N(t.available_in_bps)}\t${N(t.send_bps)}\t${N(t.recv_bps)}\t${S(t.local_type)}\t${S(t.remote_type)}\t${S(t.protocol)}\t${S(t.relay_protocol)}\t${S(t.network_type)}\n`
}

/** A `raw_frames` line: the frame's text as received; `prefix` is linePrefix(id). */
export function rawFrameLine(
  prefix: string,
  seq: number,
  ts: number,
  type: string,
  gap: number,
  frame: string,
): string {
  return `${prefix}${seq}\t${ts}\t${tsvString(type)}\t${gap}\t${tsvString(frame)}\n`
}

/** An `events` line; `data` is the event's JSON ('' for none); `prefix` is linePrefix(id). */
export function eventLine(prefix: string, seq: number, ts: number, name: string, data: string): string {
  return `${prefix}${seq}\t${ts}\t${tsvString(name)}\t${tsvString(data)}\n`
}

/** One connection's `peers` row, as the session builds it at hello. */
/** A `peers` row (store/peers.ts). */
export type PeerRow = PeersRow

/** A `peers` line with the clock skew measured so far (null: none yet). */
export function peerLine(p: PeerRow, clockSkewMs: number | null): string {
  return (
    [p.app_id, p.session_id, p.peer_id, p.user_id, p.sdk_version, p.user_agent, p.browser, p.os]
      .map(tsvString)
      .join('\t') +
    `\t${tsvMap(p.metadata)}\t${tsvString(p.remote_addr)}\t${p.connected_at}\t${tsvNumber(clockSkewMs)}\n`
  )
}

/** Any object as a line for `columns` (a missing or null value is NULL, which a non-Nullable column stores as its default). */
export function objectLine(columns: readonly string[], row: Readonly<Record<string, unknown>>): string {
  return (
    columns
      .map((c) => {
        const v = row[c]
        if (typeof v === 'object' && v !== null) return tsvMap(v as Record<string, string>)
        return value(v as string | number | null | undefined)
      })
      .join('\t') + '\n'
  )
}
