// The collector's permessage-deflate inflate (collector/inflate.ts), synchronous or in one pool round
// trip, must behave exactly as ws's own: every message intact with the context kept across messages,
// fragmented compressed messages, the payload limit (1009) and corrupt data (1007). Real ws sockets on
// loopback, the server configured as the collector's. Run by one test file per inflate mode.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { bombFrame, rawDeflateUpgrade, throwBomb } from './deflate-bomb.ts'

const MAX_PAYLOAD = 64 * 1024

/** Registers the suite; the caller has installed the inflate under test (collector/inflate.ts). */
export function inflateCases(name: string): void {
  describe(name, () => {
    let wss: WebSocketServer
    let url: string
    const received: string[] = []
    const closes: number[] = []
    const errors: string[] = []

    beforeAll(async () => {
      wss = new WebSocketServer({
        port: 0,
        host: '127.0.0.1',
        maxPayload: MAX_PAYLOAD,
        perMessageDeflate: { clientMaxWindowBits: 12, serverNoContextTakeover: true, threshold: 4096 },
      })
      wss.on('connection', (ws) => {
        ws.on('error', (err: Error & { code?: string }) => errors.push(err.code ?? err.message))
        ws.on('message', (data: Buffer, isBinary) => {
          const text = isBinary ? 'binary' : data.toString()
          received.push(text)
          ws.send(`echo:${text.length}`)
        })
        ws.on('close', (code) => closes.push(code))
      })
      await once(wss, 'listening')
      url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
    })
    afterAll(() => {
      wss.close()
    })

    const open = async (): Promise<WebSocket> => {
      const ws = new WebSocket(url, { perMessageDeflate: { threshold: 0, clientMaxWindowBits: 12 } })
      await once(ws, 'open')
      expect(ws.extensions).toContain('permessage-deflate')
      return ws
    }

    it('inflates every message intact, with the context kept across messages', async () => {
      received.length = 0
      const ws = await open()
      const sent: string[] = []
      for (let i = 0; i < 300; i++) {
        // Repetitive (context takeover makes later frames tiny) with a random part, some beyond one zlib chunk.
        const body = JSON.stringify({
          t: 'stats',
          seq: i,
          d: { a: { bytesSent: i * 1000, r: randomBytes(i % 7 === 0 ? 12_000 : 20).toString('hex') } },
        })
        sent.push(body)
        ws.send(body)
      }
      const echoes: string[] = []
      ws.on('message', (d: Buffer) => echoes.push(d.toString()))
      await expect.poll(() => echoes.length, { timeout: 10_000 }).toBe(300)
      expect(received).toEqual(sent)
      ws.close()
    })

    it('inflates a compressed message sent in fragments', async () => {
      received.length = 0
      const ws = await open()
      const parts = ['{"t":"stats","d":{"a":', '{"x":"' + 'y'.repeat(5000) + '"', '}}}'] as const
      ws.send(parts[0], { fin: false })
      ws.send(parts[1], { fin: false })
      ws.send(parts[2], { fin: true })
      await expect.poll(() => received.length, { timeout: 5_000 }).toBe(1)
      expect(received[0]).toBe(parts.join(''))
      ws.close()
    })

    it('closes with 1009 when a message inflates beyond maxPayload (a deflate bomb)', async () => {
      const ws = await open()
      const closed = once(ws, 'close')
      ws.send('a'.repeat(MAX_PAYLOAD * 4)) // ~1 KB on the wire
      const [code] = (await closed) as [number]
      expect(code).toBe(1009)
      expect(errors).toContain('WS_ERR_UNSUPPORTED_MESSAGE_LENGTH')
    })

    it('stops inflating a bomb at the limit, before the whole message is inflated', async () => {
      // 64 MiB inflated from ~64 KiB on the wire. Inflated in full (and only then checked) it takes
      // seconds and 64 MiB of memory; stopped at the limit, one zlib chunk past 64 KiB.
      const { port } = wss.address() as AddressInfo
      const frame = bombFrame(64 * 1024 * 1024)
      await new Promise((r) => setTimeout(r, 50)) // the 64 MiB source buffer is garbage by now
      const before = process.memoryUsage().arrayBuffers
      let peak = before
      const sampler = setInterval(() => (peak = Math.max(peak, process.memoryUsage().arrayBuffers)), 5)
      const started = performance.now()
      const { code } = await throwBomb(port, frame, 10_000)
      const ms = performance.now() - started
      clearInterval(sampler)
      expect(code).toBe(1009)
      expect(peak - before).toBeLessThan(16 * 1024 * 1024)
      expect(ms).toBeLessThan(2000)
    })

    it('closes with 1007 on corrupt compressed data, and keeps serving other sockets', async () => {
      // A raw client: handshake offering permessage-deflate, then one masked text frame with RSV1 set and
      // a payload that is not valid deflate data.
      const { port } = wss.address() as AddressInfo
      const sock = await rawDeflateUpgrade(port, '/')
      const chunks: Buffer[] = []
      sock.on('data', (c: Buffer) => chunks.push(c))
      await expect.poll(() => Buffer.concat(chunks).includes('\r\n\r\n'), { timeout: 5_000 }).toBe(true)
      expect(Buffer.concat(chunks).toString()).toMatch(/^HTTP\/1.1 101/)
      chunks.length = 0
      // A deflate block header with the reserved block type 3: "invalid block type" for any inflater.
      const junk = Buffer.from([0x07, 0x12, 0x34, 0x56])
      const mask = randomBytes(4)
      const payload = Buffer.from(junk.map((b, i) => b ^ (mask[i % 4] as number)))
      sock.write(Buffer.concat([Buffer.from([0xc1, 0x80 | payload.length]), mask, payload]))
      // The server answers with a close frame: opcode 8, status code in the first two payload bytes.
      await expect.poll(() => Buffer.concat(chunks).length >= 4, { timeout: 5_000 }).toBe(true)
      const frame = Buffer.concat(chunks)
      expect(frame[0]).toBe(0x88)
      expect(frame.readUInt16BE(2)).toBe(1007)
      expect(errors.at(-1)).toBe('Z_DATA_ERROR') // zlib's error, not a later UTF-8 check
      sock.destroy()

      received.length = 0
      const ws = await open()
      ws.send('still here')
      await expect.poll(() => received, { timeout: 5_000 }).toEqual(['still here'])
      ws.close()
    })
  })
}
