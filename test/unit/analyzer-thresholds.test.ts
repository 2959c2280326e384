// The MOS prefilter's bounds (analyzer/thresholds.ts) must be safe: a second inside all of them cannot
// score below LOW_MOS for any codec at LOW_CODEC_RATE_BPS or above, or the analyzer, which reads only
// flagged seconds, would miss a low_mos episode the detector would find. The E-model is monotonic in
// each input (worse with loss and delay, better with rate), so the corner of the box is the worst case.
import { describe, expect, it } from 'vitest'
import { eModel, oneWayDelayMs } from '../../analyzer/score.ts'
import {
  HIGH_JITTER_MS,
  LOW_CODEC_RATE_BPS,
  LOW_MOS,
  MOS_RISK_DELAY_MS,
  MOS_RISK_LOSS,
} from '../../analyzer/thresholds.ts'

const CODECS = ['opus', 'PCMU', 'PCMA', 'G722', 'ISAC', '']

describe('MOS prefilter bounds', () => {
  it('keep every unflagged second at or above LOW_MOS', () => {
    let worst = Infinity
    for (const codec of CODECS)
      for (const bitrateBps of [LOW_CODEC_RATE_BPS, 16_000, 32_000, null])
        // The corner reached two ways: a measured jitter buffer, or the estimate from HIGH_JITTER_MS.
        for (const [jbMs, jitterMs] of [
          [MOS_RISK_DELAY_MS - 20, 0],
          [null, HIGH_JITTER_MS],
        ] as const) {
          const rttMs = 2 * (MOS_RISK_DELAY_MS - oneWayDelayMs(jbMs, jitterMs, 0))
          expect(oneWayDelayMs(jbMs, jitterMs, rttMs)).toBeCloseTo(MOS_RISK_DELAY_MS, 9)
          const { mos } = eModel({ codec, bitrateBps, rttMs, jbMs, jitterMs, loss: MOS_RISK_LOSS })
          worst = Math.min(worst, mos)
        }
    expect(worst).toBeGreaterThanOrEqual(LOW_MOS)
    // The margin SCORING.md and thresholds.ts state.
    expect(worst).toBeCloseTo(3.6, 2)
  })

  it('are not loose: at the delay bound, 2% loss takes the worst codec under LOW_MOS', () => {
    const { mos } = eModel({
      codec: '',
      bitrateBps: LOW_CODEC_RATE_BPS,
      rttMs: 0,
      jbMs: MOS_RISK_DELAY_MS - 20,
      jitterMs: null,
      loss: 2 * MOS_RISK_LOSS,
    })
    expect(mos).toBeLessThan(LOW_MOS)
  })
})
