// The SDK ships inside other people's pages: the <script> build must stay within 4 KB min+gzip
// (DESIGN.md targets) and must contain nothing but sdk/src and the wire modules it shares with the server (core/protocol.ts,
// core/delta.ts) — no dependency, no collector code pulled in
// through an import that should have been `import type`. Built in memory with the options sdk/build.ts
// uses, so the test measures exactly what ships.
import { runInNewContext } from 'node:vm'
import { gzipSync } from 'node:zlib'
import { build } from 'esbuild'
import { describe, expect, it } from 'vitest'
import { esmOptions, iifeOptions } from '../../sdk/build.ts'

const BUDGET = 4096
// The SDK's own sources and the two pure modules of core/ it shares; never core/derive.ts or server code.
const SDK_INPUT = /^(sdk\/src\/[\w-]+|core\/(protocol|delta))\.ts$/

describe('SDK bundle', () => {
  it(`fits the minified IIFE in ${BUDGET} bytes gzipped, built from sdk/src and core/ only`, async () => {
    const result = await build({ ...iifeOptions, write: false, outfile: 'rtcpulse.min.js' })
    const js = result.outputFiles[0]?.contents ?? new Uint8Array()
    const gzipped = gzipSync(js, { level: 9 }).length
    console.log(`rtcpulse.min.js: ${js.length} B minified, ${gzipped} B gzipped`)
    expect(gzipped).toBeLessThanOrEqual(BUDGET)
    const inputs = Object.keys(result.metafile?.inputs ?? {})
    expect(inputs.length).toBeGreaterThan(3)
    for (const input of inputs) expect(input).toMatch(SDK_INPUT)
  })

  it('bundles the ESM build from sdk/src and core/ only', async () => {
    const result = await build({ ...esmOptions, write: false, outfile: 'index.js', metafile: true })
    for (const input of Object.keys(result.metafile?.inputs ?? {})) expect(input).toMatch(SDK_INPUT)
  })

  it('exposes createMonitor on the global rtcpulse', async () => {
    const result = await build({ ...iifeOptions, write: false, outfile: 'rtcpulse.min.js' })
    const scope: { rtcpulse?: { createMonitor?: unknown } } = {}
    runInNewContext(result.outputFiles[0]?.text ?? '', scope)
    expect(typeof scope.rtcpulse?.createMonitor).toBe('function')
  })
})
