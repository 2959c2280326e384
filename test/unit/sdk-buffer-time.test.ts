// The resend buffer is sized in time (issue 17): a collector outage of 2 minutes must lose nothing
// whatever the number of streams, where a fixed 1 MiB held 555 s of frames at 1 remote participant but
// 14 s at 50. Within the app's byte ceiling (maxBufferBytes) the outbox keeps the last 2 minutes of frames,
// and more while they fit in 1 MiB; what it drops goes oldest first and shows as a `gap` on the priming
// keyframe of the next connection, never silently.
import { describe, expect, it } from 'vitest'
import { readReport } from '../../core/delta.ts'
import { createOutbox } from '../../sdk/src/outbox.ts'
import type { ChannelFrame } from '../../core/protocol.ts'
import { asReport } from '../helpers/reports.ts'
import type { Stat } from '../helpers/reports.ts'
import { sfuReports } from '../helpers/sfu-reports.ts'

const parse = (texts: string[]): ChannelFrame[] => texts.map((t) => JSON.parse(t) as ChannelFrame)

/** Polls `reports` into one receiving pc without any acknowledgement (the collector is away). */
function outage(
  reports: Stat[][],
  maxBytes: number,
): { box: ReturnType<typeof createOutbox>; dropped: number } {
  let dropped = 0
  const box = createOutbox(maxBytes, Infinity, (n) => (dropped += n))
  for (const r of reports) box.stats('recv', ...readReport(asReport(r)))
  return {
    box,
    get dropped() {
      return dropped
    },
  }
}

describe('resend buffer sized in time', () => {
  const many = sfuReports(100, 150)

  it('keeps the last 2 minutes of frames at 100 remote participants, the older ones reported as a gap', () => {
    const { box, dropped } = outage(many, 1 << 25)
    // Frames 30..150: report times within 120 s of the newest (the oldest one exactly 120 s older).
    expect(box.size).toBe(121)
    expect(dropped).toBe(29)
    // The priming keyframe (in parts: it is the state of 100 participants), then the frames kept.
    const frames = parse(box.resume({}))
    const primer = frames.filter((f) => f.seq == 29)
    const rest = frames.filter((f) => f.seq != 29)
    expect(primer.at(-1)).toMatchObject({ t: 'stats', seq: 29, key: true, gap: 28 })
    expect(rest.map((f) => f.seq)).toEqual(Array.from({ length: 121 }, (_, i) => 30 + i))
    // Well over a fixed 1 MiB: the old bound would have kept a fraction of this.
    expect(rest.reduce((n, f) => n + JSON.stringify(f).length, 0)).toBeGreaterThan(2 << 20)
  })

  it('keeps more than 2 minutes while the frames fit in 1 MiB', () => {
    const one = sfuReports(1, 300)
    const { box, dropped } = outage(one, 1 << 25)
    expect(dropped).toBe(0)
    expect(box.size).toBe(300)
  })

  it('never holds more than the ceiling the app set, dropping the oldest first', () => {
    const ceiling = 2 << 20
    const { box, dropped } = outage(many, ceiling)
    expect(box.size + dropped).toBe(150)
    expect(box.size).toBeLessThan(121)
    const texts = box.resume({})
    const rest = texts.filter((t) => (JSON.parse(t) as ChannelFrame).seq > dropped)
    expect(rest.length).toBe(box.size)
    expect(rest.reduce((n, t) => n + t.length, 0)).toBeLessThanOrEqual(ceiling)
    expect(JSON.parse(texts[0] ?? '{}')).toMatchObject({ seq: dropped, gap: dropped - 1 })
  })
})
