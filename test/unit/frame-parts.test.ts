// No frame the SDK sends may near the collector's frame limit (256 KiB), whatever the number of streams in
// a peer connection: past it the collector closes with 1009, which is final for the SDK. A stats frame over
// `cut` JSON characters is therefore sent in parts that the collector joins back into exactly the frame
// that was cut (sdk/PROTOCOL.md "Parts"). Guarded here: the parts are small, they join to the same frame,
// and parts that cannot be joined are refused once, never stored as a partial frame.
import { describe, expect, it } from 'vitest'
import { createFrameParts } from '../../collector/frame-parts.ts'
import type { Received } from '../../collector/frame-parts.ts'
import { validateClientFrame } from '../../collector/protocol.ts'
import { applyDelta, readReport } from '../../core/delta.ts'
import type { StatsState } from '../../core/delta.ts'
import { createOutbox, frameTexts } from '../../sdk/src/outbox.ts'
import type { ChannelFrame, StatsFrame } from '../../core/protocol.ts'
import { asReport } from '../helpers/reports.ts'
import { sfuReports } from '../helpers/sfu-reports.ts'

const LIMIT = 256 * 1024
const received = (text: string): Received => {
  const r = validateClientFrame(JSON.parse(text))
  if (!r.ok || r.frame.t === 'hello') throw new Error(`refused: ${text.slice(0, 100)}`)
  return { frame: r.frame, text }
}

/** Joins `texts` as the collector does; returns the whole frames and the failures reported. */
function join(texts: string[], maxBytes = 8 * LIMIT): { frames: ChannelFrame[]; failures: string[] } {
  const failures: string[] = []
  const parts = createFrameParts(maxBytes, (code, message) => failures.push(`${code}: ${message}`))
  const frames: ChannelFrame[] = []
  for (const t of texts) {
    const whole = parts(received(t))
    if (whole) frames.push(whole.frame)
  }
  return { frames, failures }
}

describe('frameTexts', () => {
  it('sends a small frame whole', () => {
    const f: StatsFrame = { t: 'stats', pc: 'a', seq: 1, ts: 1, key: true, d: { x: { v: 1 } } }
    expect(frameTexts(f)).toEqual([JSON.stringify(f)])
  })

  it('cuts a keyframe of 100 remote participants into parts far under the frame limit, joined back whole', () => {
    const [state, ts] = readReport(asReport(sfuReports(100, 1)[0] ?? []))
    const f: StatsFrame = {
      t: 'stats',
      pc: 'recv',
      seq: 7,
      ts,
      key: true,
      d: Object.fromEntries(state),
      gap: 2,
    }
    expect(JSON.stringify(f).length).toBeGreaterThan(LIMIT) // whole, the collector would close with 1009
    const texts = frameTexts(f)
    expect(texts.length).toBeGreaterThan(4)
    for (const t of texts) expect(Buffer.byteLength(t)).toBeLessThan(LIMIT / 2)
    const parsed = texts.map((t) => JSON.parse(t) as StatsFrame)
    expect(parsed.map((p) => p.more)).toEqual([...parsed.slice(1).map(() => 1), undefined])
    expect(new Set(parsed.map((p) => p.seq))).toEqual(new Set([7]))
    const { frames, failures } = join(texts)
    expect(failures).toEqual([])
    expect(frames).toEqual([f])
  })
})

describe('createFrameParts', () => {
  const big = (seq: number): string[] => {
    const d: StatsFrame['d'] = {}
    for (let i = 0; i < 40; i++) d[`o${i}`] = { bytesReceived: i, codecId: 'x'.repeat(100) }
    return frameTexts({ t: 'stats', pc: 'a', seq, ts: seq * 1000, key: true, d }, 1000)
  }

  it('passes frames that are no part through untouched', () => {
    const r = received('{"t":"event","pc":"a","seq":1,"ts":1,"name":"x"}')
    const parts = createFrameParts(LIMIT, () => {})
    expect(parts(r)).toBe(r)
  })

  it('refuses parts over the bound once and stores nothing of their frame', () => {
    const texts = big(1)
    const { frames, failures } = join([...texts, ...big(2)], 2000)
    expect(failures.length).toBe(2)
    expect(failures[0]).toMatch(/^frame_too_large: parts of seq 1/)
    expect(frames).toEqual([])
  })

  it('discards parts cut short by another seq of their channel and handles that frame', () => {
    const first = big(1)
    const { frames, failures } = join([...first.slice(0, 2), ...big(2)])
    expect(failures).toEqual(['seq_gap: parts of seq 1 ended without their last part'])
    expect(frames.map((f) => f.seq)).toEqual([2])
  })

  it('joins parts of two channels interleaved', () => {
    const a = big(1)
    const b = big(1).map((t) => t.replace('"pc":"a"', '"pc":"b"'))
    const mixed = a.flatMap((t, i) => [t, b[i] as string])
    const { frames, failures } = join(mixed)
    expect(failures).toEqual([])
    expect(frames.map((f) => f.pc)).toEqual(['a', 'b'])
  })
})

describe('createOutbox with parts', () => {
  it('primes a resume of 100 remote participants in parts that decode to the base', () => {
    const reports = sfuReports(100, 3)
    const box = createOutbox(Infinity, Infinity, () => {})
    for (const r of reports) box.stats('recv', ...readReport(asReport(r)))
    box.resume({})
    // Two frames stored: the priming keyframe of the next connection is the state after the second.
    const texts = box.resume({ recv: 2 })
    for (const t of texts) expect(Buffer.byteLength(t)).toBeLessThan(LIMIT / 2)
    const { frames, failures } = join(texts)
    expect(failures).toEqual([])
    expect(frames.map((f) => f.seq)).toEqual([2, 3])
    let state: StatsState = new Map()
    for (const f of frames) if (f.t === 'stats') state = applyDelta(state, f)
    expect(state).toEqual(readReport(asReport(reports[2] ?? []))[0])
  })
})
