// Guards invariant 2's first line of defence: every frame is validated, and a bad one is named precisely.
import { describe, expect, it } from 'vitest'
import { parseClientFrame } from '../../collector/protocol.ts'

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
