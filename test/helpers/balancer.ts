// A small TCP load balancer for tests: round robin over the targets, and like a production balancer
// (HAProxy `option redispatch`, nginx `proxy_next_upstream error`) a connection whose target refuses it
// is tried on the next target, so a dead collector costs a client one more hop, not a failed connect.
import { connect, createServer } from 'node:net'
import type { AddressInfo, Server, Socket } from 'node:net'

export interface Target {
  host: string
  port: number
}

export interface Balancer {
  /** http://127.0.0.1:<port> */
  url: string
  /** Open connections per target index. */
  open(): number[]
  /** Connections made per target index since the start. */
  readonly made: number[]
  close(): Promise<void>
}

/** Listens on a free port and spreads connections over `targets` in turn. */
export async function startBalancer(targets: readonly Target[]): Promise<Balancer> {
  let turn = 0
  const made = targets.map(() => 0)
  const live = new Set<{ client: Socket; upstream?: Socket; target: number }>()
  const server: Server = createServer((client) => {
    client.pause()
    const entry: { client: Socket; upstream?: Socket; target: number } = { client, target: -1 }
    live.add(entry)
    const end = (): void => {
      live.delete(entry)
      client.destroy()
      entry.upstream?.destroy()
    }
    client.on('error', end).on('close', end)
    const attempt = (left: number): void => {
      if (left === 0 || client.destroyed) return end()
      const i = turn++ % targets.length
      const t = targets[i] as Target
      const upstream = connect(t.port, t.host)
      upstream.on('error', () => {
        // Refused before connecting: the next target. After connecting: the client sees the drop.
        if (entry.upstream === upstream) end()
        else attempt(left - 1)
      })
      upstream.once('connect', () => {
        entry.upstream = upstream
        entry.target = i
        made[i] = (made[i] as number) + 1
        upstream.on('close', end)
        client.pipe(upstream)
        upstream.pipe(client)
        client.resume()
      })
    }
    attempt(targets.length)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    open: () => {
      const n = targets.map(() => 0)
      for (const e of live) if (e.target >= 0) n[e.target] = (n[e.target] as number) + 1
      return n
    },
    made,
    close: () =>
      new Promise<void>((resolve) => {
        for (const e of live) {
          e.client.destroy()
          e.upstream?.destroy()
        }
        server.close(() => resolve())
      }),
  }
}
