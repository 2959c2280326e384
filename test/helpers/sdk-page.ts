// A page on http://127.0.0.1 (a secure context: Firefox offers getUserMedia only there, not on
// about:blank) that loads the SDK's minified <script> build, built in memory with sdk/build.ts's options,
// mangled properties and all: what the browser tests and the browser benchmark run.
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { build } from 'esbuild'
import { iifeOptions } from '../../sdk/build.ts'

export interface SdkPage {
  /** http://127.0.0.1:<port>/ — serves `html`; the page loads /rtcpulse.min.js. */
  url: string
  close(): Promise<void>
}

/** Serves `html` at / and the SDK's minified build at /rtcpulse.min.js, on a free port. */
export async function serveSdkPage(html: string): Promise<SdkPage> {
  const bundle = await build({ ...iifeOptions, write: false, outfile: 'rtcpulse.min.js' })
  const js = bundle.outputFiles[0]?.text ?? ''
  const server = createServer((req, res) => {
    if (req.url === '/rtcpulse.min.js') res.writeHead(200, { 'content-type': 'text/javascript' }).end(js)
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html' }).end(html)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
