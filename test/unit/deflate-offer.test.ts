// The collector's permessage-deflate choice (RFC 7692), offer by offer: the best compression each offer
// allows, a decline (not a failure) for what cannot be honoured. test/integration/handshake-offers.test.ts
// runs the same offers through real handshakes.
import { describe, expect, it } from 'vitest'
import { CLIENT_WINDOW_BITS, chooseDeflateOffer, parseDeflateOffers } from '../../collector/deflate-offer.ts'

describe('chooseDeflateOffer', () => {
  it('asks for the small client window only when the client offers to take one', () => {
    expect(CLIENT_WINDOW_BITS).toBe(12)
    expect(chooseDeflateOffer('permessage-deflate; client_max_window_bits')).toBe(
      'permessage-deflate; client_max_window_bits=12',
    )
    // RFC 7692 §7.1.2.2: not offered → not answered (Firefox, Safari).
    expect(chooseDeflateOffer('permessage-deflate')).toBe('permessage-deflate')
    expect(chooseDeflateOffer('permessage-deflate; client_max_window_bits=9')).toBe(
      'permessage-deflate; client_max_window_bits=9',
    )
    expect(chooseDeflateOffer('permessage-deflate; client_max_window_bits=8')).toBe('permessage-deflate')
  })

  it('keeps the client context and honours a server window limit', () => {
    expect(chooseDeflateOffer('permessage-deflate; client_no_context_takeover')).toBe('permessage-deflate')
    expect(chooseDeflateOffer('PerMessage-Deflate; server_max_window_bits=11')).toBe(
      'permessage-deflate; server_max_window_bits=11',
    )
  })

  it('takes the first acceptable offer of several, across joined headers', () => {
    const header =
      'x-webkit-deflate-frame, permessage-deflate; server_max_window_bits=8, ' +
      'permessage-deflate; client_max_window_bits; server_no_context_takeover'
    expect(chooseDeflateOffer(header)).toBe('permessage-deflate; client_max_window_bits=12')
  })

  it('declines what it cannot honour, leaving the stream uncompressed', () => {
    for (const h of [
      undefined,
      '',
      'x-webkit-deflate-frame',
      'permessage-deflate; foo',
      'permessage-deflate; client_no_context_takeover=1',
      'permessage-deflate; server_max_window_bits',
      'permessage-deflate; client_max_window_bits=7',
      'permessage-deflate; server_max_window_bits=10; server_max_window_bits=10',
      'permessage-deflate; client_max_window_bits="a b"',
    ])
      expect(chooseDeflateOffer(h), String(h)).toBeUndefined()
  })

  it('parses quoted values and rejects a malformed header as a whole', () => {
    expect(parseDeflateOffers('permessage-deflate; client_max_window_bits="10"')).toEqual([
      new Map([['client_max_window_bits', '10']]),
    ])
    expect(parseDeflateOffers('permessage deflate')).toBeUndefined()
  })
})
