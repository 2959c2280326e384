// Pre-built WebSocket frames for the load generator, so 20,000 simulated SDKs fit beside the collector
// on two cores. Each stats frame is a text message compressed with permessage-deflate (RFC 7692) whose
// deflate payload is two parts: a stored block with the per-client prefix (`{"t":"stats","pc":…,"seq":…,`
// — a few dozen bytes, patched per frame) and the body, deflated once per second of the shared timeline
// and reused by every client. The collector inflates exactly what a real client's frame would inflate
// to; only the compressed size differs a little, because a body never refers back into earlier
// messages (legal: context takeover lets the sender use the history, it does not require it).
import { constants, deflateRawSync } from 'node:zlib'

/** Deflates `text` standalone with the 4 KiB window the collector negotiates; RFC 7692 §7.2.1 tail removed. */
export function deflateBody(text: string): Buffer {
  const out = deflateRawSync(Buffer.from(text, 'utf8'), {
    windowBits: 12,
    finishFlush: constants.Z_SYNC_FLUSH,
  })
  // Every message ends with an empty stored block 00 00 ff ff, which the receiver appends back.
  return out.subarray(0, out.length - 4)
}

/**
 * The header of a masked, compressed (RSV1) final text frame of `payloadLength` bytes, followed by a
 * stored deflate block holding `prefix`. The mask key is zero: RFC 6455 §5.3 requires a masked client
 * frame, and XOR with 0 keeps the pre-built bytes valid. Send as `[head, body]`.
 */
export function frameHead(prefix: string, bodyLength: number): Buffer {
  const p = Buffer.from(prefix, 'latin1')
  // Stored block (RFC 1951 §3.2.4): BFINAL=0 BTYPE=00 padded to a byte, LEN, NLEN, bytes.
  const storedLength = 5 + p.length
  const { head, offset } = maskedHead(0xc1, storedLength + bodyLength, storedLength) // FIN | RSV1 | text
  head[offset] = 0
  head.writeUInt16LE(p.length, offset + 1)
  head.writeUInt16LE(~p.length & 0xffff, offset + 3)
  p.copy(head, offset + 5)
  return head
}

/**
 * Header of a masked (zero key), *uncompressed* final text frame followed by `prefix`: RFC 7692 lets a
 * sender leave any message uncompressed (RSV1 clear) on a permessage-deflate connection. The load
 * generator's `plain` mode uses it to measure the collector without the inflate step.
 */
export function plainHead(prefix: string, bodyLength: number): Buffer {
  const p = Buffer.from(prefix, 'latin1')
  const { head, offset } = maskedHead(0x81, p.length + bodyLength, p.length) // FIN | text, RSV1 clear
  p.copy(head, offset)
  return head
}

/**
 * A client frame header (RFC 6455 §5.2) with the 0 mask key, and room for `extra` bytes after it:
 * first byte `b0`, a payload of `payload` bytes. Returns where the extra bytes start.
 */
function maskedHead(b0: number, payload: number, extra: number): { head: Buffer; offset: number } {
  const ext = payload < 126 ? 0 : payload < 65536 ? 2 : 8
  const head = Buffer.allocUnsafe(2 + ext + 4 + extra)
  head[0] = b0
  if (ext === 0) head[1] = 0x80 | payload
  else if (ext === 2) {
    head[1] = 0x80 | 126
    head.writeUInt16BE(payload, 2)
  } else {
    head[1] = 0x80 | 127
    head.writeBigUInt64BE(BigInt(payload), 2)
  }
  head.writeUInt32BE(0, 2 + ext) // mask key 0
  return { head, offset: 2 + ext + 4 }
}
