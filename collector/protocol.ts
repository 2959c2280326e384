// Runtime validation of every client frame. Each schema is tied to the SDK's declaration with `satisfies`,
// so a field added on one side only fails to compile. Everything that reaches storage went through here.
import { z } from 'zod'
import type {
  ChannelFrame,
  ClientFrame,
  EventFrame,
  HelloFrame,
  IngestRequest,
  StatValue,
  StatsFrame,
} from '../core/protocol.ts'
import { PROTOCOL_VERSION } from '../core/protocol.ts'

// Identifiers end up as ClickHouse key columns and in logs: bounded and printable.
const id = z
  .string()
  .min(1)
  .max(128)
  .regex(/^[\x21-\x7e]+$/, 'printable ASCII without spaces')
// Sequence numbers start at 1 (sdk/PROTOCOL.md); 0 is no frame's.
const seq = z.number().int().min(1).max(Number.MAX_SAFE_INTEGER)
const ts = z.number().finite().min(0)

const statValue = z.union([
  z.number(),
  z.string().max(4096),
  z.boolean(),
  z.record(z.string().max(64), z.number()),
]) satisfies z.ZodType<StatValue>

// (A `__proto__` key never reaches the decoder: zod's record drops it, it is no own field.)
const statsPatch = z.record(z.string().min(1).max(64), statValue.nullable())

export const helloSchema = z.strictObject({
  t: z.literal('hello'),
  v: z.number().int(),
  token: z.string().max(4096).optional(),
  app: id,
  session: id,
  peer: id,
  user: id.optional(),
  // A monitor instance's random id (sdk/PROTOCOL.md "Peer identity"); optional for SDKs before it.
  inst: z
    .string()
    .regex(/^[\w-]{1,64}$/)
    .optional(),
  sdk: z.string().max(64),
  ua: z.string().max(512).optional(),
  meta: z.record(z.string().max(64), z.union([z.string().max(256), z.number(), z.boolean()])).optional(),
}) satisfies z.ZodType<HelloFrame>

export const statsSchema = z.strictObject({
  t: z.literal('stats'),
  pc: id,
  seq,
  ts,
  key: z.boolean().optional(),
  d: z.record(z.string().min(1).max(256), statsPatch),
  rm: z.array(z.string().max(256)).max(10_000).optional(),
  gap: z.number().int().min(0).max(0xffffffff).optional(),
  // A part of a frame sent in parts (collector/frame-parts.ts).
  more: z.literal(1).optional(),
}) satisfies z.ZodType<StatsFrame>

// Event data is free-form JSON, stored re-serialised: bound its nesting, since JSON.stringify recurses
// (a 64 KiB frame of `[[[[…` would overflow the stack) and nothing legitimate nests deeply.
const MAX_DEPTH = 16
function shallow(value: unknown): boolean {
  const stack: [unknown, number][] = [[value, 0]]
  while (stack.length > 0) {
    const [v, depth] = stack.pop() as [unknown, number]
    if (typeof v !== 'object' || v === null) continue
    if (depth >= MAX_DEPTH) return false
    for (const child of Object.values(v)) stack.push([child, depth + 1])
  }
  return true
}

export const eventSchema = z.strictObject({
  t: z.literal('event'),
  pc: id,
  seq,
  ts,
  name: z.string().min(1).max(128),
  data: z
    .record(z.string().max(256), z.unknown())
    .refine(shallow, `nested deeper than ${MAX_DEPTH} levels`)
    .optional(),
}) satisfies z.ZodType<EventFrame>

export const channelFrameSchema = z.discriminatedUnion('t', [
  statsSchema,
  eventSchema,
]) satisfies z.ZodType<ChannelFrame>
export const clientFrameSchema = z.discriminatedUnion('t', [
  helloSchema,
  statsSchema,
  eventSchema,
]) satisfies z.ZodType<ClientFrame>

export const ingestRequestSchema = z.strictObject({
  hello: helloSchema,
  frames: z.array(channelFrameSchema).max(10_000),
}) satisfies z.ZodType<IngestRequest>

// Stats frames are ~98% of traffic: checked by hand first (see isValidStatsFrame), zod for the rest.
const ID = /^[\x21-\x7e]{1,128}$/
const TOP = new Set(['t', 'pc', 'seq', 'ts', 'key', 'd', 'rm', 'gap', 'more'])

const plainObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function isStatValue(v: unknown): boolean {
  switch (typeof v) {
    case 'number':
      return Number.isFinite(v)
    case 'string':
      return v.length <= 4096
    case 'boolean':
      return true
    case 'object': {
      // qualityLimitationDurations and similar: a record of numbers with short keys.
      if (!plainObject(v)) return false
      for (const k in v) {
        const n = v[k]
        if (k.length > 64 || k === '__proto__' || typeof n !== 'number' || !Number.isFinite(n)) return false
      }
      return true
    }
    default:
      return false
  }
}

/**
 * The hot path's check of a stats frame, in place: true only when `statsSchema` would accept `raw`
 * unchanged (a property test holds the two together). It costs ~1 µs where zod costs ~26 µs and makes
 * no copy for the collector to collect; anything it does not recognise — including a `__proto__` key,
 * which zod drops rather than refuses — goes to zod, which decides and writes the error message.
 */
export function isValidStatsFrame(raw: unknown): raw is StatsFrame {
  if (!plainObject(raw)) return false
  for (const k in raw) if (!TOP.has(k)) return false
  const { t, pc, seq, ts, key, d, rm, gap, more } = raw
  if (t !== 'stats' || typeof pc !== 'string' || !ID.test(pc)) return false
  if (typeof seq !== 'number' || !Number.isSafeInteger(seq) || seq < 1) return false
  if (typeof ts !== 'number' || !Number.isFinite(ts) || ts < 0) return false
  if (key !== undefined && typeof key !== 'boolean') return false
  if (more !== undefined && more !== 1) return false
  if (gap !== undefined && (typeof gap !== 'number' || !Number.isInteger(gap) || gap < 0 || gap > 0xffffffff))
    return false
  if (rm !== undefined) {
    if (!Array.isArray(rm) || rm.length > 10_000) return false
    for (const id of rm) if (typeof id !== 'string' || id.length > 256) return false
  }
  if (!plainObject(d)) return false
  for (const id in d) {
    if (id.length === 0 || id.length > 256 || id === '__proto__') return false
    const patch = d[id]
    if (!plainObject(patch)) return false
    for (const k in patch) {
      if (k.length === 0 || k.length > 64 || k === '__proto__') return false
      const v = patch[k]
      if (v !== null && !isStatValue(v)) return false
    }
  }
  return true
}

export type ParseResult =
  | {
      ok: true
      frame: ClientFrame
      /** Values left out of a stats frame that was otherwise valid (see repairStatsFrame). */
      dropped?: string
    }
  | { ok: false; code: 'bad_json' | 'bad_frame' | 'unsupported_version'; message: string }

/** Parses and validates one text frame. Never throws; the message names the first offending path. */
export function parseClientFrame(text: string): ParseResult {
  let raw: unknown
  try {
    raw = JSON.parse(text)
  } catch (err) {
    return { ok: false, code: 'bad_json', message: (err as Error).message }
  }
  return validateClientFrame(raw)
}

/** Validates one parsed frame (a WebSocket message, or one frame of an HTTP ingest request). */
export function validateClientFrame(raw: unknown): ParseResult {
  if (isValidStatsFrame(raw)) return { ok: true, frame: raw }
  const res = clientFrameSchema.safeParse(raw)
  if (!res.success) {
    const repaired = repairStatsFrame(raw, res.error)
    if (repaired) return { ok: true, frame: repaired, dropped: describeIssue(res.error) }
    return { ok: false, code: 'bad_frame', message: describeIssue(res.error) }
  }
  if (res.data.t === 'hello' && res.data.v !== PROTOCOL_VERSION) {
    return {
      ok: false,
      code: 'unsupported_version',
      message: `protocol version ${res.data.v} is not supported; this collector speaks v${PROTOCOL_VERSION}`,
    }
  }
  return { ok: true, frame: res.data }
}

/**
 * A stats frame with a sound envelope (t, pc, seq, ts, key, gap) but values the schema refuses — a
 * string over 4 KiB, a field name over 64 characters, an array where a number was expected — is kept,
 * minus those values: a refused value becomes null (the field leaves the decoded state rather than
 * keeping a stale value), a refused field name or stats object leaves the frame. Refusing the whole
 * frame instead would stop its channel for good: the SDK cannot re-encode it, so every reconnect would
 * resend the same frame. Returns undefined when anything outside `d` and `rm` is wrong.
 */
export function repairStatsFrame(raw: unknown, error: z.ZodError): StatsFrame | undefined {
  if (!plainObject(raw) || raw.t !== 'stats' || !plainObject(raw.d)) return undefined
  const d = raw.d
  const rmDrop = new Set<number>()
  for (const issue of error.issues) {
    const [where, id, field] = issue.path
    if (where === 'rm' && typeof id === 'number') rmDrop.add(id)
    else if (where !== 'd' || typeof id !== 'string' || id === '__proto__') return undefined
    else if (field === undefined) delete d[id]
    else {
      const patch = d[id]
      if (!plainObject(patch) || typeof field !== 'string' || field === '__proto__') delete d[id]
      else if (issue.code === 'invalid_key' && issue.path.length === 3) delete patch[field]
      else patch[field] = null
    }
  }
  if (rmDrop.size > 0 && Array.isArray(raw.rm)) raw.rm = raw.rm.filter((_, i) => !rmDrop.has(i))
  const again = statsSchema.safeParse(raw)
  return again.success ? again.data : undefined
}

/**
 * Validates an HTTP ingest request: a hello and up to 10,000 channel frames, each checked (and repaired)
 * as on the WebSocket. One refused frame refuses the request, naming the frame.
 */
export function parseIngestRequest(
  body: unknown,
):
  | { ok: true; hello: HelloFrame; frames: { frame: ChannelFrame; dropped?: string }[] }
  | { ok: false; message: string } {
  const shape = ingestEnvelopeSchema.safeParse(body)
  if (!shape.success) return { ok: false, message: describeIssue(shape.error) }
  const hello = helloSchema.safeParse(shape.data.hello)
  if (!hello.success) return { ok: false, message: `hello.${describeIssue(hello.error)}` }
  const frames: { frame: ChannelFrame; dropped?: string }[] = []
  for (const [i, raw] of shape.data.frames.entries()) {
    const res = validateClientFrame(raw)
    if (!res.ok) return { ok: false, message: `frames.${i}.${res.message}` }
    if (res.frame.t === 'hello') return { ok: false, message: `frames.${i}: hello inside frames` }
    frames.push(res.dropped ? { frame: res.frame, dropped: res.dropped } : { frame: res.frame })
  }
  return { ok: true, hello: hello.data, frames }
}

const ingestEnvelopeSchema = z.strictObject({ hello: z.unknown(), frames: z.array(z.unknown()).max(10_000) })

/** One line naming the first issue and its path, e.g. `seq: expected number, received string`. */
export function describeIssue(error: z.ZodError): string {
  const first = error.issues[0]
  if (!first) return 'invalid frame'
  const path = first.path.length ? first.path.join('.') : '(frame)'
  return `${path}: ${first.message}`
}
