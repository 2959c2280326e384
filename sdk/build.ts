// Builds the SDK: `sdk/dist/index.js` (ESM, for bundlers and Node) with its type declarations in
// `sdk/dist/types/`, and `sdk/dist/rtcpulse.min.js` (minified IIFE for a <script> tag, global `rtcpulse`).
// Usage: npx tsx sdk/build.ts. test/unit/sdk-size.test.ts bundles with `iifeOptions` to hold the budget.
import { execFileSync } from 'node:child_process'
import { readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { dirname, join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { build } from 'esbuild'
import type { BuildOptions } from 'esbuild'

const sdkDir = dirname(fileURLToPath(import.meta.url))

// Internal property names the IIFE may shorten. Never a wire field (t, pc, seq, ts, d, rm, key, gap,
// resume, limits, …), an option or method of the public API, or a DOM name: the browser test
// (test/e2e/browser.test.ts) runs the minified build against a real collector.
const INTERNAL_PROPS =
  /^(prev|keyTs|base|baseTs|done|stored|sent|ended|text|stats|end|ack|sink|skip|bytes|outbox|hello|postMs|beacon|collectorUrl|WebSocketImpl|report|size|cut|last|memo)$/

/** esbuild options of the minified IIFE; the size test builds with these in memory (write: false). */
export const iifeOptions: BuildOptions = {
  entryPoints: [join(sdkDir, 'src/global.ts')],
  bundle: true,
  minify: true,
  mangleProps: INTERNAL_PROPS,
  format: 'iife',
  target: 'es2021',
  platform: 'browser',
  metafile: true,
  legalComments: 'none',
  // sdk/tsconfig.json's `strict` would prepend "use strict": the code is strict-safe either way (no
  // implicit globals, no `with`), and the budget is counted in bytes.
  tsconfigRaw: { compilerOptions: { verbatimModuleSyntax: true } },
}

/** esbuild options of the ESM build (not minified: the app's bundler does that). */
export const esmOptions: BuildOptions = {
  entryPoints: [join(sdkDir, 'src/index.ts')],
  bundle: true,
  format: 'esm',
  target: 'es2020',
  platform: 'neutral',
}

async function main(): Promise<void> {
  const dist = join(sdkDir, 'dist')
  rmSync(dist, { recursive: true, force: true })
  await build({ ...esmOptions, outfile: join(dist, 'index.js') })
  await build({ ...iifeOptions, outfile: join(dist, 'rtcpulse.min.js') })
  // Declarations straight from the sources. The SDK shares its protocol and delta codec with the server
  // (core/), so the declarations keep the repository's layout under dist/types: sdk/src/ and core/.
  execFileSync(
    process.execPath,
    [
      join(sdkDir, '../node_modules/typescript/bin/tsc'),
      '-p',
      join(sdkDir, 'tsconfig.json'),
      '--noEmit',
      'false',
      '--emitDeclarationOnly',
      '--declaration',
      '--rootDir',
      join(sdkDir, '..'),
      '--outDir',
      join(dist, 'types'),
    ],
    { stdio: 'inherit' },
  )
  // The sources import './x.ts'; declaration consumers resolve './x.js' to x.d.ts under every moduleResolution.
  for (const p of declarations(join(dist, 'types'))) {
    writeFileSync(p, readFileSync(p, 'utf8').replace(/(from '\.{1,2}\/[\w./-]+)\.ts'/g, "$1.js'"))
  }
}

function declarations(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? declarations(join(dir, e.name)) : e.name.endsWith('.d.ts') ? [join(dir, e.name)] : [],
  )
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) await main()
