// Seeded generator of hostile stream connections for the fuzz test: malformed JSON, truncated frames,
// binary and invalid UTF-8 messages, wrong types, unknown fields, extreme values, out-of-order and
// duplicate sequence numbers, frames before hello, repeated hellos, bad tokens, oversize frames and
// floods. Deterministic per seed: choices come from a mulberry32 PRNG, random JSON values and strings
// from fast-check samples drawn with the same seed.
import fc from 'fast-check'
import { reportSequence } from '../helpers/reports.ts'
import { prng } from '../helpers/prng.ts'
import { helloFor, statsFrames } from '../helpers/stream-client.ts'

export type Message = string | { binary: Buffer } | { invalidUtf8: Buffer }

export interface FuzzConnection {
  /** Messages in order; the first is usually a hello. */
  messages: Message[]
  /** Wait for `welcome` before the rest (otherwise they queue behind the hello). */
  waitWelcome: boolean
  /** What the script is about, for the tally. */
  kind: 'fuzz' | 'flood' | 'no-hello' | 'bad-token'
}

export interface FuzzOptions {
  seed: number
  maxFrameBytes: number
  app: string
}

/** Creates a generator; `next()` returns one scripted connection of about `frames` messages. */
export function createFuzzer(o: FuzzOptions): { next(frames: number): FuzzConnection } {
  const rnd = prng(o.seed)
  const int = (n: number): number => Math.floor(rnd() * n)
  const pick = <T>(xs: readonly T[]): T => xs[int(xs.length)] as T
  const json = fc.sample(fc.jsonValue({ maxDepth: 3 }), { seed: o.seed, numRuns: 400 })
  const strings = fc.sample(fc.string({ unit: 'binary', maxLength: 80 }), { seed: o.seed + 1, numRuns: 400 })
  const extremes: unknown[] = [
    -1,
    0,
    0.5,
    1e308,
    -1e308,
    2 ** 53,
    2 ** 64,
    -(2 ** 63),
    '',
    ' ',
    'x'.repeat(5000),
    'é\u0000\u2028',
    true,
    null,
    [],
    {},
    [1, 2, 3],
    JSON.parse('{"__proto__":{"polluted":1}}') as unknown,
    { constructor: { prototype: { polluted: 1 } } },
  ]
  const values = [...json, ...strings, ...extremes]
  const stats = {
    sender: statsFrames('pc', reportSequence('sender', 6)),
    receiver: statsFrames('pc', reportSequence('receiver', 6)),
  }
  let connections = 0

  // A frame that passes validation: a keyframe, a delta or an event of channel `pc` at `seq`.
  const valid = (pc: string, seq: number, key: boolean): Record<string, unknown> => {
    if (rnd() < 0.3) {
      return {
        t: 'event',
        pc,
        seq,
        ts: Date.now(),
        name: pick(['custom.x', 'connectionstatechange']),
        data: { n: seq },
      }
    }
    const series = pick([stats.sender, stats.receiver])
    const f = key ? series[0] : series[1 + int(series.length - 1)]
    return { ...f, pc, seq }
  }

  // Replaces, deletes or adds one field somewhere in `frame` (up to three levels down).
  const mutate = (frame: Record<string, unknown>): Record<string, unknown> => {
    const copy = structuredClone(frame)
    let obj: Record<string, unknown> = copy
    for (let depth = 0; depth < 3; depth++) {
      const keys = Object.keys(obj)
      const k = pick(keys)
      const child = obj[k]
      if (depth < 2 && child && typeof child === 'object' && !Array.isArray(child) && rnd() < 0.5) {
        obj = child as Record<string, unknown>
        continue
      }
      const r = rnd()
      if (r < 0.6) obj[k] = pick(values)
      else if (r < 0.8) delete obj[k]
      else obj[pick(['extra', 'T', 'seq ', '__proto__', 'constructor', 'x'.repeat(300)])] = pick(values)
      break
    }
    return copy
  }

  // Valid shape, hostile content: extreme numbers in stats fields, long strings, many channels.
  const hostile = (pc: string, seq: number): Record<string, unknown> => {
    const f = valid(pc, seq, true)
    if (f.t !== 'stats') return { ...f, ts: pick([0, 1, 1e15, 8.64e15, Date.now() + 1e11]) }
    const d = structuredClone(f.d) as Record<string, Record<string, unknown>>
    // Long strings (up to the 4096 the schema allows), a few per frame so the frame stays under the limit.
    let long = 3
    for (const obj of Object.values(d)) {
      for (const k of Object.keys(obj)) {
        const r = rnd()
        if (r < 0.15) obj[k] = pick([-1, 1e308, -1e308, 2 ** 64, 0.5, 70000, -(2 ** 40)])
        else if (r < 0.2 && long-- > 0) obj[k] = 'y'.repeat(int(4096))
      }
    }
    return { ...f, d, ts: pick([f.ts, 0, 1e15, Date.now() - 1e12]), gap: pick([undefined, 0, 2 ** 32 - 1]) }
  }

  return {
    next(frames) {
      const i = connections++
      const kindRoll = rnd()
      // Shared identities across connections: a newer connection supersedes an older one of the same peer.
      const hello = helloFor(`f-${i % 40}`, { app: o.app, peer: `p${i % 5}` })
      if (kindRoll < 0.01) {
        // Flood: far over the frame rate (the collector closes with 4029).
        const messages: Message[] = [JSON.stringify(hello)]
        for (let s = 1; s <= 3000; s++)
          messages.push(JSON.stringify({ t: 'event', pc: 'flood', seq: s, ts: Date.now(), name: 'x' }))
        return { messages, waitWelcome: true, kind: 'flood' }
      }
      if (kindRoll < 0.04) {
        // In dev mode a token is optional, but one that is given must verify (4001).
        return {
          messages: [JSON.stringify({ ...hello, token: pick(['x', 'a.b.c', String(pick(strings))]) }), '{}'],
          waitWelcome: false,
          kind: 'bad-token',
        }
      }
      const messages: Message[] = []
      const noHello = kindRoll < 0.08
      if (!noHello) messages.push(JSON.stringify(hello))
      const seqs = new Map<string, number>()
      for (let n = 0; n < frames; n++) {
        const pc = rnd() < 0.9 ? `pc${int(3)}` : `pc${int(40)}`
        const last = seqs.get(pc) ?? 0
        const r = rnd()
        if (r < 0.25) {
          // In order (stored, once the channel has its keyframe).
          seqs.set(pc, last + 1)
          messages.push(JSON.stringify(valid(pc, last + 1, last === 0 || rnd() < 0.1)))
        } else if (r < 0.4) {
          // Out of order: regressions, duplicates, gaps, deltas without a keyframe, gaps claimed.
          const seq = pick([last, Math.max(0, last - 1 - int(5)), last + 2 + int(100), 1, 0])
          const f = valid(pc, seq, rnd() < 0.3)
          if (rnd() < 0.2) f.gap = int(5)
          messages.push(JSON.stringify(f))
        } else if (r < 0.6) {
          messages.push(JSON.stringify(mutate(valid(pc, last + 1, rnd() < 0.5))))
        } else if (r < 0.7) {
          seqs.set(pc, last + 1)
          messages.push(JSON.stringify(hostile(pc, last + 1)))
        } else if (r < 0.8) {
          const v = pick(values)
          messages.push(rnd() < 0.5 ? JSON.stringify(v) : String(pick(strings)))
        } else if (r < 0.9) {
          const text = JSON.stringify(valid(pc, last + 1, true))
          messages.push(text.slice(0, 1 + int(text.length - 1)))
        } else if (r < 0.95) {
          messages.push({ binary: Buffer.from(Array.from({ length: 1 + int(64) }, () => int(256))) })
        } else {
          // Repeated hello, hello with another version, deeply nested data.
          messages.push(
            pick([
              JSON.stringify(hello),
              JSON.stringify({ ...hello, v: 1, app: 'other app' }),
              `{"t":"event","pc":"pc0","seq":1,"ts":1,"name":"deep","data":{"a":${'['.repeat(20_000)}${']'.repeat(20_000)}}}`,
            ]),
          )
        }
      }
      // At most one message that ends the connection, last.
      const end = rnd()
      if (end < 0.04)
        messages.push(
          JSON.stringify({
            t: 'event',
            pc: 'pc0',
            seq: 1e6,
            ts: 1,
            name: 'big',
            data: { x: 'x'.repeat(o.maxFrameBytes) },
          }),
        )
      else if (end < 0.07) messages.push({ invalidUtf8: Buffer.from([0x7b, 0xff, 0xfe, 0x7d]) })
      else if (end < 0.1) messages.push(JSON.stringify({ ...hello, v: 2 }))
      return { messages, waitWelcome: rnd() < 0.5, kind: noHello ? 'no-hello' : 'fuzz' }
    },
  }
}
