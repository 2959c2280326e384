// Client addresses behind load balancers (RTCPULSE_TRUSTED_PROXIES). A proxy appends the address it got
// the request from to `X-Forwarded-For` or `Forwarded` (RFC 7239), so the chain reads left (client) to
// right (the hop nearest us), and anyone can write the left part. Only hops we trust may name the one
// before them: walk from the right, skip trusted hops, and stop at the first address not trusted.
import { BlockList, isIP } from 'node:net'

/** The trusted proxies; `none` believes no header (the socket's peer is the client). */
export interface TrustedProxies {
  readonly any: boolean
  has(addr: string): boolean
}

export const NO_PROXIES: TrustedProxies = { any: false, has: () => false }

/** `::ffff:10.0.0.1` (an IPv4 client on a dual-stack socket) is 10.0.0.1. */
const plain = (addr: string): string => (/^::ffff:\d+\.\d+\.\d+\.\d+$/i.test(addr) ? addr.slice(7) : addr)

/**
 * Parses comma-separated CIDRs (`10.0.0.0/8, 127.0.0.1, fd00::/8`; a bare address is a /32 or /128).
 * Throws an Error naming the bad entry; empty or undefined yields NO_PROXIES.
 */
export function parseTrustedProxies(raw: string | undefined): TrustedProxies {
  const entries = (raw ?? '')
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)
  if (!entries.length) return NO_PROXIES
  const list = new BlockList()
  for (const entry of entries) {
    const [addr = '', bits, extra] = entry.split('/')
    const family = isIP(addr)
    const max = family === 4 ? 32 : 128
    const prefix = bits === undefined ? max : Number(bits)
    if (!family || extra !== undefined || !/^\d{1,3}$/.test(bits ?? '0') || prefix > max) {
      throw new Error(`${JSON.stringify(entry)} is not an IPv4 or IPv6 address or CIDR (e.g. 10.0.0.0/8)`)
    }
    list.addSubnet(addr, prefix, family === 4 ? 'ipv4' : 'ipv6')
  }
  return {
    any: true,
    has: (a) => {
      const addr = plain(a)
      const family = isIP(addr)
      return family !== 0 && list.check(addr, family === 4 ? 'ipv4' : 'ipv6')
    },
  }
}

/** The `for=` addresses of a `Forwarded` header (RFC 7239 §4, §6), in order; an unusable one as ''. */
function forwardedFor(header: string): string[] {
  const out: string[] = []
  // Elements are comma-separated, pairs within one semicolon-separated; values may be quoted strings.
  for (const element of header.split(',')) {
    const m = /(?:^|;)\s*for\s*=\s*("(?:[^"\\]|\\.)*"|[^;,\s]*)/i.exec(element)
    if (!m) continue
    let v = (m[1] ?? '').replace(/^"|"$/g, '').replace(/\\(.)/g, '$1')
    // `[2001:db8::1]:4711` and `192.0.2.43:47011` carry ports (§6); `unknown` and `_hidden` are not IPs.
    const bracket = /^\[([^\]]+)\](?::\d+)?$/.exec(v)
    if (bracket) v = bracket[1] ?? ''
    else if (/^[\d.]+:\d+$/.test(v)) v = v.slice(0, v.indexOf(':'))
    out.push(isIP(v) ? v : '')
  }
  return out
}

/**
 * The client's address for limits and storage: `remote` (the socket's peer) unless it is a trusted
 * proxy, in which case the forwarding chain (`Forwarded` if present, else `X-Forwarded-For`) is walked
 * from the right past trusted hops. A hop that is not an IP address ends the walk at the hop after it.
 */
export function clientAddress(
  remote: string,
  header: (name: string) => string | undefined,
  trusted: TrustedProxies,
): string {
  if (!trusted.any || !trusted.has(remote)) return remote
  const fwd = header('forwarded')
  const chain = fwd
    ? forwardedFor(fwd)
    : (header('x-forwarded-for') ?? '')
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean)
        .map((s) => (isIP(s) ? s : ''))
  let addr = remote
  for (let i = chain.length - 1; i >= 0 && trusted.has(addr); i--) {
    const hop = chain[i] as string
    if (!hop) break
    addr = hop
  }
  return plain(addr)
}
