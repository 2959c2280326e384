// Prebuilds the built-in view into dashboards/web/dist (app.js, app.css), which the collector serves
// when present instead of bundling on its first request: for images installed without dev dependencies.
import { mkdir, writeFile } from 'node:fs/promises'
import { WEB_DIR, bundleWeb } from './bundle.ts'

const assets = await bundleWeb()
await mkdir(`${WEB_DIR}dist`, { recursive: true })
await writeFile(`${WEB_DIR}dist/app.js`, assets.js)
await writeFile(`${WEB_DIR}dist/app.css`, assets.css)
process.stdout.write(
  `wrote dashboards/web/dist (app.js ${assets.js.length} B, app.css ${assets.css.length} B)\n`,
)
