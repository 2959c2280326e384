// One suite for the per-socket message limit (collector/message-limit.ts), run by the one-trip inflate's
// test and by the test of ws's own inflate: both must refuse a message over the lowered limit (1009) and
// take it once the limit is raised, compressed or not.
import { once } from 'node:events'
import type { AddressInfo } from 'node:net'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { WebSocket, WebSocketServer } from 'ws'
import { setMessageLimit } from '../../collector/message-limit.ts'

const LOW = 4 * 1024
const HIGH = 64 * 1024

/** Registers the suite; the caller has chosen the inflate (installOneTripInflate or keepWsInflate). */
export function messageLimitCases(name: string): void {
  describe(`message limit with ${name}`, () => {
    let wss: WebSocketServer
    let url: string
    const received: number[] = []
    beforeAll(async () => {
      wss = new WebSocketServer({
        port: 0,
        host: '127.0.0.1',
        maxPayload: HIGH,
        perMessageDeflate: { clientMaxWindowBits: 12, serverNoContextTakeover: true, threshold: 4096 },
      })
      wss.on('connection', (ws) => {
        expect(setMessageLimit(ws, LOW)).toBe(true)
        ws.on('error', () => {})
        ws.on('message', (data: Buffer) => {
          received.push(data.length)
          // The first message is the "hello": from then on the socket takes up to HIGH.
          setMessageLimit(ws, HIGH)
          ws.send('ok')
        })
      })
      await once(wss, 'listening')
      url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`
    })
    afterAll(() => {
      wss.close()
    })

    for (const threshold of [0, 1 << 30]) {
      const how = threshold === 0 ? 'compressed' : 'uncompressed'
      it(`closes with 1009 on a ${how} message over the lowered limit`, async () => {
        const ws = new WebSocket(url, { perMessageDeflate: { threshold, clientMaxWindowBits: 12 } })
        await once(ws, 'open')
        const closed = once(ws, 'close')
        ws.send('a'.repeat(LOW + 1))
        expect((await closed)[0]).toBe(1009)
      })

      it(`takes a ${how} message up to the raised limit`, async () => {
        received.length = 0
        const ws = new WebSocket(url, { perMessageDeflate: { threshold, clientMaxWindowBits: 12 } })
        await once(ws, 'open')
        ws.send('hello')
        await once(ws, 'message')
        ws.send('b'.repeat(HIGH))
        await once(ws, 'message')
        expect(received).toEqual([5, HIGH])
        const closed = once(ws, 'close')
        ws.send('c'.repeat(HIGH + 1))
        expect((await closed)[0]).toBe(1009)
      })
    }
  })
}
