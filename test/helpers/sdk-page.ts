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

/**
 * Serves `html` at / and the SDK's minified build (or `opts.js`, another build's text) at /rtcpulse.min.js,
 * on a free port. `opts.isolated` serves the page cross-origin isolated (COOP + COEP), where browsers time
 * `performance.now()` to 5 µs instead of 100 µs (Chromium) or 1 ms (Firefox).
 */
export async function serveSdkPage(
  html: string,
  opts: { js?: string; isolated?: boolean } = {},
): Promise<SdkPage> {
  const js =
    opts.js ??
    (await build({ ...iifeOptions, write: false, outfile: 'rtcpulse.min.js' })).outputFiles?.[0]?.text ??
    ''
  // https://html.spec.whatwg.org/multipage/webappapis.html#concept-settings-object-cross-origin-isolated-capability
  const headers = opts.isolated
    ? { 'cross-origin-opener-policy': 'same-origin', 'cross-origin-embedder-policy': 'require-corp' }
    : {}
  const server = createServer((req, res) => {
    if (req.url === '/rtcpulse.min.js')
      res.writeHead(200, { 'content-type': 'text/javascript', ...headers }).end(js)
    else if (req.url === '/') res.writeHead(200, { 'content-type': 'text/html', ...headers }).end(html)
    else res.writeHead(404).end()
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  return {
    url: `http://127.0.0.1:${(server.address() as AddressInfo).port}/`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
