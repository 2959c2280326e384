// Bundles the built-in view (src/main.ts, uPlot and the styles) with esbuild into one script and one
// stylesheet. Used by the collector on the first request when no prebuilt bundle exists, and by
// build.ts to prebuild dashboards/web/dist for deployments without dev dependencies.
import { createHash } from 'node:crypto'
import { fileURLToPath } from 'node:url'

export interface WebAssets {
  js: string
  css: string
  /** Short content hash for cache-busting URLs. */
  version: string
}

export const WEB_DIR = fileURLToPath(new URL('.', import.meta.url))

/** Wraps a bundle's files with their content hash. */
export const webAssets = (js: string, css: string): WebAssets => ({
  js,
  css,
  version: createHash('sha256').update(js).update(css).digest('hex').slice(0, 12),
})

/** Bundles the view in memory. Rejects if esbuild (a dev dependency) is missing or the build fails. */
export async function bundleWeb(): Promise<WebAssets> {
  const esbuild = await import('esbuild')
  const result = await esbuild.build({
    entryPoints: [`${WEB_DIR}src/main.ts`],
    bundle: true,
    format: 'esm',
    target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
    minify: true,
    sourcemap: false,
    write: false,
    outdir: `${WEB_DIR}dist`,
    entryNames: 'app',
    logLevel: 'silent',
    legalComments: 'none',
  })
  const file = (ext: string): string => result.outputFiles.find((f) => f.path.endsWith(ext))?.text ?? ''
  return webAssets(file('.js'), file('.css'))
}
