// Guards invariant 2's first line of defence: every frame is validated, and a bad one is named precisely.
import { describe, expect, it } from 'vitest'
import fc from 'fast-check'
import { isValidStatsFrame, parseClientFrame, statsSchema } from '../../collector/protocol.ts'

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
    [JSON.stringify({ ...stats, d: { a: { x: [1, 2] } } }), 'bad_frame', /^d\.a\.x/],
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
      seq: fc.nat(),
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
