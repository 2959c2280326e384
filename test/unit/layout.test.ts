// The layout (README "Layout") is enforced by ESLint's `layer` rules; this guards what ESLint cannot see:
// every source folder is in the container image and in the typecheck, so a new folder cannot be left out.
import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'

const root = new URL('../../', import.meta.url)
const read = (f: string): string => readFileSync(new URL(f, root), 'utf8')
const NOT_SHIPPED = new Set(['test', 'bench', 'docs', 'deploy', 'scratch', '.scratch', '.ci'])

/** Top-level folders that hold TypeScript sources of the product, from git's own file list. */
function sourceFolders(): string[] {
  const files = execFileSync('git', ['ls-files', '*.ts'], { cwd: root, encoding: 'utf8' }).split('\n')
  const top = new Set(files.filter((f) => f.includes('/')).map((f) => f.slice(0, f.indexOf('/'))))
  return [...top].filter((f) => !NOT_SHIPPED.has(f)).sort()
}

describe('layout', () => {
  it('finds the layers README names', () => {
    expect(sourceFolders()).toEqual(
      expect.arrayContaining(['analyzer', 'bin', 'collector', 'core', 'dashboards', 'lib', 'sdk', 'store']),
    )
  })

  it('copies every source folder into the collector image (docker-compose.yml)', () => {
    const compose = read('docker-compose.yml')
    for (const f of sourceFolders()) expect(compose, f).toContain(`COPY ${f} ./${f}`)
  })

  it('typechecks every source folder (tsconfig.json include)', () => {
    const include = (JSON.parse(read('tsconfig.json')) as { include: string[] }).include
    for (const f of sourceFolders())
      expect(
        include.some((i) => i === f || i.startsWith(`${f}/`)),
        f,
      ).toBe(true)
  })

  it('names every layer in the README table', () => {
    const readme = read('README.md')
    for (const f of sourceFolders()) expect(readme, f).toContain(`| \`${f}/\` |`)
  })
})
