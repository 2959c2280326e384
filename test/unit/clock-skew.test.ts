// The clock-skew estimate (collector/clock-skew.ts): every frame's ts − arrival is a lower bound of the
// client's skew, the largest one wins, and it is due once live polls have had time to arrive.
import { describe, expect, it } from 'vitest'
import { ClockSkew } from '../../collector/clock-skew.ts'

const A = 1_800_000_000_000 // arrival clock origin; any value

describe('ClockSkew', () => {
  it('takes the largest bound once frames have arrived for 5 s', () => {
    const c = new ClockSkew()
    // A resent backlog (taken 30 s before arrival), then live polls 40–60 ms on the way.
    expect(c.observe(A + 5000 - 30_000, A)).toBeUndefined()
    expect(c.observe(A + 5000 - 29_000, A + 1)).toBeUndefined()
    for (let i = 1; i < 5; i++)
      expect(c.observe(A + 5000 + i * 1000 - 40 - i * 5, A + i * 1000)).toBeUndefined()
    expect(c.observe(A + 5000 + 5000 - 45, A + 5000)).toBe(4955)
    // Due once: a bound that is not more than 1 s better is not stored again.
    expect(c.observe(A + 5000 + 6000 - 10, A + 6000)).toBeUndefined()
  })

  it('is due again when a later bound is more than a second better', () => {
    const c = new ClockSkew()
    c.observe(A - 15_000, A)
    expect(c.observe(A - 9000, A + 6000)).toBe(-15_000)
    expect(c.observe(A + 7000 - 30, A + 7000)).toBe(-30)
  })

  it('gives what it has when the connection ends early, and nothing without frames', () => {
    const c = new ClockSkew()
    expect(c.due()).toBeUndefined()
    c.observe(A - 437 - 20, A)
    expect(c.due()).toBe(-457)
    expect(c.due()).toBeUndefined()
  })

  it('clamps to the Int32 column', () => {
    const c = new ClockSkew()
    c.observe(A + 40 * 86_400_000, A)
    expect(c.due()).toBe(2 ** 31 - 1)
  })
})
