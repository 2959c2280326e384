// One client's stream: hello, resume, per-pc sequence checks, delta decoding, derivation, rows, acks.
// Transport-free: the WebSocket handler (stream.ts) and the HTTP fallback (`POST /v1/ingest`) both drive
// it through `hello()` and `frame()`, and receive server frames through `out`.
import type { Logger } from 'pino'
import { applyDelta } from '../core/delta.ts'
import type { StatsState } from '../core/delta.ts'
import { MONITOR_CHANNEL, PROTOCOL_VERSION } from '../core/protocol.ts'
import type { ChannelFrame, ErrorCode, HelloFrame, ServerFrame } from '../core/protocol.ts'
import type { Store } from '../store/index.ts'
import { verifyToken } from './auth.ts'
import { ClockSkew } from './clock-skew.ts'
import type { Config } from './config.ts'
import { deriveSecond } from '../core/derive.ts'
import type { Snapshot } from '../core/derive.ts'
import type { Ingest, RowSet } from './ingest.ts'
import { maskEventFrame, maskIp, maskStatsFrame, mayHoldAddress } from './privacy.ts'
import { identityKey } from './registry.ts'
import type { Attached, Identity, SessionRegistry } from './registry.ts'
import { singleResumeLoader } from './resume.ts'
import type { ResumeLoader } from './resume.ts'
import type { CollectorMetrics } from './stats.ts'
import { parseUserAgent } from '../core/user-agent.ts'
import { eventLine, linePrefix, peerLine, rawFrameLine, streamLine, transportLine } from './rows.ts'
import type { PeerDims, PeerRow } from './rows.ts'

export interface SessionDeps {
  store: Store
  ingest: Ingest
  registry: SessionRegistry
  /** Resume points, batched across hellos (createResumeLoader); default: one query per hello. */
  resume?: ResumeLoader
  config: Pick<
    Config,
    | 'dev'
    | 'keys'
    | 'maxTokenTtlS'
    | 'allowedOrigins'
    | 'maxPcsPerConnection'
    | 'maxFrameBytes'
    | 'maxFramesPerSecond'
    | 'sdkOmit'
    | 'maskIps'
  >
  log: Logger
  metrics: CollectorMetrics
  /** Deleted sessions and users, refused at hello (collector/deletions.ts). */
  deletions?: { deleted(app: string, session: string, user: string | undefined): boolean }
}

/** Where a session's frames come from. `live`: a stream that supersedes an older one of the same peer. */
export interface ClientInfo {
  ip: string
  origin: string | undefined
  live: boolean
  /** Resolves true if the client answers (pong or frame) within `ms`; absent for HTTP batches. */
  probe?: (ms: number) => Promise<boolean>
}

// How long a live stream has to answer a liveness probe when another instance claims its peer: a
// live socket answers within a round trip, a half-open one never (sdk/PROTOCOL.md "Peer identity").
const PEER_PROBE_MS = 3000

// How long a hello may wait for the previous connection's writes, and for its resume points, before the
// client is told to come back later (1013): a stuck store must not pile up pending hellos. Below the
// SDK's 20 s silence timeout, so the SDK hears why.
const HELLO_STORE_WAIT_MS = 15_000
// Error messages can quote client input (zod paths hold keys); keep server frames small.
const MAX_MESSAGE_CHARS = 300

export interface SessionOutput {
  send(frame: ServerFrame): void
  close(code: number, reason: string): void
}

interface Channel {
  /** Highest seq accepted on this connection (0: none yet). */
  lastSeq: number
  /** Highest seq known to be stored (from welcome, then from acks). */
  stored: number
  /** Highest stored seq already acknowledged to the client. */
  acked: number
  /** Decoded report; undefined until a keyframe arrives. */
  state: StatsState | undefined
  snapshot: Snapshot | undefined
  /** Identity columns of this channel's lines (collector/rows.ts), without and with the peer's dims. */
  prefix?: string
  dimsPrefix?: string
}

export class ClientSession implements Attached {
  private id: Identity | undefined
  private userId: string | undefined
  private inst: string | undefined
  private readonly channels = new Map<string, Channel>()
  private ackScheduled = false
  private closed = false
  private welcomed = false
  private unstoredBytes = 0
  /** The latest batch this session's frames went into, with what its write will store (awaitBatch). */
  private waiting: { batch: Promise<void>; bytes: number; seqs: Map<string, number> } | undefined
  private key: string | undefined
  /** This connection's peers row (without its clock skew), once hello is accepted. */
  private peer: PeerRow | undefined
  private readonly clock = new ClockSkew()
  // The peer's browser, OS and SDK, from the hello: stored on every per-second row so fleet queries and
  // their rollups (store/migrations/009_fleet_rollups.sql) group by them without joining `peers`.
  private dims: PeerDims | undefined

  constructor(
    private readonly deps: SessionDeps,
    private readonly client: ClientInfo,
    private readonly out: SessionOutput,
  ) {}

  get identity(): Identity {
    if (!this.id) throw new Error('session has no identity before hello')
    return this.id
  }

  get user(): string | undefined {
    return this.userId
  }

  get instance(): string | undefined {
    return this.inst
  }

  /** Liveness of the client behind this session; a closed session is dead. */
  probe(ms: number): Promise<boolean> {
    if (this.closed) return Promise.resolve(false)
    return this.client.probe ? this.client.probe(ms) : Promise.resolve(true)
  }

  /** Bytes of frames this session handed to the ingest that are not stored yet. */
  get pendingBytes(): number {
    return this.unstoredBytes
  }

  /** Closes the stream from outside (superseded, data deleted): no more frames, no more acks. */
  evict(code: number, reason: string): void {
    if (this.closed) return
    this.closed = true
    this.out.close(code, reason)
  }

  /** Authenticates and loads resume points; sends `welcome` or closes. Resolves false when refused. */
  async hello(frame: HelloFrame): Promise<boolean> {
    const { config, metrics, log } = this.deps
    const auth = verifyToken(frame.token, frame, config)
    if (!auth.ok) {
      metrics.rejected.inc({ reason: auth.code === 4001 ? 'unauthenticated' : 'forbidden' })
      this.fail(auth.code === 4001 ? 'unauthenticated' : 'forbidden', auth.reason)
      this.out.close(auth.code, auth.reason)
      return false
    }
    // Browsers always send Origin on a WebSocket handshake and a cross-origin POST; other clients may
    // omit it (and could forge it), so only a present Origin is checked. The token is the real gate.
    const allowed = config.allowedOrigins.get(frame.app)
    if (allowed && this.client.origin && !allowed.includes('*') && !allowed.includes(this.client.origin)) {
      metrics.rejected.inc({ reason: 'origin' })
      this.fail('forbidden', `origin ${this.client.origin} is not allowed for app ${frame.app}`)
      this.out.close(4003, 'origin not allowed')
      return false
    }
    if (this.deps.deletions?.deleted(frame.app, frame.session, frame.user)) {
      metrics.rejected.inc({ reason: 'deleted' })
      this.fail('forbidden', 'the data of this session or user was deleted')
      this.out.close(4003, 'data deleted')
      return false
    }
    const { ingest, registry } = this.deps
    const unavailable = (why: string): false => {
      metrics.rejected.inc({ reason: 'store_unavailable' })
      this.fail('store_unavailable', `${why}; retry later`)
      this.out.close(1013, why)
      return false
    }
    // Not ready (store writes failing, or too much unstored): refuse before taking any frame.
    if (!ingest.healthy) return unavailable('store unavailable')
    if (ingest.overloaded) return unavailable('collector overloaded')
    const id = { app: frame.app, session: frame.session, peer: frame.peer }
    this.id = id
    this.userId = frame.user
    this.inst = frame.inst
    if ((await registry.claim(this, PEER_PROBE_MS, this.client.live)) === 'in_use') {
      metrics.rejected.inc({ reason: 'peer_in_use' })
      const why = 'another monitor instance is streaming as this peer'
      this.fail('peer_in_use', why)
      this.out.close(4003, 'peer in use')
      return false
    }
    // The resume point must count every frame an earlier connection of this peer got in.
    if (!(await registry.settled(id, HELLO_STORE_WAIT_MS)))
      return unavailable('previous frames not stored yet')
    let resume: { pc_id: string; seq: number }[]
    try {
      const loader = (this.deps.resume ??= singleResumeLoader(this.deps.store))
      resume = await withTimeout(loader.load(id), HELLO_STORE_WAIT_MS)
    } catch (err) {
      log.warn({ err }, 'cannot read resume points; refusing the stream until the store answers')
      return unavailable('store unavailable')
    }
    // Superseded or disconnected while waiting.
    if (this.closed) return false
    const welcome: Record<string, number> = {}
    for (const r of resume) {
      welcome[r.pc_id] = r.seq
      this.channels.set(r.pc_id, {
        lastSeq: 0,
        stored: r.seq,
        acked: r.seq,
        state: undefined,
        snapshot: undefined,
      })
    }
    const ua = parseUserAgent(frame.ua ?? '')
    this.dims = { browser: ua.browser, os: ua.os, sdk_version: frame.sdk }
    const meta: Record<string, string> = {}
    for (const [k, v] of Object.entries(frame.meta ?? {})) meta[k] = String(v)
    this.peer = {
      app_id: id.app,
      session_id: id.session,
      peer_id: id.peer,
      user_id: frame.user ?? '',
      sdk_version: frame.sdk,
      user_agent: frame.ua ?? '',
      browser: ua.browser,
      os: ua.os,
      metadata: meta,
      remote_addr: config.maskIps ? maskIp(this.client.ip) : this.client.ip,
      connected_at: Date.now(),
    }
    this.writePeer(null)
    this.welcomed = true
    this.out.send({
      t: 'welcome',
      v: PROTOCOL_VERSION,
      resume: welcome,
      limits: { maxFrameBytes: config.maxFrameBytes, maxFramesPerSecond: config.maxFramesPerSecond },
      omit: config.sdkOmit || undefined,
    })
    return true
  }

  /**
   * Handles one validated channel frame; `text` is its JSON as received (kept for forensics). `dropped`
   * names the values validation left out of it (repairStatsFrame): the client is told, and the frame is
   * stored as repaired, so nothing the schema refuses reaches storage. Returns the store promise of an
   * accepted frame, or undefined when the frame was a duplicate or refused.
   */
  frame(frame: ChannelFrame, text: string, dropped?: string): Promise<void> | undefined {
    const id = this.id
    if (this.closed) return undefined
    if (!id || !this.welcomed) {
      this.fail('hello_required', 'the first frame must be hello')
      return undefined
    }
    if (dropped) {
      this.deps.metrics.rejected.inc({ reason: 'bad_value' })
      this.fail('bad_frame', `values left out: ${dropped}`, frame)
      text = JSON.stringify(frame)
    }
    // Privacy: addresses are masked before anything is decoded or stored; the frame is re-serialised
    // only when masking changed it, so the common frame is stored as received at no cost.
    if (this.deps.config.maskIps && mayHoldAddress(text)) {
      if (frame.t === 'stats' ? maskStatsFrame(frame) : maskEventFrame(frame)) text = JSON.stringify(frame)
    }
    let ch = this.channels.get(frame.pc)
    if (!ch) {
      if (this.channels.size >= this.deps.config.maxPcsPerConnection && frame.pc !== MONITOR_CHANNEL) {
        this.deps.metrics.rejected.inc({ reason: 'too_many_pcs' })
        this.fail(
          'too_many_pcs',
          `at most ${this.deps.config.maxPcsPerConnection} peer connections per monitor`,
          frame,
        )
        return undefined
      }
      ch = { lastSeq: 0, stored: 0, acked: 0, state: undefined, snapshot: undefined }
      this.channels.set(frame.pc, ch)
    }
    const isStats = frame.t === 'stats'
    // The monitor channel holds events. Its one stats frame is the SDK's gap marker: an empty keyframe
    // that carries `gap` for events dropped before they were sent (sdk/src/outbox.ts, resume).
    if (isStats && frame.pc === MONITOR_CHANNEL && (!frame.key || Object.keys(frame.d).length > 0)) {
      this.deps.metrics.rejected.inc({ reason: 'stats_on_monitor_channel' })
      this.fail('bad_frame', `channel ${MONITOR_CHANNEL} takes events only`, frame)
      return undefined
    }
    // Frames of one channel come in increasing seq on a connection, resends after a welcome too: a seq at
    // or below the last one is a client bug or a replay, answered rather than dropped in silence.
    if (ch.lastSeq > 0 && frame.seq <= ch.lastSeq) {
      this.deps.metrics.rejected.inc({ reason: 'seq_regression' })
      this.fail('seq_regression', `seq ${frame.seq} is not after ${ch.lastSeq}`, frame)
      return undefined
    }
    if (isStats) {
      const skew = this.clock.observe(frame.ts, Date.now())
      if (skew !== undefined) this.writePeer(skew)
    }

    if (frame.seq <= ch.stored) {
      // Already stored (a resend after reconnect). A keyframe still primes the decoder so the deltas
      // that follow decode and the first new second gets its rates.
      if (isStats && (frame.key || (ch.state && frame.seq === ch.lastSeq + 1))) this.decode(ch, frame)
      ch.lastSeq = Math.max(ch.lastSeq, frame.seq)
      // No ack needed: `welcome` already told the client this seq is stored.
      this.deps.metrics.duplicates.inc()
      return undefined
    }
    // A channel's first frame is seq 1, or says with `gap` which frames before it were dropped.
    const expected = Math.max(ch.lastSeq, ch.stored) + 1
    const skipped = frame.seq - expected
    if (skipped > 0 && skipped > (isStats ? (frame.gap ?? 0) : 0)) {
      this.deps.metrics.rejected.inc({ reason: 'seq_gap' })
      this.fail('seq_gap', `seq ${frame.seq} skips ${skipped} frame(s) after ${expected - 1}`, frame)
      return undefined
    }
    if (isStats && !frame.key && !ch.state) {
      this.deps.metrics.rejected.inc({ reason: 'keyframe_required' })
      this.fail(
        'seq_gap',
        `seq ${frame.seq} is a delta but no keyframe preceded it on this connection`,
        frame,
      )
      return undefined
    }
    ch.lastSeq = frame.seq
    const pc = frame.pc
    const seq = frame.seq
    const ts = storedTs(frame.ts)
    // Each row is one TabSeparated line, built once from its values (collector/rows.ts); the identity
    // columns are escaped once per channel.
    const prefix = (ch.prefix ??= linePrefix({ ...id, pc }))
    const rows: RowSet = {
      raw_frames: [rawFrameLine(prefix, seq, ts, frame.t, isStats ? (frame.gap ?? 0) : 0, text)],
    }
    if (isStats) {
      const derived = this.decode(ch, frame)
      for (const metric of derived.implausible) this.deps.metrics.implausible.inc({ metric })
      const dimsPrefix = (ch.dimsPrefix ??= linePrefix({ ...id, pc }, this.dims))
      rows.stream_seconds = derived.streams.map((s) => streamLine(dimsPrefix, seq, ts, s))
      if (derived.transport) rows.transport_seconds = [transportLine(dimsPrefix, seq, ts, derived.transport)]
    } else {
      rows.events = [eventLine(prefix, seq, ts, frame.name, frame.data ? JSON.stringify(frame.data) : '')]
    }
    this.deps.metrics.frames.inc({ type: frame.t })
    const bytes = text.length
    this.unstoredBytes += bytes
    const stored = this.deps.ingest.add(rows, 1, bytes)
    this.deps.registry.track(id, stored, (this.key ??= identityKey(id)))
    this.awaitBatch(stored, pc, seq, bytes)
    return stored
  }

  /** Sends an error frame for a refused frame; the connection stays open. */
  fail(code: ErrorCode, message: string, frame?: { pc: string; seq: number }): void {
    const msg = message.length > MAX_MESSAGE_CHARS ? `${message.slice(0, MAX_MESSAGE_CHARS)}…` : message
    this.out.send({ t: 'error', code, message: msg, ...(frame ? { pc: frame.pc, seq: frame.seq } : {}) })
  }

  /** Stops acks after the socket is gone; stores a clock skew not stored yet (unless evicted). */
  dispose(): void {
    if (!this.closed) {
      const skew = this.clock.due()
      if (skew !== undefined) this.writePeer(skew)
    }
    this.closed = true
    if (this.id && this.client.live) this.deps.registry.detach(this)
  }

  /** Highest stored seq per pc, for the HTTP fallback's response. */
  storedSeqs(): Record<string, number> {
    const out: Record<string, number> = {}
    for (const [pc, ch] of this.channels) if (ch.stored > 0) out[pc] = ch.stored
    return out
  }

  /**
   * Writes this connection's peers row with `clockSkewMs` (clock-skew.ts). The row is metadata: it goes
   * with the next batch but gates no ack. A later row of the same connection (same `connected_at`, the
   * ReplacingMergeTree version) replaces it on merge; readers take the latest non-null skew.
   */
  private writePeer(clockSkewMs: number | null): void {
    if (!this.peer) return
    void this.deps.ingest.add({ peers: [peerLine(this.peer, clockSkewMs)] }, 0).catch(() => {})
  }

  private decode(ch: Channel, frame: ChannelFrame & { t: 'stats' }): ReturnType<typeof deriveSecond> {
    ch.state = applyDelta(ch.state ?? (new Map() as StatsState), frame)
    const derived = deriveSecond(ch.state, frame.ts, ch.snapshot)
    ch.snapshot = derived.snapshot
    return derived
  }

  /**
   * Marks `seq` of `pc` stored once `batch` is. Frames of one batch share its promise: one reaction per
   * batch and session carries the highest seq of each pc and the bytes, instead of one per frame
   * (frames of a channel arrive in increasing seq, so the last one added is the highest).
   */
  private awaitBatch(batch: Promise<void>, pc: string, seq: number, bytes: number): void {
    let w = this.waiting
    if (!w || w.batch !== batch) {
      const entry = (w = { batch, bytes: 0, seqs: new Map<string, number>() })
      this.waiting = entry
      batch.then(
        () => {
          this.unstoredBytes -= entry.bytes
          for (const [p, q] of entry.seqs) this.markStored(p, q)
        },
        () => {
          this.unstoredBytes -= entry.bytes
          // The batch was refused for good. A later ack would cover its frames (acks are cumulative),
          // so this connection acks nothing more; the SDK reconnects and resends from the stored
          // resume point.
          this.evict(1011, 'a batch could not be stored')
        },
      )
    }
    w.bytes += bytes
    w.seqs.set(pc, seq)
  }

  private markStored(pc: string, seq: number): void {
    const ch = this.channels.get(pc)
    if (!ch || seq <= ch.stored) return
    ch.stored = seq
    this.scheduleAck()
  }

  private scheduleAck(): void {
    if (this.ackScheduled || this.closed) return
    this.ackScheduled = true
    // Coalesce: one ack frame per tick covers every pc that advanced.
    setImmediate(() => {
      this.ackScheduled = false
      if (this.closed) return
      const seq: Record<string, number> = {}
      let any = false
      for (const [pc, ch] of this.channels) {
        if (ch.stored > ch.acked) {
          seq[pc] = ch.acked = ch.stored
          any = true
        }
      }
      if (any) this.out.send({ t: 'ack', seq })
    })
  }
}

// `ts` is the client's clock. Rows are partitioned by day and expire by it, so a clock far off (or a
// hostile value) would scatter rows over years of partitions and fail batch inserts (ClickHouse's
// max_partitions_per_insert_block): a ts outside [now - 30 days, now + 1 day] is stored as the time of
// arrival. The frame itself, in raw_frames, keeps what the client sent.
const PAST_MS = 30 * 86_400_000
const FUTURE_MS = 86_400_000
function storedTs(ts: number): number {
  const now = Date.now()
  return ts >= now - PAST_MS && ts <= now + FUTURE_MS ? Math.round(ts) : now
}

function withTimeout<T>(p: Promise<T>, ms: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${ms} ms`)), ms)
  })
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer))
}
