// Keeps the front door honest: the README's configuration table must list exactly the variables the
// code reads, with the defaults the code applies.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { CONFIG_VARS } from '../../collector/config.ts'
import { ANALYZER_VARS } from '../../analyzer/config.ts'

const root = new URL('../../', import.meta.url)
const readme = readFileSync(new URL('README.md', root), 'utf8')
const configSource =
  readFileSync(new URL('collector/config.ts', root), 'utf8') +
  readFileSync(new URL('analyzer/config.ts', root), 'utf8')
const ALL_VARS = [...CONFIG_VARS, ...ANALYZER_VARS]

const names = (label: string): string[] => label.split('/').map((n) => n.trim())

describe('README configuration tables', () => {
  const rows = new Map<string, string>()
  for (const m of readme.matchAll(/^\| `([A-Z_]+(?:` \/ `[A-Z_]+)?)` \| ([^|]+) \|/gm)) {
    rows.set((m[1] as string).replace(/` \/ `/g, ' / '), (m[2] as string).trim())
  }

  it('lists every variable of CONFIG_VARS and ANALYZER_VARS with its default', () => {
    for (const [name, def] of ALL_VARS) {
      expect(rows.has(name), `README is missing ${name}`).toBe(true)
      expect(rows.get(name)).toBe(def)
    }
    expect([...rows.keys()].sort()).toEqual(ALL_VARS.map(([n]) => n).sort())
  })

  it('documents every variable that loadConfig reads', () => {
    const documented = new Set(ALL_VARS.flatMap(([n]) => names(n)))
    const read = new Set<string>()
    for (const m of configSource.matchAll(/env(?:\.|, ')([A-Z][A-Z0-9_]+)/g)) read.add(m[1] as string)
    expect(read.size).toBeGreaterThan(10)
    for (const name of read) expect(documented.has(name), `${name} is read but not documented`).toBe(true)
  })
})
