// Stream authentication: HS256 JWTs (RFC 7519) minted by the app's backend with a key bound to one app.
// The header's `kid` selects the key, so keys rotate by adding the new one before retiring the old.
import { createHmac, timingSafeEqual } from 'node:crypto'
import type { SigningKey } from './config.ts'

export interface TokenClaims {
  /** App the token is for; must equal the key's app and the hello's app. */
  app: string
  /** Optional session scope. */
  sess?: string
  /** Optional peer binding: the hello's `peer` must equal it. */
  peer?: string
  /** Optional user binding: the hello's `user` must equal it. */
  user?: string
  /** Expiry, seconds since the epoch. */
  exp: number
  iat?: number
}

export type AuthResult =
  { ok: true; claims: TokenClaims | undefined } | { ok: false; code: 4001 | 4003; reason: string }

const b64url = (buf: Buffer | string): string => Buffer.from(buf).toString('base64url')

/** Longest token lifetime accepted unless configured (RTCPULSE_MAX_TOKEN_TTL_S): one day. */
export const DEFAULT_MAX_TOKEN_TTL_S = 86_400

/** Mints a token for `claims` with `key` (HS256). `ttlSeconds` sets exp when claims.exp is absent. */
export function mintToken(
  key: SigningKey,
  claims: Omit<TokenClaims, 'exp' | 'app'> & { exp?: number },
  ttlSeconds = 3600,
): string {
  const now = Math.floor(Date.now() / 1000)
  const body: TokenClaims = { app: key.app, iat: now, ...claims, exp: claims.exp ?? now + ttlSeconds }
  const head = b64url(JSON.stringify({ alg: 'HS256', typ: 'JWT', kid: key.kid }))
  const payload = b64url(JSON.stringify(body))
  const sig = createHmac('sha256', key.secret).update(`${head}.${payload}`).digest('base64url')
  return `${head}.${payload}.${sig}`
}

/**
 * Checks a hello's token against the keys: signature, expiry (with `skewSeconds` leeway), lifetime (at
 * most `maxTokenTtlS`, default one day), the key's app, and the session scope. In dev mode (no keys
 * required) every hello is accepted. Never throws.
 */
export function verifyToken(
  token: string | undefined,
  hello: { app: string; session: string; peer?: string; user?: string },
  opts: {
    keys: readonly SigningKey[]
    dev: boolean
    now?: number
    skewSeconds?: number
    maxTokenTtlS?: number
  },
): AuthResult {
  if (!token)
    return opts.dev ? { ok: true, claims: undefined } : { ok: false, code: 4001, reason: 'token required' }
  const parts = token.split('.')
  if (parts.length !== 3) return { ok: false, code: 4001, reason: 'malformed token' }
  const [head, payload, sig] = parts as [string, string, string]
  let header: { alg?: unknown; kid?: unknown }
  let claims: Partial<TokenClaims>
  try {
    header = JSON.parse(Buffer.from(head, 'base64url').toString()) as typeof header
    claims = JSON.parse(Buffer.from(payload, 'base64url').toString()) as Partial<TokenClaims>
  } catch {
    return { ok: false, code: 4001, reason: 'malformed token' }
  }
  if (header.alg !== 'HS256') return { ok: false, code: 4001, reason: 'unsupported token algorithm' }
  const key = opts.keys.find((k) => k.kid === header.kid)
  if (!key) return { ok: false, code: 4001, reason: 'unknown key id' }
  const expected = createHmac('sha256', key.secret).update(`${head}.${payload}`).digest()
  const given = Buffer.from(sig, 'base64url')
  if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
    return { ok: false, code: 4001, reason: 'bad signature' }
  }
  const now = opts.now ?? Math.floor(Date.now() / 1000)
  const skew = opts.skewSeconds ?? 30
  if (typeof claims.exp !== 'number' || claims.exp + skew < now) {
    return { ok: false, code: 4001, reason: 'token expired' }
  }
  // A stolen token is good until it expires, so lifetimes are capped: measured from iat, or from now
  // when there is none. An iat in the future would stretch the window, so it is refused (RFC 7519 §4.1.6
  // leaves iat's checking to the application).
  const maxTtl = opts.maxTokenTtlS ?? DEFAULT_MAX_TOKEN_TTL_S
  if (claims.iat !== undefined && (typeof claims.iat !== 'number' || claims.iat > now + skew)) {
    return { ok: false, code: 4001, reason: 'token iat is not a past time' }
  }
  if (claims.exp - (claims.iat ?? now) > maxTtl + (claims.iat === undefined ? skew : 0)) {
    return {
      ok: false,
      code: 4001,
      reason: `token lifetime is over the collector's maximum of ${maxTtl} s (RTCPULSE_MAX_TOKEN_TTL_S)`,
    }
  }
  // A key can only vouch for its own app, whatever the token claims.
  if (claims.app !== key.app || hello.app !== key.app) {
    return { ok: false, code: 4003, reason: `token is not valid for app ${hello.app}` }
  }
  if (claims.sess !== undefined && claims.sess !== hello.session) {
    return { ok: false, code: 4003, reason: 'token is scoped to another session' }
  }
  // Bound identities (SECURITY.md "Peer identity"): a token minted for one participant cannot speak for another.
  if (claims.peer !== undefined && claims.peer !== hello.peer) {
    return { ok: false, code: 4003, reason: 'token is bound to another peer' }
  }
  if (claims.user !== undefined && claims.user !== hello.user) {
    return { ok: false, code: 4003, reason: 'token is bound to another user' }
  }
  return { ok: true, claims: claims as TokenClaims }
}

/**
 * Checks an `Authorization: Bearer <secret>` header against the signing keys of `app`: the API's
 * app-scoped credential until dedicated API keys exist (SECURITY.md). Constant-time per key; never throws.
 */
export function verifyAppSecret(
  header: string | undefined,
  app: string,
  keys: readonly SigningKey[],
): boolean {
  const m = /^Bearer (.+)$/.exec(header ?? '')
  if (!m) return false
  const given = createHmac('sha256', 'rtcpulse-api')
    .update(m[1] as string)
    .digest()
  let ok = false
  for (const key of keys) {
    if (key.app !== app) continue
    // Compare digests: equal length whatever the secrets' lengths, so timingSafeEqual applies.
    const expected = createHmac('sha256', 'rtcpulse-api').update(key.secret).digest()
    if (timingSafeEqual(given, expected)) ok = true
  }
  return ok
}
