// Outbound loss when the far end's report has no fractionLost (Chrome 86, test/fixtures/dumps): the
// newly reported packetsLost of remote-inbound-rtp over them plus the packets sent in the same interval.
import { describe, expect, it } from 'vitest'
import type { Derived, StreamMetrics } from '../../core/derive.ts'
import { reportSequence } from '../helpers/reports.ts'
import type { Stat } from '../helpers/reports.ts'
import { deriveAll } from '../helpers/derive-series.ts'

const outVideo = (d: Derived | undefined): StreamMetrics => {
  const s = d?.streams.find((x) => x.direction === 'outbound' && x.kind === 'video')
  if (!s) throw new Error('no outbound video')
  return s
}

/** The sender fixture (120 video packets sent per second) whose far end reports `lost(i)` in total. */
function withRemoteLoss(lost: (i: number) => number, fraction?: number): Stat[][] {
  return reportSequence('sender', 3, {}, (i, stats) => {
    const remote = stats.find((s) => s.type === 'remote-inbound-rtp' && s.kind === 'video') as Stat
    delete remote.fractionLost
    if (fraction !== undefined) remote.fractionLost = fraction
    remote.packetsLost = lost(i)
  })
}

describe('outbound loss from remote-inbound-rtp', () => {
  it('uses packetsLost deltas when the report has no fractionLost', () => {
    const d = deriveAll(withRemoteLoss((i) => 6 * i))
    expect(outVideo(d[2]).packets_lost).toBe(6)
    expect(outVideo(d[2]).loss_ratio).toBeCloseTo(6 / 126, 4)
    // The first second has no previous report: no delta, no loss figure.
    expect(outVideo(d[0]).loss_ratio).toBeNull()
  })

  it('reads no new loss between receiver reports as none', () => {
    expect(outVideo(deriveAll(withRemoteLoss(() => 4))[2]).loss_ratio).toBe(0)
  })

  it("prefers the receiver's own fractionLost when it is reported", () => {
    expect(outVideo(deriveAll(withRemoteLoss((i) => 6 * i, 0.01))[2]).loss_ratio).toBe(0.01)
  })
})
