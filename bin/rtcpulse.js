#!/usr/bin/env node
// The `rtcpulse` command. In a checkout (the TypeScript sources beside this file, tsx installed) it runs
// the sources through tsx, so an edit shows at the next start and a dist/ left by an earlier build is
// never run by mistake; an installed package, or a checkout installed without dev dependencies, runs the
// JavaScript that `npm run build` wrote to dist/. `node dist/bin/cli.js` runs the build in a checkout.
import { existsSync } from 'node:fs'

const sources = new URL('./cli.ts', import.meta.url)
const built = new URL('../dist/bin/cli.js', import.meta.url)

/** True when tsx can be loaded from here (a dev install). */
function hasTsx() {
  try {
    import.meta.resolve('tsx/esm/api')
    return true
  } catch {
    return false
  }
}

let cli
if (existsSync(sources) && hasTsx()) {
  const { register } = await import('tsx/esm/api')
  register()
  cli = await import(sources.href)
} else if (existsSync(built)) {
  cli = await import(built.href)
} else {
  process.stderr.write(
    'rtcpulse: dist/ is missing: run `npm run build` (or `npm install` to run the sources)\n',
  )
  process.exit(1)
}
await cli.main(process.argv.slice(2))
