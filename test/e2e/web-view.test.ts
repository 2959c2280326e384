// The built-in view in a real headless Chromium (Debian's, through puppeteer-core) against a real
// collector serving it at `/`, with the analyzer's API and scores of recorded calls behind it: the
// session list shows scored sessions and the score distribution; the session page draws its uPlot
// charts (pixels of the series colours on each canvas) with issue bands, under the page's strict CSP
// and without console errors. Screenshots go to test-artifacts/.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { PALETTE } from '../../dashboards/web/src/charts.ts'
import { webView } from '../../dashboards/web/index.ts'
import { browserMissing, launchBrowser, watchedPage } from '../helpers/browser.ts'
import { openFeeder } from '../helpers/analyzer-feed.ts'
import { startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { drivenAnalyzer } from '../helpers/dashboards-analyzer.ts'
import { feedRecordedCall } from '../helpers/dashboards-data.ts'

const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))
const APP = 'webview'

const rgb = (hex: string): [number, number, number] =>
  [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as [number, number, number]

/** Pixels of each canvas under `selector` close to `rgb` (and, if given, with alpha in `alpha`). */
async function colourPixels(
  page: Page,
  selector: string,
  rgb: [number, number, number],
  alpha: [number, number] = [200, 255],
): Promise<number[]> {
  return page.evaluate(
    ({ selector, rgb, alpha }) =>
      [...document.querySelectorAll<HTMLCanvasElement>(selector)].map((canvas) => {
        const ctx = canvas.getContext('2d')
        if (!ctx || canvas.width === 0 || canvas.height === 0) return 0
        const data = ctx.getImageData(0, 0, canvas.width, canvas.height).data
        let n = 0
        for (let i = 0; i < data.length; i += 4) {
          const a = data[i + 3] as number
          if (a < alpha[0] || a > alpha[1]) continue
          const d =
            Math.abs((data[i] as number) - rgb[0]) +
            Math.abs((data[i + 1] as number) - rgb[1]) +
            Math.abs((data[i + 2] as number) - rgb[2])
          if (d < 60) n++
        }
        return n
      }),
    { selector, rgb, alpha },
  )
}

const missing = browserMissing('chromium')

/** How many elements match `selector` now. */
const count = (page: Page, selector: string): Promise<number> => page.$$eval(selector, (els) => els.length)

describe.skipIf(missing !== undefined)(
  `built-in web view in Chromium${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let c: TestCollector
    let browser: Browser
    let page: Page
    const problems: string[] = []

    const analyzer = drivenAnalyzer()

    beforeAll(async () => {
      c = await startTestCollector({}, [analyzer.plugin, webView])
      // A call over a lossy, slow network (poor, with issues), a call with a video freeze, a clean one.
      await Promise.all([
        feedRecordedCall(c.streamUrl, 'call-degraded', {
          app: APP,
          recording: 'freeze',
          impairment: { loss: 0.08, rttMs: 600, jitterMs: 60 },
        }),
        feedRecordedCall(c.streamUrl, 'call-freeze', { app: APP, recording: 'freeze', endsAgoMs: 120_000 }),
        feedRecordedCall(c.streamUrl, 'call-clean', { app: APP, recording: 'baseline', endsAgoMs: 240_000 }),
      ])
      await analyzer.tick()
      browser = await launchBrowser('chromium')
      page = await watchedPage(browser, problems)
      mkdirSync(ARTIFACTS, { recursive: true })
    }, 60_000)

    afterAll(async () => {
      await browser?.close()
      await c?.stop()
    })

    it('serves the page and its bundle with a strict content security policy', async () => {
      const res = await fetch(`${c.url}/`)
      expect(res.status).toBe(200)
      expect(res.headers.get('content-security-policy')).toContain("script-src 'self'")
      const html = await res.text()
      const js = /src="(\/ui\/app\.js\?v=\w+)"/.exec(html)?.[1]
      expect(js).toBeDefined()
      const bundle = await fetch(`${c.url}${js}`)
      expect(bundle.headers.get('content-type')).toMatch(/javascript/)
      expect((await bundle.text()).length).toBeGreaterThan(10_000)
    })

    it('lists the scored sessions with the score distribution', async () => {
      await page.goto(`${c.url}/#/sessions?app=${APP}`)
      await page.waitForSelector('table.sessions tbody tr')
      expect(await count(page, 'table.sessions tbody tr')).toBe(3)
      await expect.poll(() => count(page, 'td.score.poor')).toBe(1)
      // The histogram's bars: the poor band's red and the good band's green are both drawn.
      await page.waitForSelector('.histogram canvas')
      const [red] = await colourPixels(page, '.histogram canvas', [196, 22, 42])
      const [green] = await colourPixels(page, '.histogram canvas', [55, 135, 45])
      expect(red).toBeGreaterThan(100)
      expect(green).toBeGreaterThan(100)
      await page.screenshot({ path: `${ARTIFACTS}web-view-sessions.png`, fullPage: true })
    })

    it('draws the session page charts with their issue markers', async () => {
      await page.locator('a::-p-text(call-degraded)').click()
      await page.waitForFunction(() => document.querySelectorAll('.chart canvas').length > 6)
      const titles = await page.$$eval('.chart[data-chart]', (els) =>
        els.map((e) => e.getAttribute('data-chart')),
      )
      expect(titles).toEqual(
        expect.arrayContaining([
          'Video bitrate',
          'Frame rate',
          'Packet loss',
          'Jitter',
          'Audio MOS',
          'Round-trip time',
        ]),
      )
      // Every chart has drawn series lines (pixels in the series palette), not just axes and grid.
      const perColour = await Promise.all(
        PALETTE.slice(0, 4).map((hex) => colourPixels(page, '.chart[data-chart] canvas', rgb(hex))),
      )
      const series = titles.map((_t, i) => perColour.reduce((sum, counts) => sum + (counts[i] ?? 0), 0))
      for (const [i, n] of series.entries())
        expect(n, `chart ${titles[i]} has no series pixels`).toBeGreaterThan(50)
      // Issue bands: the critical packet-loss issue shaded on the loss chart (translucent red) …
      const band = await colourPixels(
        page,
        '.chart[data-chart="Packet loss"] canvas',
        [242, 73, 92],
        [40, 90],
      )
      expect(band[0]).toBeGreaterThan(1000)
      // … and listed in the issue table.
      await expect.poll(() => count(page, 'table.issues tbody tr')).toBeGreaterThan(2)
      await page.screenshot({ path: `${ARTIFACTS}web-view-session.png`, fullPage: true })
      await page.screenshot({
        path: `${ARTIFACTS}web-view-session-top.png`,
        clip: { x: 0, y: 0, width: 1280, height: 1700 },
        captureBeyondViewport: true,
      })
      expect(problems).toEqual([])
    })

    it('shows a camera-denied session by its outcome instead of a score', async () => {
      const f = await openFeeder(c.streamUrl, { app: APP, session: 'call-denied', peer: 'alice' })
      f.event('_', 'getUserMedia.error', { name: 'NotAllowedError', message: 'Permission denied' })
      await f.close()
      await analyzer.tick()
      await page.goto(`${c.url}/#/sessions?app=${APP}&outcome=setup_failed`)
      await page.waitForSelector('table.sessions td.outcome')
      expect(await count(page, 'table.sessions tbody tr')).toBe(1)
      expect(await page.$eval('table.sessions td.outcome', (e) => e.textContent)).toBe(
        'setup failed: media access denied',
      )
      await page.locator('a::-p-text(call-denied)').click()
      await page.waitForSelector('p.outcome')
      expect(await page.$eval('p.outcome', (e) => e.textContent)).toBe(
        'getUserMedia failed with NotAllowedError: Permission denied',
      )
      await expect.poll(() => count(page, 'table.issues tbody tr')).toBe(1)
      expect(problems).toEqual([])
    })
  },
)
