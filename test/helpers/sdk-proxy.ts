// A TCP pass-through in front of a collector that counts the bytes each way: what the SDK really puts on
// the wire (WebSocket framing and permessage-deflate included). Listens on 127.0.0.1, port 0.
import { createServer, connect } from 'node:net'
import type { AddressInfo, Socket } from 'node:net'

export interface ByteProxy {
  /** http://127.0.0.1:<port> — give this to the SDK instead of the collector's URL. */
  url: string
  /** Bytes from clients to the collector so far (all connections, handshakes included). */
  readonly up: number
  /** Bytes from the collector to clients so far. */
  readonly down: number
  /** Destroys every open connection at once (a network cut; the proxy keeps listening). */
  cut(): void
  /** While blocked, every connection is cut and new ones are reset as soon as they are accepted. */
  block(blocked: boolean): void
  close(): Promise<void>
}

/** Forwards every connection to `target` (host:port of the collector). */
export async function startByteProxy(target: { host: string; port: number }): Promise<ByteProxy> {
  let up = 0
  let down = 0
  const open = new Set<Socket>()
  let blocked = false
  const server = createServer((client) => {
    if (blocked) return void client.resetAndDestroy()
    const upstream = connect(target.port, target.host)
    open.add(client).add(upstream)
    client.on('data', (b: Buffer) => (up += b.length))
    upstream.on('data', (b: Buffer) => (down += b.length))
    client.pipe(upstream).pipe(client)
    const end = (): void => {
      client.destroy()
      upstream.destroy()
      open.delete(client)
      open.delete(upstream)
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  const cut = (): void => {
    for (const s of open) s.destroy()
    open.clear()
  }
  return {
    url: `http://127.0.0.1:${port}`,
    get up() {
      return up
    },
    get down() {
      return down
    },
    cut,
    block(b) {
      blocked = b
      if (b) cut()
    },
    close() {
      cut()
      return new Promise((resolve) => server.close(() => resolve()))
    },
  }
}
