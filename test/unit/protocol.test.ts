// Guards invariant 2's first line of defence: every frame is validated, and a bad one is named precisely.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import {
  isValidStatsFrame,
  parseClientFrame,
  parseIngestRequest,
  statsSchema,
} from '../../collector/protocol.ts'

const hello = { t: 'hello', v: 1, app: 'demo', session: 's1', peer: 'p1', sdk: 'test/1' }
const stats = {
  t: 'stats',
  pc: 'pc1',
  seq: 1,
  ts: 1_700_000_000_000,
  key: true,
  d: { a: { type: 'codec', x: 1 } },
}

describe('parseClientFrame', () => {
  it('accepts hello, stats and event frames', () => {
    expect(parseClientFrame(JSON.stringify(hello))).toMatchObject({ ok: true, frame: { t: 'hello' } })
    expect(parseClientFrame(JSON.stringify(stats))).toMatchObject({ ok: true, frame: { t: 'stats', seq: 1 } })
    const ev = { t: 'event', pc: '_', seq: 3, ts: 1, name: 'custom.x', data: { a: [1] } }
    expect(parseClientFrame(JSON.stringify(ev))).toMatchObject({ ok: true })
  })

  it.each([
    ['{not json', 'bad_json', /JSON|Unexpected|Expected/],
    [JSON.stringify({ t: 'nope' }), 'bad_frame', /t:/],
    [JSON.stringify({ ...stats, seq: 'one' }), 'bad_frame', /^seq:/],
    [JSON.stringify({ ...stats, seq: -1 }), 'bad_frame', /^seq:/],
    [JSON.stringify({ ...stats, seq: 0 }), 'bad_frame', /^seq:/],
    [JSON.stringify({ ...stats, d: [1, 2] }), 'bad_frame', /^d: /],
    [JSON.stringify({ ...stats, extra: 1 }), 'bad_frame', /extra/],
    [JSON.stringify({ ...hello, app: 'has space' }), 'bad_frame', /^app:/],
    [JSON.stringify({ ...hello, v: 2 }), 'unsupported_version', /version 2 is not supported/],
  ])('refuses %s with %s', (text, code, message) => {
    const r = parseClientFrame(text)
    expect(r.ok).toBe(false)
    if (!r.ok) {
      expect(r.code).toBe(code)
      expect(r.message).toMatch(message)
    }
  })
})

// The collector checks stats frames by hand before zod (isValidStatsFrame). The two must agree: the
// fast check may send a frame on to zod, but whatever it accepts zod must accept, unchanged.
describe('isValidStatsFrame agrees with statsSchema', () => {
  // Objects as JSON.parse makes them (fast-check also makes null-prototype ones by default).
  const plain = { noNullPrototype: true }
  const key = fc.oneof(
    fc.constantFrom('bytesSent', 'qualityLimitationDurations', 'type', '__proto__', '', 'x'.repeat(65)),
    fc.string({ maxLength: 70 }),
  )
  const value = fc.oneof(
    fc.double(),
    fc.integer(),
    fc.string({ maxLength: 20 }),
    fc.constant('s'.repeat(4097)),
    fc.boolean(),
    fc.constant(null),
    fc.dictionary(
      key,
      fc.oneof(fc.double(), fc.constantFrom(Infinity, NaN), fc.string({ maxLength: 3 })),
      plain,
    ),
    fc.array(fc.integer(), { maxLength: 2 }),
    fc.constant(undefined),
  )
  const id = fc.oneof(fc.constantFrom('pc1', 'RTCInboundRTPVideoStream_1', 'has space', '', 'é'), fc.string())
  const patch = fc.dictionary(key, value, { ...plain, maxKeys: 6 })
  const valid = fc.record(
    {
      t: fc.constant('stats'),
      pc: fc.constantFrom('pc1', 'p-2', '~'),
      seq: fc.integer({ min: 1, max: Number.MAX_SAFE_INTEGER }),
      ts: fc.double({ min: 0, max: 2e12, noNaN: true }),
      key: fc.boolean(),
      d: fc.dictionary(
        fc.constantFrom('a', 'OT01V123', 'CIT01_111_a=b'),
        fc.dictionary(
          fc.constantFrom('bytesSent', 'kind', 'q'),
          fc.oneof(fc.nat(), fc.constant(null)),
          plain,
        ),
        plain,
      ),
      rm: fc.array(fc.constantFrom('a', 'b'), { maxLength: 3 }),
      gap: fc.nat({ max: 10 }),
    },
    { requiredKeys: ['t', 'pc', 'seq', 'ts', 'd'] },
  )
  // Well-formed frames with zero to two fields replaced by something odd (wrong type, out of range,
  // odd keys deep inside `d`), so both sides of the check are reached.
  const oddField = fc.oneof(
    fc.record({ t: fc.constantFrom('event', 'hello', 1) }),
    fc.record({ pc: fc.oneof(id, fc.integer()) }),
    fc.record({
      seq: fc.oneof(
        fc.integer({ min: -2 }),
        fc.double(),
        fc.constant(Number.MAX_SAFE_INTEGER + 2),
        fc.string(),
      ),
    }),
    fc.record({ ts: fc.oneof(fc.double(), fc.string()) }),
    fc.record({ key: fc.oneof(fc.boolean(), fc.integer(), fc.constant(undefined)) }),
    fc.record({
      d: fc.oneof(
        fc.dictionary(fc.oneof(id, key), fc.oneof(patch, value), plain),
        fc.array(patch),
        fc.constant(null),
      ),
    }),
    fc.record({ d: fc.dictionary(fc.constantFrom('a', 'b'), patch, { ...plain, maxKeys: 2 }) }),
    fc.record({ rm: fc.oneof(fc.array(fc.oneof(fc.string(), fc.integer()), { maxLength: 3 }), fc.string()) }),
    fc.record({ gap: fc.oneof(fc.integer({ min: -1, max: 2 ** 33 }), fc.double()) }),
    fc.record({ extra: value }),
  )
  const anything = fc
    .tuple(valid, fc.array(oddField, { maxLength: 2 }))
    .map(([frame, odd]) => Object.assign({}, frame, ...odd) as unknown)

  it('accepts well-formed frames, as zod does', () => {
    fc.assert(
      fc.property(valid, (frame) => {
        expect(isValidStatsFrame(frame)).toBe(true)
        expect(statsSchema.safeParse(frame).success).toBe(true)
      }),
      { numRuns: 2_000, seed: 7 },
    )
  })

  it('accepts nothing zod would refuse or change (also after a JSON round trip)', () => {
    let accepted = 0
    fc.assert(
      fc.property(anything, (candidate) => {
        for (const frame of [candidate, JSON.parse(JSON.stringify(candidate)) as unknown]) {
          if (!isValidStatsFrame(frame)) continue
          accepted++
          const res = statsSchema.safeParse(frame)
          expect(res.success).toBe(true)
          expect(res.data).toStrictEqual(frame)
        }
      }),
      { numRuns: 20_000, seed: 11 },
    )
    // The generator must reach the accepting side too, or this property says nothing.
    expect(accepted).toBeGreaterThan(50)
  })
})

describe('stats frames with refused values', () => {
  const frame = (d: Record<string, unknown>, extra: Record<string, unknown> = {}): string =>
    JSON.stringify({ t: 'stats', pc: 'pc1', seq: 4, ts: 1, d, ...extra })

  it('keeps the frame: refused values become null, refused names and objects leave it', () => {
    const r = parseClientFrame(
      frame(
        {
          a: { bytesSent: 5, long: 'x'.repeat(4097), arr: [1], ['k'.repeat(65)]: 1, q: { ok: 1, bad: 'no' } },
          ['i'.repeat(257)]: { type: 'codec' },
          b: 7,
          c: { type: 'codec' },
        },
        { rm: ['gone', 5] },
      ),
    )
    expect(r).toMatchObject({ ok: true, dropped: expect.stringMatching(/^d\.a\.long: /) as unknown })
    if (!r.ok) return
    expect(r.frame).toEqual({
      t: 'stats',
      pc: 'pc1',
      seq: 4,
      ts: 1,
      d: { a: { bytesSent: 5, long: null, arr: null, q: null }, c: { type: 'codec' } },
      rm: ['gone'],
    })
    expect(statsSchema.safeParse(r.frame).success).toBe(true)
  })

  it('refuses the frame when its envelope is wrong, whatever else is', () => {
    for (const extra of [
      { seq: -1 },
      { pc: 'has space' },
      { ts: 'now' },
      { gap: 1.5 },
      { key: 1 },
      { x: 1 },
    ]) {
      expect(parseClientFrame(frame({ a: { long: 'x'.repeat(5000) } }, extra))).toMatchObject({
        ok: false,
        code: 'bad_frame',
      })
    }
    expect(parseClientFrame(JSON.stringify({ t: 'stats', pc: 'pc1', seq: 1, ts: 1, d: [] }))).toMatchObject({
      ok: false,
    })
  })

  it('never lets __proto__ through a repair', () => {
    const r = parseClientFrame(
      '{"t":"stats","pc":"p","seq":1,"ts":1,"d":{"a":{"__proto__":{"x":1},"s":[1]}}}',
    )
    expect(r.ok).toBe(true)
    if (!r.ok || r.frame.t !== 'stats') return
    expect(Object.getPrototypeOf(r.frame.d.a)).toBe(Object.prototype)
    expect(Object.keys(r.frame.d.a ?? {})).toEqual(['s'])
  })

  it('checks HTTP ingest requests frame by frame, with the same repair', () => {
    const hello = { t: 'hello', v: 1, app: 'demo', session: 's1', peer: 'p1', sdk: 'test/1' }
    const good = { t: 'stats', pc: 'pc1', seq: 1, ts: 1, key: true, d: { a: { x: 1 } } }
    const odd = { t: 'stats', pc: 'pc1', seq: 2, ts: 2, d: { a: { x: 'y'.repeat(5000) } } }
    const r = parseIngestRequest({ hello, frames: [good, odd] })
    expect(r).toMatchObject({
      ok: true,
      frames: [{ frame: good }, { frame: { seq: 2, d: { a: { x: null } } } }],
    })
    if (r.ok) expect(r.frames[1]?.dropped).toMatch(/^d\.a\.x: /)
    expect(parseIngestRequest({ hello, frames: [good, { ...good, seq: 'x' }] })).toEqual({
      ok: false,
      message: expect.stringMatching(/^frames\.1\.seq: /) as unknown,
    })
    expect(parseIngestRequest({ hello: { ...hello, app: '' }, frames: [] })).toMatchObject({
      ok: false,
      message: expect.stringMatching(/^hello\.app: /) as unknown,
    })
    expect(parseIngestRequest({ hello, frames: [hello] })).toMatchObject({ ok: false })
    expect(parseIngestRequest({ hello, frames: [], extra: 1 })).toMatchObject({ ok: false })
  })
})
