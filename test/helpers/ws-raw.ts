// A raw WebSocket client (RFC 6455) that sends the exact upgrade request a browser sends, so a test
// controls the Sec-WebSocket-Extensions offer byte for byte, and then speaks permessage-deflate
// (RFC 7692) as negotiated: the client window and context takeover from the 101's answer.
import { once } from 'node:events'
import { connect } from 'node:net'
import type { Socket } from 'node:net'
import { randomBytes } from 'node:crypto'
import { constants, createDeflateRaw, createInflateRaw } from 'node:zlib'
import type { DeflateRaw, InflateRaw } from 'node:zlib'

export interface RawResponse {
  status: number
  headers: Record<string, string>
}

export interface RawClient {
  response: RawResponse
  /** The negotiated permessage-deflate parameters (empty map: none negotiated). */
  params: Map<string, string | true>
  /** Sends one text message, compressed (RSV1) when permessage-deflate was negotiated. */
  sendText(text: string): Promise<void>
  /** Text messages received so far (inflated when compressed), and how many arrived compressed. */
  received: string[]
  compressedReceived: number
  close(): void
}

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff])

/** Pushes `data` through a zlib stream and resolves with what a Z_SYNC_FLUSH yields. */
function pump(z: DeflateRaw | InflateRaw, data: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const out: Buffer[] = []
    const onData = (c: Buffer): void => void out.push(c)
    z.on('data', onData)
    z.once('error', reject)
    z.write(data)
    z.flush(constants.Z_SYNC_FLUSH, () => {
      z.off('data', onData)
      z.off('error', reject)
      resolve(Buffer.concat(out))
    })
  })
}

/** A masked client frame (RFC 6455 §5.2). */
function frame(b0: number, payload: Buffer): Buffer {
  const n = payload.length
  const len = n < 126 ? Buffer.from([0x80 | n]) : Buffer.alloc(3)
  if (n >= 126) {
    if (n > 0xffff) throw new Error('test frames stay under 64 KiB')
    len[0] = 0x80 | 126
    len.writeUInt16BE(n, 1)
  }
  const mask = randomBytes(4)
  const masked = Buffer.from(payload.map((b, i) => b ^ (mask[i % 4] as number)))
  return Buffer.concat([Buffer.from([b0]), len, mask, masked])
}

/** Splits the handshake response head into status and lower-cased headers. */
function parseHead(head: string): RawResponse {
  const [statusLine = '', ...lines] = head.split('\r\n')
  const headers: Record<string, string> = {}
  for (const l of lines) {
    const i = l.indexOf(':')
    if (i > 0) headers[l.slice(0, i).trim().toLowerCase()] = l.slice(i + 1).trim()
  }
  return { status: Number(statusLine.split(' ')[1]), headers }
}

/**
 * Opens a socket to `url` (ws://host:port/path) sending `extensions` as the Sec-WebSocket-Extensions
 * header (omitted when undefined). Resolves after the server's response head, whatever its status.
 */
export async function rawConnect(url: string, extensions: string | undefined): Promise<RawClient> {
  const u = new URL(url)
  const sock: Socket = connect(Number(u.port), u.hostname)
  await once(sock, 'connect')
  sock.write(
    `GET ${u.pathname} HTTP/1.1\r\nHost: ${u.host}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n` +
      `Sec-WebSocket-Key: ${randomBytes(16).toString('base64')}\r\nSec-WebSocket-Version: 13\r\n` +
      (extensions === undefined ? '' : `Sec-WebSocket-Extensions: ${extensions}\r\n`) +
      '\r\n',
  )
  let buf = Buffer.alloc(0)
  let headEnd = -1
  while (headEnd < 0) {
    const [chunk] = (await once(sock, 'data')) as [Buffer]
    buf = Buffer.concat([buf, chunk])
    headEnd = buf.indexOf('\r\n\r\n')
  }
  const response = parseHead(buf.subarray(0, headEnd).toString('latin1'))
  buf = buf.subarray(headEnd + 4)

  const params = new Map<string, string | true>()
  const answer = response.headers['sec-websocket-extensions']
  if (answer !== undefined) {
    const [name, ...rest] = answer.split(';').map((s) => s.trim())
    if (name !== 'permessage-deflate') throw new Error(`unexpected extension answer: ${answer}`)
    for (const p of rest) {
      const [k = '', v] = p.split('=')
      params.set(k, v === undefined ? true : v)
    }
  }
  const deflating = answer !== undefined
  const clientBits = Number(params.get('client_max_window_bits') ?? 15)
  const serverBits = Number(params.get('server_max_window_bits') ?? 15)
  const deflate = deflating ? createDeflateRaw({ windowBits: clientBits }) : undefined
  const inflate = deflating ? createInflateRaw({ windowBits: serverBits }) : undefined
  let sending = Promise.resolve()

  const received: string[] = []
  const client: RawClient = {
    response,
    params,
    received,
    compressedReceived: 0,
    sendText(text) {
      // Messages are deflated one after another: each continues the previous one's context.
      sending = sending.then(async () => {
        const data = Buffer.from(text, 'utf8')
        if (!deflate) {
          sock.write(frame(0x81, data))
          return
        }
        const out = await pump(deflate, data)
        // RFC 7692 §7.2.1: the trailing empty stored block is removed from the message.
        sock.write(frame(0xc1, out.subarray(0, out.length - 4)))
        if (params.has('client_no_context_takeover')) deflate.reset()
      })
      return sending
    },
    close: () => sock.destroy(),
  }

  // Server frames are unmasked; this reader takes whole, unfragmented text frames, which is all the
  // collector sends. Compressed ones are inflated in order.
  let reading = Promise.resolve()
  const readFrames = (): void => {
    for (;;) {
      if (buf.length < 2) return
      const b0 = buf[0] as number
      let len = (buf[1] as number) & 0x7f
      let off = 2
      if (len === 126) {
        if (buf.length < 4) return
        len = buf.readUInt16BE(2)
        off = 4
      } else if (len === 127) {
        if (buf.length < 10) return
        len = Number(buf.readBigUInt64BE(2))
        off = 10
      }
      if (buf.length < off + len) return
      const payload = buf.subarray(off, off + len)
      buf = buf.subarray(off + len)
      if ((b0 & 0x0f) !== 1) continue
      if (b0 & 0x40 && inflate) {
        client.compressedReceived++
        reading = reading.then(async () => {
          received.push((await pump(inflate, Buffer.concat([payload, TRAILER]))).toString('utf8'))
        })
      } else reading = reading.then(() => void received.push(payload.toString('utf8')))
    }
  }
  sock.on('data', (c: Buffer) => {
    buf = Buffer.concat([buf, c])
    readFrames()
  })
  readFrames()
  return client
}
