// `npm run dashboards`: writes the generated Grafana dashboards, Prometheus rule files and Grafana
// alerting provisioning. `--check` writes nothing and exits 1 if any file is out of date.
import { readFile, writeFile } from 'node:fs/promises'
import { ROOT, generate } from './generate.ts'

const check = process.argv.includes('--check')
let stale = 0
for (const file of await generate()) {
  const current = await readFile(ROOT + file.path, 'utf8').catch(() => undefined)
  if (current === file.content) continue
  stale++
  if (check) process.stderr.write(`out of date: ${file.path}\n`)
  else {
    await writeFile(ROOT + file.path, file.content)
    process.stdout.write(`wrote ${file.path}\n`)
  }
}
if (check && stale > 0) {
  process.stderr.write('run `npm run dashboards` (tsx dashboards/build.ts) and commit the result\n')
  process.exitCode = 1
}
