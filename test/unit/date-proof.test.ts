// Guards "nothing may depend on the date": a suite that stores rows (chDB, a collector, the analyzer
// harness) must rebase recorded timestamps to its own clock, because every table's TTL is measured
// against the store's real clock. Recorded sequences are read through test/helpers/recorded.ts only, and
// such suites hold no absolute date. (Moving the whole clock ahead was tried: chDB is statically linked,
// so libfaketime cannot move the store's `now()`, and under it the suites ran 100x slower.)
import { readdirSync, readFileSync } from 'node:fs'
import { join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'

const root = fileURLToPath(new URL('..', import.meta.url))
const files = (dir: string): string[] =>
  readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
    e.isDirectory() ? files(join(dir, e.name)) : e.name.endsWith('.ts') ? [join(dir, e.name)] : [],
  )
const sources = files(root)
  .filter((f) => !f.includes(`${root}fixtures`) && f !== fileURLToPath(import.meta.url))
  .map((f) => ({ name: relative(root, f), text: readFileSync(f, 'utf8') }))

// A suite stores rows when it reaches a store, a collector or the analyzer harness.
const stores = (text: string): boolean =>
  /from '(\.\.\/)+(store\/|helpers\/(collector|analyzer-env|analyzer-feed|dashboards-data|stream-client)\.ts)/.test(
    text,
  )
const ABSOLUTE_DATE = /Date\.(parse|UTC)\(\s*['"]?20\d\d|new Date\(\s*['"]20\d\d|\b1[6-9]\d{11}\b/

describe('date-proof tests', () => {
  it('read recorded sequences only through the rebasing helper', () => {
    const direct = sources
      .filter((s) => s.name !== join('helpers', 'recorded.ts'))
      .filter((s) => /fixtures\/recorded\//.test(s.text) && stores(s.text))
      .map((s) => s.name)
    expect(direct).toEqual([])
  })

  it('hold no absolute date in a suite that stores rows', () => {
    const dated = sources.filter((s) => stores(s.text) && ABSOLUTE_DATE.test(s.text)).map((s) => s.name)
    expect(dated).toEqual([])
  })

  it('recognise the patterns they guard against', () => {
    expect(ABSOLUTE_DATE.test("Date.parse('2026-11-25T03:45:30.000Z')")).toBe(true)
    expect(ABSOLUTE_DATE.test('const t = 1764042330000')).toBe(true)
    expect(ABSOLUTE_DATE.test('Date.now() - 60_000')).toBe(false)
    expect(stores("import { createChdbStore } from '../../store/chdb.ts'")).toBe(true)
  })
})
