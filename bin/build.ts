// Builds the server into dist/ (`npm run build`, after the SDK and the web view): tsc emits JavaScript for
// every module reachable from the entry points of tsconfig.build.json, in the same tree as the sources
// (dist/bin/cli.js, dist/store/migrate.js, …), so code that finds its files next to itself through
// `import.meta.url` finds them in dist/ too; the folders of data those modules read are copied beside them.
// Usage: npx tsx bin/build.ts. test/integration/package-install.test.ts installs and starts the result.
import { execFileSync } from 'node:child_process'
import { cpSync, existsSync, readFileSync, readdirSync, rmSync } from 'node:fs'
import { createRequire } from 'node:module'
import { builtinModules } from 'node:module'
import { dirname, join, relative } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = join(dirname(fileURLToPath(import.meta.url)), '..')
const dist = join(root, 'dist')

/** Every file under `dir` (relative paths), without node_modules. */
function walk(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    if (e.name === 'node_modules') return []
    const p = join(dir, e.name)
    return e.isDirectory() ? walk(p) : [p]
  })
}

/** Runs tsc with tsconfig.build.json; throws (with tsc's output on stderr) when it reports an error. */
function emit(): void {
  const tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc')
  execFileSync(process.execPath, [tsc, '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' })
}

/**
 * Copies the data folders of the emitted modules: a subfolder of a source folder that holds no TypeScript
 * (store/migrations/, the prebuilt dashboards/web/dist/) is read at run time by the modules beside it.
 * Returns the folders copied, relative to the project.
 */
function copyData(): string[] {
  const emitted = new Set(
    walk(dist)
      .filter((f) => f.endsWith('.js'))
      .map((f) => relative(dist, dirname(f))),
  )
  const copied: string[] = []
  for (const dir of emitted) {
    const src = join(root, dir)
    if (!existsSync(src)) continue
    for (const e of readdirSync(src, { withFileTypes: true })) {
      const sub = join(src, e.name)
      if (!e.isDirectory() || e.name === 'node_modules' || emitted.has(relative(root, sub))) continue
      if (walk(sub).some((f) => f.endsWith('.ts'))) continue
      cpSync(sub, join(dist, relative(root, sub)), { recursive: true })
      copied.push(relative(root, sub))
    }
  }
  return copied.sort()
}

/**
 * Fails when built code imports, statically, a package that is not a runtime dependency: the published
 * package installs only `dependencies`. Dynamic imports are optional by design (the web view's esbuild,
 * with the prebuilt bundle as fallback).
 */
function checkImports(): void {
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as {
    dependencies?: Record<string, string>
  }
  const allowed = new Set([...Object.keys(pkg.dependencies ?? {}), ...builtinModules])
  const missing = new Set<string>()
  for (const file of walk(dist).filter((f) => f.endsWith('.js'))) {
    for (const m of readFileSync(file, 'utf8').matchAll(
      /^\s*(?:import|export)\b(?:[^'"]*?\bfrom)?\s*'([^'.][^']*)'/gm,
    )) {
      const spec = (m[1] as string).replace(/^node:/, '')
      const name = spec.startsWith('@')
        ? spec.split('/').slice(0, 2).join('/')
        : (spec.split('/')[0] as string)
      if (!allowed.has(name)) missing.add(`${name} (${relative(root, file)})`)
    }
  }
  if (missing.size)
    throw new Error(`built code imports packages that are not dependencies: ${[...missing].join(', ')}`)
}

rmSync(dist, { recursive: true, force: true })
emit()
const data = copyData()
checkImports()
process.stdout.write(`wrote dist/ (server JavaScript; data folders: ${data.join(', ') || 'none'})\n`)
