// permessage-deflate negotiation (RFC 7692): the collector picks one of the client's offers and answers
// it with the best compression that offer allows. ws applies the choice; it does not make it, because
// ws with a fixed `clientMaxWindowBits` refuses (HTTP 400) every offer without `client_max_window_bits`
// — the plain `permessage-deflate` that Firefox and Safari send — and without one it never asks Chrome
// for a small window. Here every offer ends in a 101: compressed when one offer can be accepted,
// uncompressed otherwise (RFC 7692 §5: a server declines offers it cannot accept; it does not fail).

/**
 * The client window the collector asks for when the client lets it choose (2^12 = 4 KiB of inflate
 * history per socket instead of 32 KiB). The SDK's delta frames repeat keys from the previous second,
 * well inside 4 KiB, so the smaller window costs almost no compression.
 */
export const CLIENT_WINDOW_BITS = 12

const NAME = 'permessage-deflate'
// RFC 7230 §3.2.6 token characters.
const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/

type Params = Map<string, string | true>

/**
 * Parses a Sec-WebSocket-Extensions value (RFC 6455 §9.1) into its permessage-deflate offers, in the
 * client's order of preference. Quoted values are unquoted (RFC 7692 §7: they must still be tokens).
 * Returns undefined when the header is malformed; other extensions are skipped.
 */
export function parseDeflateOffers(header: string): Params[] | undefined {
  const offers: Params[] = []
  for (const ext of header.split(',')) {
    if (ext.trim() === '') continue // `1#extension` allows empty list elements (RFC 7230 §7)
    const [name = '', ...rest] = ext.split(';').map((s) => s.trim())
    if (!TOKEN.test(name)) return undefined
    const params: Params = new Map()
    for (const p of rest) {
      const eq = p.indexOf('=')
      const key = (eq < 0 ? p : p.slice(0, eq)).trim()
      let value: string | true = eq < 0 ? true : p.slice(eq + 1).trim()
      if (typeof value === 'string' && value.length >= 2 && value.startsWith('"') && value.endsWith('"'))
        value = value.slice(1, -1)
      if (!TOKEN.test(key) || (value !== true && !TOKEN.test(value))) return undefined
      // A repeated parameter makes the offer invalid (RFC 7692 §7): mark it so the offer is declined.
      params.set(key, params.has(key) ? '' : value)
    }
    if (name.toLowerCase() === NAME) offers.push(params)
  }
  return offers
}

const bits = (v: string | true | undefined): number | undefined => {
  if (typeof v !== 'string' || !/^(8|9|1[0-5])$/.test(v)) return undefined
  return Number(v)
}

/**
 * The response to one offer as a parameter string (leading `permessage-deflate` included), or
 * undefined when the collector declines it. The server's own `server_no_context_takeover` is added by
 * ws (its configuration), so it is not written here.
 */
export function answerOffer(offer: Params): string | undefined {
  const out = [NAME]
  for (const [key, value] of offer) {
    switch (key) {
      case 'server_no_context_takeover':
      case 'client_no_context_takeover':
        // The server may leave client_no_context_takeover out (RFC 7692 §7.1.1.2): the client keeps its
        // context and consecutive frames compress against each other. server_no_context_takeover is on
        // anyway (the collector's own setting).
        if (value !== true) return undefined
        break
      case 'server_max_window_bits': {
        const n = bits(value)
        // zlib cannot deflate with an 8-bit raw window (deflateInit2 treats 8 as 9, zlib.h), so a
        // promise to keep within 256 bytes could not be kept: decline (RFC 7692 §7.1.2.1).
        if (n === undefined || n === 8) return undefined
        out.push(`server_max_window_bits=${n}`)
        break
      }
      case 'client_max_window_bits': {
        // Offered bare: the client lets the server choose. With a value: a hint, and the response must
        // not exceed it (RFC 7692 §7.1.2.2). An 8-bit answer is avoided for the same zlib reason as
        // above: a zlib client asked for 8 would send 9-bit distances; leaving it out is always valid.
        const n = value === true ? CLIENT_WINDOW_BITS : bits(value)
        if (n === undefined) return undefined
        if (n >= 9) out.push(`client_max_window_bits=${Math.min(n, CLIENT_WINDOW_BITS)}`)
        break
      }
      default:
        return undefined // unknown or repeated parameter: the server declines the offer (RFC 7692 §7)
    }
  }
  // Not offered client_max_window_bits: the server must not send it and the client may use a 15-bit
  // window (RFC 7692 §7.1.2.2); the collector inflates with 32 KiB of history for that socket.
  return out.join('; ')
}

/**
 * Chooses the first offer of a Sec-WebSocket-Extensions header the collector can accept and returns it
 * as the only offer, already in the form of its answer (so ws accepts it unchanged), or undefined for
 * no compression (no header, no permessage-deflate offer, none acceptable, or a malformed header).
 */
export function chooseDeflateOffer(header: string | undefined): string | undefined {
  if (header === undefined) return undefined
  for (const offer of parseDeflateOffers(header) ?? []) {
    const answer = answerOffer(offer)
    if (answer !== undefined) return answer
  }
  return undefined
}
