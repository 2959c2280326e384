// Deflate bombs and the raw WebSocket client that throws them: a handshake offering permessage-deflate
// (RFC 7692) and one masked, compressed text frame written as is, so the test controls every byte.
import { once } from 'node:events'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { constants, deflateRawSync } from 'node:zlib'

/**
 * One masked text frame with RSV1 set whose payload inflates to `inflatedBytes` of the byte `fill`
 * (deflate tops out near 1032:1, so 200 MiB is ~200 KiB on the wire). The deflate window is 4 KiB,
 * the collector's negotiated client_max_window_bits=12.
 */
export function bombFrame(inflatedBytes: number, fill = 0x20): Buffer {
  const raw = deflateRawSync(Buffer.alloc(inflatedBytes, fill), {
    level: 9,
    windowBits: 12,
    finishFlush: constants.Z_SYNC_FLUSH,
  })
  // RFC 7692 §7.2.1: the sender removes the 00 00 ff ff tail of the sync flush.
  const payload = raw.subarray(0, raw.length - 4)
  const mask = randomBytes(4)
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)))
  const head = Buffer.alloc(10)
  head[0] = 0xc1 // FIN, RSV1 (compressed), text
  head[1] = 0x80 | 127 // masked, 64-bit length
  head.writeBigUInt64BE(BigInt(masked.length), 2)
  return Buffer.concat([head, mask, masked])
}

/** Result of one bomb: the close code the server sent (undefined: none), and the bytes on the wire. */
export interface BombResult {
  code: number | undefined
  wireBytes: number
}

/**
 * A raw socket to `port` that has sent a WebSocket upgrade request for `path` offering permessage-deflate
 * with client_max_window_bits=12 (the server's answer is the caller's to read).
 */
export async function rawDeflateUpgrade(port: number, path: string): Promise<Socket> {
  const sock = connect(port, '127.0.0.1')
  await once(sock, 'connect')
  sock.write(
    `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
      'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits=12\r\n\r\n',
  )
  return sock
}

/** Opens a raw WebSocket to `port`'s /v1/stream, writes `frame`, resolves with the server's close code. */
export async function throwBomb(port: number, frame: Buffer, timeoutMs = 20_000): Promise<BombResult> {
  const sock = await rawDeflateUpgrade(port, '/v1/stream')
  let buf = Buffer.alloc(0)
  let upgraded = false
  return new Promise<BombResult>((resolve) => {
    const done = (code: number | undefined): void => {
      clearTimeout(timer)
      sock.destroy()
      resolve({ code, wireBytes: frame.length })
    }
    const timer = setTimeout(() => done(undefined), timeoutMs)
    sock.on('error', () => done(undefined))
    sock.on('close', () => done(undefined))
    sock.on('data', (chunk: Buffer) => {
      buf = Buffer.concat([buf, chunk])
      if (!upgraded) {
        const end = buf.indexOf('\r\n\r\n')
        if (end < 0) return
        if (!buf.subarray(0, end).toString().startsWith('HTTP/1.1 101')) return done(undefined)
        upgraded = true
        buf = buf.subarray(end + 4)
        sock.write(frame)
      }
      // Server frames are unmasked; a close frame (opcode 8) carries its status code first.
      if (buf.length >= 4 && buf[0] === 0x88) done(buf.readUInt16BE(2))
    })
  })
}
