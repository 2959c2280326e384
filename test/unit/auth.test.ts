// Guards invariant 4 at the door: only a token signed by a key of the hello's own app, unexpired and
// (when scoped) for this session, opens a stream.
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
