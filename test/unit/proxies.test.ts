// Guards the forwarding-chain walk of collector/proxies.ts: only trusted hops may name the hop before
// them, so whatever a client writes into X-Forwarded-For or Forwarded is never believed by itself.
import { describe, expect, it } from 'vitest'
import { NO_PROXIES, clientAddress, parseTrustedProxies } from '../../collector/proxies.ts'

const trusted = parseTrustedProxies('10.0.0.0/8, 192.168.1.1, fd00::/8')
const headers = (h: Record<string, string>) => (name: string) => h[name]

describe('parseTrustedProxies', () => {
  it('takes IPv4 and IPv6 CIDRs and bare addresses', () => {
    expect(trusted.has('10.200.3.4')).toBe(true)
    expect(trusted.has('::ffff:10.1.1.1')).toBe(true)
    expect(trusted.has('192.168.1.1')).toBe(true)
    expect(trusted.has('192.168.1.2')).toBe(false)
    expect(trusted.has('fd12::1')).toBe(true)
    expect(trusted.has('2001:db8::1')).toBe(false)
    expect(parseTrustedProxies('')).toBe(NO_PROXIES)
  })

  it('throws naming the bad entry', () => {
    for (const bad of ['10.0.0.0/33', 'fd00::/129', 'proxy.local', '10.0.0.0/8/1', '10.0.0.0/x'])
      expect(() => parseTrustedProxies(`127.0.0.1,${bad}`)).toThrow(JSON.stringify(bad))
  })
})

describe('clientAddress', () => {
  it('ignores the headers of an untrusted peer', () => {
    expect(clientAddress('203.0.113.5', headers({ 'x-forwarded-for': '1.2.3.4' }), trusted)).toBe(
      '203.0.113.5',
    )
    expect(clientAddress('10.0.0.1', headers({ 'x-forwarded-for': '1.2.3.4' }), NO_PROXIES)).toBe('10.0.0.1')
  })

  it('walks X-Forwarded-For from the right past trusted hops', () => {
    const h = headers({ 'x-forwarded-for': '6.6.6.6, 198.51.100.7, 192.168.1.1, 10.1.1.1' })
    expect(clientAddress('::ffff:10.0.0.9', h, trusted)).toBe('198.51.100.7')
    // Every hop trusted: the left-most is the client.
    expect(clientAddress('10.0.0.9', headers({ 'x-forwarded-for': '10.3.3.3' }), trusted)).toBe('10.3.3.3')
  })

  it('prefers Forwarded (RFC 7239) and stops at a hop that is not an address', () => {
    const h = headers({
      forwarded: 'for=6.6.6.6;proto=http, For="[2001:db8::17]:4711", for=10.2.2.2',
      'x-forwarded-for': '5.5.5.5',
    })
    expect(clientAddress('10.0.0.9', h, trusted)).toBe('2001:db8::17')
    const hidden = headers({ forwarded: 'for=6.6.6.6, for=_hidden, for="10.2.2.2:80"' })
    expect(clientAddress('10.0.0.9', hidden, trusted)).toBe('10.2.2.2')
  })
})
