// Wire protocol v1: the one declaration of every frame that crosses the socket.
// The collector's zod schemas (collector/protocol.ts) end in `satisfies z.ZodType<…>` against these
// types, so a change here that the server does not follow fails to compile. See sdk/PROTOCOL.md.

export const PROTOCOL_VERSION = 1

/** Channel used for frames that belong to the monitor rather than to one peer connection. */
export const MONITOR_CHANNEL = '_'

/** A scalar as getStats() reports it; nested objects (qualityLimitationDurations) are kept as records. */
export type StatValue = string | number | boolean | Record<string, number>

/**
 * Changed fields of one stats object. A field set to `null` was removed from the object.
 * `timestamp` is omitted when it equals the frame's `ts` (it almost always does).
 */
export type StatsPatch = Record<string, StatValue | null>

export interface HelloFrame {
  t: 'hello'
  v: number
  /** Signed token minted by the app's backend (see SECURITY.md); omitted only against a --dev collector. */
  token?: string
  app: string
  session: string
  peer: string
  user?: string
  /**
   * Random id of this monitor instance, the same on every reconnect. A live (app, session, peer) is
   * refused to another instance (error `peer_in_use`, then close 4003) so one tab cannot take over another's stream.
   */
  inst?: string
  sdk: string
  ua?: string
  meta?: Record<string, string | number | boolean>
}

export interface StatsFrame {
  t: 'stats'
  /** Peer connection id, unique within the monitor. */
  pc: string
  /** Sequence number, per `pc`, starting at 1, +1 per frame (stats and events share it). */
  seq: number
  /** Report timestamp, ms since the Unix epoch (the stats objects' own clock). */
  ts: number
  /** Keyframe: `d` holds every object in full and replaces the decoder's state. */
  key?: boolean
  /** Changed fields per stats id. */
  d: Record<string, StatsPatch>
  /** Stats ids removed since the previous frame. */
  rm?: string[]
  /** Frames of this pc the SDK had to drop before this one (buffer overflow); counted, never silent. */
  gap?: number
  /**
   * A part of a frame sent in parts (sdk/PROTOCOL.md "Parts"): more parts of this `seq` follow, the last
   * without `more`; the collector joins their `d` and handles the last part's envelope as one frame.
   */
  more?: 1
}

export interface EventFrame {
  t: 'event'
  pc: string
  seq: number
  ts: number
  /** e.g. `connectionstatechange`, `track.added`, `getUserMedia.error`, `custom.<name>`. */
  name: string
  data?: Record<string, unknown>
}

export type ClientFrame = HelloFrame | StatsFrame | EventFrame
export type ChannelFrame = StatsFrame | EventFrame

export interface WelcomeFrame {
  t: 'welcome'
  v: number
  /** Highest stored seq per pc for this (app, session, peer): the SDK discards those and resends the rest. */
  resume: Record<string, number>
  limits: { maxFrameBytes: number; maxFramesPerSecond: number }
  /** Stats fields to leave out of later reports, as a RegExp source (absent: send every field). */
  omit?: string
}

/**
 * The collector's default `welcome.omit` (RTCPULSE_SDK_OMIT), version 2, sdk/PROTOCOL.md "Fields":
 * non-standard fields (Chrome's `googTimingFrameInfo` is a long string that changes every second),
 * absolute clock readings (`last…Timestamp`, `estimatedPlayoutTimestamp`), and counters nothing is derived
 * from that change on every poll (sums of squares, audio energy and assembly-time integrals, STUN request
 * and consent counters; since version 2 also decode, encode, processing and send-delay integrals,
 * jitter-buffer targets, frames received and assembled, the latest RTCP round trip beside its sum and
 * count, RTCP report counts). Version 1 was a fifth of a receiving pc's delta bytes on the recorded
 * loopback call; version 2 takes another 27–34% off a Chromium receiving pc at 25 remote participants
 * (bench/RESULTS.md). test/unit/sdk-omit-derive.test.ts proves derivation does not change.
 */
export const VERBOSE_FIELDS =
  '^goog|.Timestamp$|Squared|^total(A|Pr|Pac|D|E|InterF)|SamplesD|equestsS|^re(questsR|sponsesS)|^jitterBuffer[MT]|^frames(Rec|Ass)|^r(oundTripTime|eportsSent)$'

export interface AckFrame {
  t: 'ack'
  /** Cumulative: every frame of `pc` up to and including this seq is durably stored. */
  seq: Record<string, number>
}

export type ErrorCode =
  | 'bad_json'
  | 'bad_frame'
  | 'unsupported_version'
  | 'hello_required'
  | 'hello_repeated'
  | 'unauthenticated'
  | 'forbidden'
  | 'seq_regression'
  | 'seq_gap'
  | 'frame_too_large'
  | 'rate_limited'
  | 'too_many_pcs'
  | 'store_unavailable'
  | 'peer_in_use'
  | 'internal'

export interface ErrorFrame {
  t: 'error'
  code: ErrorCode
  message: string
  pc?: string
  seq?: number
}

export type ServerFrame = WelcomeFrame | AckFrame | ErrorFrame

/** WebSocket close codes (RFC 6455 §7.4 plus the 4000–4999 private range). */
export const CloseCode = {
  normal: 1000,
  goingAway: 1001,
  policy: 1008,
  tooBig: 1009,
  internal: 1011,
  tryAgainLater: 1013,
  unauthenticated: 4001,
  forbidden: 4003,
  rateLimited: 4029,
} as const

/** Body of `POST /v1/ingest`, the fallback when a WebSocket cannot be opened (also used by sendBeacon). */
export interface IngestRequest {
  hello: HelloFrame
  frames: ChannelFrame[]
}

export interface IngestResponse {
  /** Same meaning as an `ack` frame: stored up to here, per pc. */
  seq: Record<string, number>
  errors: ErrorFrame[]
}
