// The built-in view in a real headless Chromium (Debian's, through test/helpers/browser.ts, as
// web-view.test.ts launches it) on a two-peer session whose peers poll on clocks 437 ms apart, at
// jittered phases, one of them 980 ms into its second: every chart's drawn data (uPlot's own `data`,
// read from the page) holds all of each peer's points on one axis of whole seconds, each line unbroken;
// and the peers table shows each peer's clock skew against the collector. Guards issue 11's "charts
// break across devices": joined on exact milliseconds the same data drew isolated points.
import { mkdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import type { Browser, Page } from 'puppeteer-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { webView } from '../../dashboards/web/index.ts'
import { replayPeer } from '../helpers/analyzer-feed.ts'
import { browserMissing, launchBrowser, watchedPage } from '../helpers/browser.ts'
import { startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { drivenAnalyzer } from '../helpers/dashboards-analyzer.ts'
import { prng } from '../helpers/prng.ts'
import { reportSequence } from '../helpers/reports.ts'
import type { Stat } from '../helpers/reports.ts'

const missing = browserMissing('chromium')
const ARTIFACTS = fileURLToPath(new URL('../../test-artifacts/', import.meta.url))
const APP = 'clocks'
const SESSION = 'two-clocks'
const OFFSET_MS = 437

/** `n` reports one second apart from `startMs`, each moved by up to ±60 ms (seeded), as polled. */
function polled(side: 'sender' | 'receiver', n: number, startMs: number, seed: number): Stat[][] {
  const rnd = prng(seed)
  return reportSequence(side, n).map((stats, i) => {
    const shift = startMs + i * 1000 + Math.round((rnd() * 2 - 1) * 60) - (stats[0]?.timestamp ?? 0)
    for (const s of stats) s.timestamp += shift
    return stats
  })
}

/** What uPlot holds for each chart: its title, x values, and per series its label, spanGaps and values. */
interface Drawn {
  title: string
  xs: number[]
  series: { label: string; spanGaps: boolean; values: (number | null)[] }[]
}

async function drawnCharts(page: Page): Promise<Drawn[]> {
  return page.evaluate(() =>
    [...document.querySelectorAll<HTMLElement>('.chart[data-chart]')].map((el) => {
      const u = (
        el as HTMLElement & {
          uplot?: {
            data: (number | null)[][]
            series: { label?: string; spanGaps?: boolean }[]
          }
        }
      ).uplot
      if (!u) return { title: el.dataset.chart ?? '', xs: [], series: [] }
      return {
        title: el.dataset.chart ?? '',
        xs: (u.data[0] ?? []) as number[],
        series: u.series.slice(1).map((s, i) => ({
          label: s.label ?? '',
          spanGaps: s.spanGaps ?? false,
          values: u.data[i + 1] ?? [],
        })),
      }
    }),
  )
}

/** Non-null points of a series, and whether they form one unbroken run (no null between them). */
function runs(values: readonly (number | null)[]): { points: number; unbroken: boolean } {
  const idx = values.flatMap((v, i) => (v === null || v === undefined ? [] : [i]))
  const first = idx[0] ?? 0
  const last = idx.at(-1) ?? -1
  return { points: idx.length, unbroken: idx.length === 0 || last - first + 1 === idx.length }
}

describe.skipIf(missing)(
  `web view charts of peers on different clocks in Chromium${missing ? ` (skipped: ${missing})` : ''}`,
  () => {
    let c: TestCollector
    let browser: Browser
    let page: Page
    const problems: string[] = []
    // Each peer's last report time, and when the replays were sent (collector clock: this process's).
    let last: number[] = []
    const sent: [number, number] = [0, 0]

    beforeAll(async () => {
      const analyzer = drivenAnalyzer()
      // Replays send 61 frames at once: lift the per-connection frame rate limit.
      c = await startTestCollector({ RTCPULSE_MAX_FRAMES_PER_SECOND: '100000' }, [analyzer.plugin, webView])
      // 61 polls ending about now, so the stored skews are about the clocks' offsets: the sender 980 ms
      // into each second, the receiver on a clock 437 ms later.
      const n = 61
      const start = Math.floor((Date.now() - (n - 1) * 1000) / 1000) * 1000 + 980
      const reports = [polled('sender', n, start, 11), polled('receiver', n, start + OFFSET_MS, 12)]
      last = reports.map((r) => r.at(-1)?.[0]?.timestamp ?? 0)
      sent[0] = Date.now()
      await Promise.all(
        (['alice', 'bob'] as const).map((peer, i) =>
          replayPeer(c.streamUrl, { app: APP, session: SESSION, peer }, [
            { pc: 'pc1', reports: reports[i] as Stat[][] },
          ]),
        ),
      )
      sent[1] = Date.now()
      await analyzer.tick()
      browser = await launchBrowser('chromium')
      page = await watchedPage(browser, problems)
      mkdirSync(ARTIFACTS, { recursive: true })
    }, 60_000)

    afterAll(async () => {
      await browser?.close()
      await c?.stop()
    })

    it('draws every peer’s points on one axis of whole seconds, each line unbroken', async () => {
      await page.goto(`${c.url}/#/session/${SESSION}?app=${APP}`)
      await page.waitForSelector('.chart[data-chart="Video bitrate"] canvas')
      await expect
        .poll(async () => (await drawnCharts(page)).every((d) => d.xs.length > 0), { timeout: 10_000 })
        .toBe(true)
      const charts = await drawnCharts(page)
      expect(charts.map((d) => d.title)).toEqual(
        expect.arrayContaining(['Video bitrate', 'Frame rate', 'Jitter', 'Audio MOS', 'Round-trip time']),
      )
      for (const d of charts) {
        // One shared axis: whole seconds, one per second, about the call's 61 s (the peers' first and
        // last polls may fall in neighbouring seconds).
        expect(
          d.xs.every((x, i) => Number.isInteger(x) && (i === 0 || x - (d.xs[i - 1] as number) === 1)),
        ).toBe(true)
        expect(d.xs.length, d.title).toBeGreaterThanOrEqual(61)
        expect(d.xs.length, d.title).toBeLessThanOrEqual(62)
        for (const s of d.series) {
          const r = runs(s.values)
          expect(s.spanGaps, `${d.title} / ${s.label}`).toBe(false)
          expect(r.unbroken, `${d.title} / ${s.label} breaks where data exists`).toBe(true)
          // Rates start at the second report; gauges (RTT, jitter) may start at the first.
          expect(r.points, `${d.title} / ${s.label}`).toBeGreaterThanOrEqual(60)
        }
      }
      // The bitrate chart draws both peers' video, all 60 rates each.
      const bitrate = charts.find((d) => d.title === 'Video bitrate')
      expect(bitrate?.series.map((s) => s.label).sort()).toEqual([
        'alice outbound video',
        'bob inbound video',
      ])
      for (const s of bitrate?.series ?? []) expect(runs(s.values).points).toBe(60)
      await page.screenshot({ path: `${ARTIFACTS}web-view-clocks.png`, fullPage: true })
    })

    it('shows each peer’s clock skew against the collector', async () => {
      const cells = await page.$$eval('table.peers tbody tr', (rows) =>
        rows.map((r) => [r.children[0]?.textContent ?? '', r.querySelector('td.clock')?.textContent ?? '']),
      )
      const skew = new Map(cells.map(([peer, text]) => [peer ?? '', text ?? '']))
      const ms = (s: string | undefined): number => {
        const m = /^([+−]?)(\d+(?:\.\d+)?) (ms|s)$/.exec(s ?? '')
        if (!m) throw new Error(`not a skew: ${s}`)
        return (m[1] === '−' ? -1 : 1) * Number(m[2]) * (m[3] === 's' ? 1000 : 1)
      }
      // Each estimate is the latest report time less its arrival, which fell while the replays were
      // sent; Bob's clock reads 437 ± 60 ms later than Alice's.
      for (const [i, peer] of ['alice', 'bob'].entries()) {
        expect(ms(skew.get(peer)), peer).toBeGreaterThanOrEqual((last[i] as number) - sent[1] - 1)
        expect(ms(skew.get(peer)), peer).toBeLessThanOrEqual((last[i] as number) - sent[0] + 1)
      }
      expect(ms(skew.get('bob')) - ms(skew.get('alice'))).toBeGreaterThan(
        OFFSET_MS - 60 - (sent[1] - sent[0]) - 2,
      )
      expect(problems).toEqual([])
    })
  },
)
