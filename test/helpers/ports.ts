// Ports for servers a test starts itself on loopback.
import { createServer } from 'node:net'
import type { AddressInfo } from 'node:net'

/** A free TCP port on 127.0.0.1 (bound and released; fine for a server started at once). */
export async function freePort(): Promise<number> {
  const server = createServer()
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  await new Promise<void>((resolve) => server.close(() => resolve()))
  return port
}
