// Maps positions in a CPU profile of code run through tsx back to the TypeScript source. tsx compiles
// each file with esbuild (whitespace minified, so a module is a few very long lines); running the same
// transform here gives the same output and its source map. Approximate only if tsx's options change.
import { readFileSync } from 'node:fs'
import { transformSync } from 'esbuild'

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/'

/** Decodes a source map `mappings` string into [genCol, srcLine, srcCol] per generated line (0-based). */
function decodeMappings(mappings: string): [number, number, number][][] {
  const lines: [number, number, number][][] = []
  let srcLine = 0
  let srcCol = 0
  let src = 0
  for (const line of mappings.split(';')) {
    const segs: [number, number, number][] = []
    let genCol = 0
    for (const seg of line.split(',')) {
      if (!seg) continue
      const vals: number[] = []
      let shift = 0
      let value = 0
      for (const ch of seg) {
        const d = B64.indexOf(ch)
        value += (d & 31) << shift
        if (d & 32) shift += 5
        else {
          vals.push(value & 1 ? -(value >>> 1) : value >>> 1)
          value = shift = 0
        }
      }
      genCol += vals[0] ?? 0
      if (vals.length >= 4) {
        src += vals[1] as number
        srcLine += vals[2] as number
        srcCol += vals[3] as number
        segs.push([genCol, srcLine, srcCol])
      }
    }
    lines.push(segs)
  }
  void src
  return lines
}

interface Mapped {
  lines: [number, number, number][][]
  source: string[]
}
const cache = new Map<string, Mapped | null>()

function load(file: string): Mapped | null {
  if (cache.has(file)) return cache.get(file) as Mapped | null
  let mapped: Mapped | null = null
  try {
    const source = readFileSync(file, 'utf8')
    const out = transformSync(source, {
      loader: file.endsWith('.tsx') ? 'tsx' : 'ts',
      format: 'esm',
      target: `node${process.versions.node}`,
      sourcemap: 'external',
      minifyWhitespace: true,
      keepNames: true,
      sourcefile: file,
    })
    const map = JSON.parse(out.map) as { mappings: string }
    mapped = { lines: decodeMappings(map.mappings), source: source.split('\n') }
  } catch {
    mapped = null
  }
  cache.set(file, mapped)
  return mapped
}

/** Source line (1-based) and its trimmed text for a generated 0-based line/column of `file`, if mappable. */
export function originalPosition(
  file: string,
  line: number,
  column: number,
): { line: number; text: string } | undefined {
  if (!/\.tsx?$/.test(file)) return undefined
  const m = load(file)
  const segs = m?.lines[line]
  if (!m || !segs || segs.length === 0) return undefined
  let best = segs[0] as [number, number, number]
  for (const s of segs) {
    if (s[0] > column) break
    best = s
  }
  return { line: best[1] + 1, text: (m.source[best[1]] ?? '').trim().slice(0, 80) }
}
