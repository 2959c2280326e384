// A TCP proxy between clients and the collector that can cut every connection at once, as a network
// drop does: both ends see their socket reset, whatever they were doing.
import { createServer, connect } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'

export interface FaultProxy {
  /** http://127.0.0.1:<port> of the proxy. */
  url: string
  /** Destroys every proxied connection (both sides); returns how many. */
  dropAll(): number
  /** Connections cut so far. */
  readonly dropped: number
  close(): Promise<void>
}

/** Listens on a free port and forwards each connection to `target` (host:port). */
export async function startFaultProxy(target: { host: string; port: number }): Promise<FaultProxy> {
  const pairs = new Set<[Socket, Socket]>()
  let dropped = 0
  const server: Server = createServer((client) => {
    const upstream = connect(target.port, target.host)
    const pair: [Socket, Socket] = [client, upstream]
    pairs.add(pair)
    const end = (): void => {
      pairs.delete(pair)
      client.destroy()
      upstream.destroy()
    }
    client.on('error', end).on('close', end)
    upstream.on('error', end).on('close', end)
    client.pipe(upstream)
    upstream.pipe(client)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    dropAll() {
      const n = pairs.size
      for (const [a, b] of [...pairs]) {
        // resetAndDestroy sends RST: the abrupt end of a dropped network path, not a polite FIN.
        a.resetAndDestroy()
        b.resetAndDestroy()
      }
      pairs.clear()
      dropped += n
      return n
    },
    get dropped() {
      return dropped
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const [a, b] of pairs) {
          a.destroy()
          b.destroy()
        }
        server.close(() => resolve())
      }),
  }
}
