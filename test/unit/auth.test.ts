// Guards invariant 4 at the door: only a token signed by a key of the hello's own app, unexpired and
// (when scoped) for this session, opens a stream.
import { createHmac } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import { mintToken, verifyToken } from '../../collector/auth.ts'

const keyA = { kid: 'a1', app: 'app-a', secret: 'secret-of-app-a-0123' }
const keyB = { kid: 'b1', app: 'app-b', secret: 'secret-of-app-b-0123' }
const opts = { keys: [keyA, keyB], dev: false }
const helloA = { app: 'app-a', session: 's1' }

describe('verifyToken', () => {
  it('accepts a fresh token of the right app', () => {
    expect(verifyToken(mintToken(keyA, {}), helloA, opts)).toMatchObject({
      ok: true,
      claims: { app: 'app-a' },
    })
  })

  it('refuses a missing, malformed, forged or expired token with 4001', () => {
    expect(verifyToken(undefined, helloA, opts)).toMatchObject({ ok: false, code: 4001 })
    expect(verifyToken('abc', helloA, opts)).toMatchObject({ ok: false, code: 4001 })
    const forged = mintToken({ ...keyA, secret: 'attacker-guess-000000' }, {})
    expect(verifyToken(forged, helloA, opts)).toMatchObject({
      ok: false,
      code: 4001,
      reason: 'bad signature',
    })
    const expired = mintToken(keyA, { exp: Math.floor(Date.now() / 1000) - 120 })
    expect(verifyToken(expired, helloA, opts)).toMatchObject({
      ok: false,
      code: 4001,
      reason: 'token expired',
    })
  })

  it('refuses a token that lives longer than the cap, with or without iat', () => {
    const now = 1_700_000_000
    const at = { ...opts, now, maxTokenTtlS: 86_400 }
    const day = mintToken(keyA, { iat: now - 10, exp: now - 10 + 86_400 })
    expect(verifyToken(day, helloA, at)).toMatchObject({ ok: true })
    const century = mintToken(keyA, { iat: now, exp: now + 100 * 365 * 86_400 })
    expect(verifyToken(century, helloA, at)).toMatchObject({
      ok: false,
      code: 4001,
      reason: expect.stringMatching(/lifetime is over .* 86400 s \(RTCPULSE_MAX_TOKEN_TTL_S\)/) as unknown,
    })
    expect(verifyToken(century, helloA, { ...opts, now })).toMatchObject({ ok: false, code: 4001 })
    const sign = (claims: object): string => {
      const t = mintToken(keyA, {})
      const [head] = t.split('.')
      const payload = Buffer.from(JSON.stringify({ app: 'app-a', ...claims })).toString('base64url')
      const sig = createHmac('sha256', keyA.secret).update(`${head}.${payload}`).digest('base64url')
      return `${head}.${payload}.${sig}`
    }
    // No iat: measured from now.
    expect(verifyToken(sign({ exp: now + 3600 }), helloA, at)).toMatchObject({ ok: true })
    expect(verifyToken(sign({ exp: now + 2 * 86_400 }), helloA, at)).toMatchObject({ ok: false, code: 4001 })
    // An iat in the future cannot stretch the window.
    expect(
      verifyToken(sign({ iat: now + 50 * 86_400, exp: now + 50 * 86_400 + 60 }), helloA, at),
    ).toMatchObject({ ok: false, code: 4001, reason: 'token iat is not a past time' })
    expect(verifyToken(sign({ iat: 'yesterday', exp: now + 60 }), helloA, at)).toMatchObject({
      ok: false,
      code: 4001,
    })
  })

  it('refuses a token used for another app or session with 4003', () => {
    expect(verifyToken(mintToken(keyB, {}), helloA, opts)).toMatchObject({ ok: false, code: 4003 })
    const scoped = mintToken(keyA, { sess: 'other' })
    expect(verifyToken(scoped, helloA, opts)).toMatchObject({ ok: false, code: 4003 })
  })

  it('refuses a token whose claims were edited after signing', () => {
    const [h, , s] = mintToken(keyA, {}).split('.')
    const payload = Buffer.from(JSON.stringify({ app: 'app-b', exp: 9_999_999_999 })).toString('base64url')
    expect(verifyToken(`${h}.${payload}.${s}`, { app: 'app-b', session: 's' }, opts)).toMatchObject({
      ok: false,
    })
  })

  it('lets dev mode through without a token but still checks a token that is given', () => {
    expect(verifyToken(undefined, helloA, { keys: [], dev: true })).toMatchObject({ ok: true })
    expect(verifyToken('x.y.z', helloA, { keys: [], dev: true })).toMatchObject({ ok: false })
  })
})
