// IP address masking before storage (SECURITY.md "Privacy"). ICE candidates carry the user's public and
// private addresses (webrtc-stats §5.10 RTCIceCandidateStats: `address`, `relatedAddress`, `url`; the
// deprecated `ip`), ICE candidate error events carry `address` and `url`, and the peer row carries the
// client's address. IPv4 keeps its /24 and IPv6 its /48 (the granularity of routing, enough to tell
// networks apart for troubleshooting, not to find a household).
import { isIPv4, isIPv6 } from 'node:net'
import type { EventFrame, StatsFrame } from '../core/protocol.ts'

/** Fields whose string value holds an address (or a URL or candidate line with one). */
const IP_FIELDS = new Set(['address', 'ip', 'relatedAddress', 'url', 'candidate', 'hostCandidate'])

// A frame without one of these keys has nothing to mask; checked on the text before any walk, so the
// hot path (deltas of counters) costs one regex scan (~0.5 µs for a typical 500-byte delta).
const MARKER = /"(?:address|ip|relatedAddress|url|candidate|hostCandidate)"/

/** Whether `text` (a frame's JSON) may contain a field that masking would change. */
export const mayHoldAddress = (text: string): boolean => MARKER.test(text)

function expand6(addr: string): number[] | undefined {
  // Split an embedded IPv4 tail (::ffff:192.0.2.1) into two groups first.
  let a = addr
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(a)
  if (v4) {
    const p = (v4[1] as string).split('.').map(Number) as [number, number, number, number]
    a = `${a.slice(0, v4.index)}${((p[0] << 8) | p[1]).toString(16)}:${((p[2] << 8) | p[3]).toString(16)}`
  }
  const [head, tail] = a.split('::') as [string, string | undefined]
  const h = head ? head.split(':') : []
  const t = tail ? tail.split(':') : []
  const fill = tail === undefined ? 0 : 8 - h.length - t.length
  const groups = [...h, ...Array<string>(Math.max(0, fill)).fill('0'), ...t].map((g) => parseInt(g, 16))
  return groups.length === 8 && groups.every((g) => g >= 0 && g <= 0xffff) ? groups : undefined
}

/** Masks one address: IPv4 → a.b.c.0, IPv6 → its /48 (`2001:db8:1::`); anything else is returned as is. */
export function maskIp(addr: string): string {
  const zone = addr.indexOf('%')
  const bare = zone >= 0 ? addr.slice(0, zone) : addr
  if (isIPv4(bare)) return bare.slice(0, bare.lastIndexOf('.')) + '.0'
  if (isIPv6(bare)) {
    const g = expand6(bare)
    if (!g) return '::'
    // IPv4-mapped (::ffff:a.b.c.d): mask the IPv4 part as IPv4.
    if (g.slice(0, 5).every((x) => x === 0) && g[5] === 0xffff) {
      return `::ffff:${(g[6] as number) >> 8}.${(g[6] as number) & 0xff}.${(g[7] as number) >> 8}.0`
    }
    const head = g.slice(0, 3)
    while (head.length > 0 && head[head.length - 1] === 0) head.pop()
    return `${head.map((x) => x.toString(16)).join(':')}::`
  }
  return addr
}

const V4 = /(?<![\d.])(\d{1,3}\.\d{1,3}\.\d{1,3})\.\d{1,3}(?![\d.])/g
const BRACKETED_V6 = /\[([0-9A-Fa-f:.%]+)\]/g

/** Masks every address inside a string: a bare address, a URL (`turn:[2001:db8::1]:3478`), a candidate line. */
export function maskIpsInText(text: string): string {
  if (isIPv4(text) || isIPv6(text.split('%')[0] ?? '')) return maskIp(text)
  let out = text.replace(BRACKETED_V6, (m, inner: string) =>
    isIPv6(inner.split('%')[0] ?? '') ? `[${maskIp(inner)}]` : m,
  )
  out = out.replace(V4, (m) => (isIPv4(m) ? maskIp(m) : m))
  // Bare IPv6 tokens, as in candidate lines (`candidate:1 1 udp 2122 2001:db8::1 5000 typ host`).
  if (out.includes('::') || /[0-9a-f]{1,4}:[0-9a-f]{1,4}:/i.test(out)) {
    out = out
      .split(' ')
      .map((tok) => (isIPv6(tok.split('%')[0] ?? '') ? maskIp(tok) : tok))
      .join(' ')
  }
  return out
}

/** Masks address fields of every stats object in the frame, in place. Returns true if anything changed. */
export function maskStatsFrame(frame: StatsFrame): boolean {
  let changed = false
  for (const patch of Object.values(frame.d)) {
    for (const k in patch) {
      const v = patch[k]
      if (typeof v !== 'string' || !IP_FIELDS.has(k)) continue
      const m = maskIpsInText(v)
      if (m !== v) {
        patch[k] = m
        changed = true
      }
    }
  }
  return changed
}

// Event data is free-form JSON (bounded by the frame size); walk it to a small depth.
function maskValue(v: unknown, key: string, depth: number): { v: unknown; changed: boolean } {
  if (typeof v === 'string') {
    if (!IP_FIELDS.has(key)) return { v, changed: false }
    const m = maskIpsInText(v)
    return { v: m, changed: m !== v }
  }
  if (depth > 4 || typeof v !== 'object' || v === null) return { v, changed: false }
  let changed = false
  const obj = v as Record<string, unknown>
  for (const k of Object.keys(obj)) {
    const r = maskValue(obj[k], Array.isArray(obj) ? key : k, depth + 1)
    if (r.changed) {
      obj[k] = r.v
      changed = true
    }
  }
  return { v, changed }
}

/** Masks address fields in an event's data, in place. Returns true if anything changed. */
export function maskEventFrame(frame: EventFrame): boolean {
  return frame.data ? maskValue(frame.data, '', 0).changed : false
}
