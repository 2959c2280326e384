// Every scoring formula against values computed by hand (analyzer/SCORING.md). The E-model cases are the
// ones issue 4 requires; the delay term guards against the widely copied precedence bug 0.1·d − 150.
import { describe, expect, it } from 'vitest'
import {
  PENALTY_CAPS,
  delayImpairment,
  eModel,
  equipmentImpairment,
  mosFromR,
  mosToScore,
  overallScore,
  targetBitrateBps,
  videoPenalties,
  videoScore,
} from '../../analyzer/score.ts'
import type { VideoInputs } from '../../analyzer/score.ts'

describe('eModel', () => {
  it('gives about 4.3 for RTT 50 ms, jitter 5 ms, no loss, 40 ms buffer', () => {
    // d = 20 + 40 + 50/2 = 85; Id = 0.03·85 = 2.55; Ie = 0 (Opus 32 kbps); R = 93.2 − 2.55 = 90.65
    // MOS = 1 + 0.035·90.65 + 7e-6·90.65·30.65·9.35 = 1 + 3.17275 + 0.181848 = 4.354598
    const m = eModel({ codec: 'opus', bitrateBps: 32_000, rttMs: 50, jitterMs: 5, loss: 0, jbMs: 40 })
    expect(m.d).toBe(85)
    expect(m.id).toBeCloseTo(2.55, 10)
    expect(m.ieEff).toBe(0)
    expect(m.r).toBeCloseTo(90.65, 10)
    expect(m.mos).toBeCloseTo(4.354598, 5)
    expect(Math.abs(m.mos - 4.3)).toBeLessThan(0.1)
  })

  it('gives about 1.1 for RTT 600 ms, jitter 50 ms, 10% loss, 150 ms buffer', () => {
    // d = 20 + 150 + 300 = 470; Id = 0.03·470 + 0.1·(470 − 150) = 14.1 + 32 = 46.1
    // Opus uses in-band FEC: Bpl = 20; Ie,eff = 0 + 100·10/(10 + 20) = 33.333…
    // R = 93.2 − 46.1 − 33.333 = 13.7667; MOS = 1 + 0.481833 − 7e-6·13.7667·46.2333·86.2333 = 1.097631
    const m = eModel({ codec: 'opus', bitrateBps: 32_000, rttMs: 600, jitterMs: 50, loss: 0.1, jbMs: 150 })
    expect(m.d).toBe(470)
    expect(m.id).toBeCloseTo(46.1, 10)
    expect(m.bpl).toBe(20)
    expect(m.ieEff).toBeCloseTo(100 / 3, 10)
    expect(m.r).toBeCloseTo(13.766667, 5)
    expect(m.mos).toBeCloseTo(1.097631, 5)
  })

  it('uses Bpl 10 without FEC', () => {
    // Ie,eff = 100·10/(10 + 10) = 50 → R = 93.2 − 46.1 − 50 < 0 → clamped to 0 → MOS 1
    const m = eModel({ codec: 'PCMU', bitrateBps: 64_000, rttMs: 600, jitterMs: 50, loss: 0.1, jbMs: 150 })
    expect(m.bpl).toBe(10)
    expect(m.ieEff).toBeCloseTo(50, 10)
    expect(m.r).toBe(0)
    expect(m.mos).toBe(1)
  })

  it('lowers R faster once the one-way delay passes 150 ms', () => {
    const at = (jbMs: number) =>
      eModel({ codec: 'opus', bitrateBps: 32_000, rttMs: 0, jitterMs: 0, loss: 0, jbMs })
    // d = 20 + jb. Below 150 ms each ms costs 0.03; above it 0.13.
    expect(at(100).r - at(130).r).toBeCloseTo(0.9, 10)
    expect(at(180).r - at(210).r).toBeCloseTo(3.9, 10)
    expect(at(230).r).toBeLessThan(at(130).r)
  })

  it('has the corrected delay term, not 0.1·d − 150', () => {
    expect(delayImpairment(100)).toBeCloseTo(3, 10)
    expect(delayImpairment(150)).toBeCloseTo(4.5, 10)
    expect(delayImpairment(400)).toBeCloseTo(12 + 25, 10)
    const buggy = (d: number) => 0.03 * d + (d > 150 ? 0.1 * d - 150 : 0)
    expect(buggy(400)).toBeLessThan(0)
    expect(delayImpairment(400)).toBeGreaterThan(delayImpairment(150))
  })

  it('estimates the jitter buffer from jitter when the receiver did not report it', () => {
    // jb = 20 + 2·15 = 50 → d = 20 + 50 + 10/2 = 75
    expect(eModel({ codec: 'opus', bitrateBps: null, rttMs: 10, jitterMs: 15, loss: 0, jbMs: null }).d).toBe(
      75,
    )
  })

  it('maps R to MOS within 1..4.5', () => {
    expect(mosFromR(-10)).toBe(1)
    expect(mosFromR(0)).toBe(1)
    expect(mosFromR(100)).toBe(4.5)
    // R 80: 1 + 2.8 + 7e-6·80·20·20 = 4.024
    expect(mosFromR(80)).toBeCloseTo(4.024, 10)
    expect(mosToScore(4.5)).toBe(10)
    expect(mosToScore(1)).toBe(0)
    expect(mosToScore(2.75)).toBeCloseTo(5, 10)
  })
})

describe('equipmentImpairment', () => {
  it('follows the G.113 anchors for Opus and is 0 for the narrowband reference codecs', () => {
    expect(equipmentImpairment('opus', 32_000)).toBe(0)
    expect(equipmentImpairment('opus', 24_000)).toBe(0)
    expect(equipmentImpairment('opus', 12_200)).toBeCloseTo(5, 10)
    expect(equipmentImpairment('opus', 8000)).toBeCloseTo(10, 10)
    // Linear between 8 kbps (10) and 12.2 kbps (5): 10.1 kbps → 7.5
    expect(equipmentImpairment('opus', 10_100)).toBeCloseTo(7.5, 10)
    expect(equipmentImpairment('opus', 4000)).toBe(19)
    expect(equipmentImpairment('opus', null)).toBe(0)
    expect(equipmentImpairment('PCMA', 64_000)).toBe(0)
  })
})

const base: VideoInputs = {
  codec: 'VP8',
  bitrateBps: 2_500_000,
  width: 1280,
  height: 720,
  fps: 30,
  expectedFps: 30,
  bitrateCv: 0.1,
  frozenShare: 0,
  freezesPerMin: 0,
  loss: 0,
  rttMs: 20,
  jbMs: 30,
  limitedShare: 0,
  qp: 30,
  droppedShare: 0,
}

describe('videoPenalties', () => {
  it('takes nothing off a 720p30 stream at its target bitrate', () => {
    const p = videoPenalties(base)
    expect(Object.values(p).every((v) => v === 0)).toBe(true)
    expect(videoScore(p)).toBe(10)
  })

  it('computes each penalty as documented', () => {
    const p = (over: Partial<VideoInputs>) => videoPenalties({ ...base, ...over })
    // Resolution: one point per halving of the lines below 720.
    expect(p({ width: 640, height: 360, bitrateBps: 500_000 }).resolution).toBe(1)
    expect(p({ width: 960, height: 540, bitrateBps: 900_000 }).resolution).toBeCloseTo(
      Math.log2(720 / 540),
      3,
    )
    expect(p({ width: 320, height: 180, bitrateBps: 150_000 }).resolution).toBe(2)
    expect(p({ width: 720, height: 1280 }).resolution).toBe(0)
    // Bitrate: half the 720p target (2.5 Mbps) → 2·(0.8 − 0.5)/0.6 = 1
    expect(p({ bitrateBps: 1_250_000 }).bitrate).toBeCloseTo(1, 3)
    expect(p({ bitrateBps: 400_000 }).bitrate).toBe(2)
    // … but not while QP is under the low threshold (VP8 29): a clean Firefox call's fake camera,
    // 640x360 at 210 kbps with QP 2 (test/fixtures/firefox/), is simple content, not a starved stream.
    expect(p({ width: 640, height: 360, bitrateBps: 210_000, qp: 2 }).bitrate).toBe(0)
    expect(p({ width: 640, height: 360, bitrateBps: 210_000, qp: 29 }).bitrate).toBeCloseTo(1.267, 3)
    expect(p({ width: 640, height: 360, bitrateBps: 210_000, qp: null }).bitrate).toBeCloseTo(1.267, 3)
    // Frame rate: 14.5 fps against 24 (80% of 30) → 1.5·(24 − 14.5)/(24 − 5) = 0.75
    expect(p({ fps: 14.5 }).framerate).toBeCloseTo(0.75, 3)
    // Variance: CV 0.4 → (0.4 − 0.2)/(0.6 − 0.2) = 0.5
    expect(p({ bitrateCv: 0.4 }).variance).toBeCloseTo(0.5, 3)
    // Freezes: 10% frozen and 2 per minute → 1.2 + 0.6
    expect(p({ frozenShare: 0.1, freezesPerMin: 2 }).freezes).toBeCloseTo(1.8, 3)
    expect(p({ frozenShare: 0.5, freezesPerMin: 2 }).freezes).toBe(PENALTY_CAPS.freezes)
    // Loss: 5.25% → 1.5·(0.0525 − 0.005)/(0.1 − 0.005) = 0.75
    expect(p({ loss: 0.0525 }).loss).toBeCloseTo(0.75, 3)
    // Delay: 200/2 + 175 = 275 ms one way → (275 − 150)/(400 − 150) = 0.5
    expect(p({ rttMs: 200, jbMs: 175 }).delay).toBeCloseTo(0.5, 3)
    expect(p({ limitedShare: 0.3 }).limitation).toBeCloseTo(0.3, 3)
    // QP: VP8 thresholds 29/95 → penalty from 62 to 95; 78.5 → 0.5. H.264 30 is under its midpoint 30.5.
    expect(p({ qp: 78.5 }).qp).toBeCloseTo(0.5, 3)
    expect(p({ codec: 'H264', qp: 30 }).qp).toBe(0)
    expect(p({ codec: 'H264', qp: 40 }).qp).toBe(1)
    // Dropped: 5.5% → 0.5·(0.055 − 0.01)/0.09 = 0.25
    expect(p({ droppedShare: 0.055 }).dropped).toBeCloseTo(0.25, 3)
  })

  it('costs nothing for missing inputs and never goes below 0 overall', () => {
    const none = videoPenalties({
      ...base,
      bitrateBps: null,
      width: 0,
      height: 0,
      fps: null,
      bitrateCv: null,
      frozenShare: null,
      freezesPerMin: null,
      loss: null,
      rttMs: null,
      jbMs: null,
      limitedShare: null,
      qp: null,
      droppedShare: null,
    })
    expect(videoScore(none)).toBe(10)
    const awful = videoPenalties({
      ...base,
      bitrateBps: 10_000,
      width: 160,
      height: 90,
      fps: 2,
      bitrateCv: 2,
      frozenShare: 0.9,
      freezesPerMin: 10,
      loss: 0.5,
      rttMs: 2000,
      limitedShare: 1,
      qp: 127,
      droppedShare: 0.5,
    })
    for (const [k, v] of Object.entries(awful)) expect(v).toBe(PENALTY_CAPS[k as keyof typeof PENALTY_CAPS])
    expect(videoScore(awful)).toBe(0)
  })
})

describe('targetBitrateBps', () => {
  it('follows libwebrtc kSimulcastFormats, linear in pixels between rows', () => {
    expect(targetBitrateBps(640, 360)).toBe(500_000)
    expect(targetBitrateBps(1280, 720)).toBe(2_500_000)
    expect(targetBitrateBps(320, 180)).toBe(150_000)
    expect(targetBitrateBps(3840, 2160)).toBe(4_000_000)
    // 800x450 = 360,000 px, between 640x360 (230,400) and 960x540 (518,400): 500 + 400·0.45 = 680 kbps
    expect(targetBitrateBps(800, 450)).toBeCloseTo(680_000, 0)
  })
})

describe('overallScore', () => {
  it('weights audio 0.4 and video 0.6, at most 2.5 above the worse medium', () => {
    expect(overallScore(9.5, 9)).toBeCloseTo(9.2, 10)
    expect(overallScore(1, 10)).toBeCloseTo(3.5, 10)
    expect(overallScore(null, 7)).toBe(7)
    expect(overallScore(6, null)).toBe(6)
    expect(overallScore(null, null)).toBeNull()
  })
})
