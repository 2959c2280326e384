// The built-in web view, served by the collector at `/`: a session list with filters and the fleet's
// score distribution, and a session page with uPlot charts of the per-second series and issue markers.
// It reads the analyzer's API (/api/v1/…) from the browser, with the same API keys as any other client.
// Mounted as a collector plugin: `startCollector(env, [analyzerPlugin, webView])`.
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import type { Context, Hono } from 'hono'
import type { PluginFactory } from '../../lib/plugin.ts'
import { WEB_DIR, bundleWeb, webAssets } from './bundle.ts'
import type { WebAssets } from './bundle.ts'

// Everything the page loads comes from this origin; no inline script or style.
const SECURITY_HEADERS = {
  'content-security-policy':
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; " +
    "frame-ancestors 'none'; base-uri 'none'; form-action 'self'",
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
}

const page = (version: string): string => `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>rtcpulse</title>
<link rel="icon" href="data:,">
<link rel="stylesheet" href="/ui/app.css?v=${version}">
</head>
<body>
<div id="app"></div>
<script type="module" src="/ui/app.js?v=${version}"></script>
</body>
</html>
`

/**
 * The prebuilt bundle in dashboards/web/dist if wanted and present, else a fresh esbuild bundle. Built
 * JavaScript (dist/, an installed package) has no sources beside it: there the prebuilt bundle is read.
 */
async function loadAssets(prebuilt: boolean): Promise<WebAssets> {
  if (!prebuilt && existsSync(`${WEB_DIR}src/main.ts`)) return bundleWeb()
  try {
    const [js, css] = await Promise.all([
      readFile(`${WEB_DIR}dist/app.js`, 'utf8'),
      readFile(`${WEB_DIR}dist/app.css`, 'utf8'),
    ])
    return webAssets(js, css)
  } catch {
    return bundleWeb()
  }
}

export interface WebViewOptions {
  /** Serve dashboards/web/dist when it exists (default true); false bundles the sources when present. */
  prebuilt?: boolean
}

/**
 * Adds GET `/`, `/ui/app.js` and `/ui/app.css` to `app`. The bundle is built (or read) once, on the
 * first request; a failed build answers 503 with the reason and is retried on the next request.
 */
export function mount(app: Hono, options: WebViewOptions = {}): void {
  let assets: Promise<WebAssets> | undefined
  const get = (): Promise<WebAssets> => {
    assets ??= loadAssets(options.prebuilt ?? true).catch((err: unknown) => {
      assets = undefined
      throw err
    })
    return assets
  }
  const serve =
    (body: (a: WebAssets) => string, type: string, cache: string) =>
    async (c: Context): Promise<Response> => {
      let a: WebAssets
      try {
        a = await get()
      } catch (err) {
        return c.text(`the web view could not be built: ${(err as Error).message}\nrun npm run build`, 503)
      }
      return c.body(body(a), 200, { 'content-type': type, 'cache-control': cache, ...SECURITY_HEADERS })
    }
  app.get(
    '/',
    serve((a) => page(a.version), 'text/html; charset=utf-8', 'no-cache'),
  )
  // Versioned URLs: a new bundle gets a new ?v=, so the files themselves can be cached for long.
  app.get(
    '/ui/app.js',
    serve((a) => a.js, 'text/javascript; charset=utf-8', 'public, max-age=86400'),
  )
  app.get(
    '/ui/app.css',
    serve((a) => a.css, 'text/css; charset=utf-8', 'public, max-age=86400'),
  )
}

/** The web view as a collector plugin; in dev mode it bundles the sources, so edits show on restart. */
export const webView: PluginFactory<unknown> = ({ dev }) => ({
  mount: (app) => mount(app, { prebuilt: !dev }),
})
