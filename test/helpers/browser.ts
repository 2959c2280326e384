// One browser driver for every browser test: puppeteer-core drives Debian's Chromium (CDP) and
// Debian's Firefox ESR (WebDriver BiDi), both headless with a fake camera and microphone and no
// permission prompts. puppeteer-core downloads no browser: the system's are used, and a test whose
// browser is missing is skipped with that reason.
import { existsSync } from 'node:fs'
import puppeteer from 'puppeteer-core'
import type { Browser, Page } from 'puppeteer-core'

export type BrowserName = 'chromium' | 'firefox'

export const BROWSER_PATHS: Record<BrowserName, string> = {
  chromium: '/usr/bin/chromium',
  firefox: '/usr/bin/firefox-esr',
}

/** Why `name` cannot run here (its executable is missing), or undefined when it can. */
export function browserMissing(name: BrowserName): string | undefined {
  const path = BROWSER_PATHS[name]
  return existsSync(path) ? undefined : `${path} is not installed`
}

const CHROMIUM_ARGS = [
  '--headless=new',
  '--no-sandbox',
  '--disable-gpu',
  // A synthetic camera (test pattern) and microphone (beep), granted without a prompt.
  '--use-fake-ui-for-media-stream',
  '--use-fake-device-for-media-stream',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
]

// Firefox about:config equivalents: fake media devices without a permission prompt, and nothing that
// phones home or updates itself during a test.
const FIREFOX_PREFS: Record<string, unknown> = {
  'media.navigator.streams.fake': true,
  'media.navigator.permission.disabled': true,
  // The fake camera's frame size when constraints leave it open (Firefox's default is 320x240 or less).
  'media.navigator.video.default_width': 640,
  'media.navigator.video.default_height': 360,
  'media.navigator.video.default_fps': 30,
  'app.update.enabled': false,
  'browser.shell.checkDefaultBrowser': false,
  'datareporting.policy.dataSubmissionEnabled': false,
  'toolkit.telemetry.enabled': false,
}

/**
 * Launches headless `name` from its Debian path. Throws if it cannot start. Pages that call
 * getUserMedia must be served from http://127.0.0.1 (a secure context), not about:blank.
 */
export async function launchBrowser(name: BrowserName): Promise<Browser> {
  if (name === 'chromium') {
    return puppeteer.launch({
      browser: 'chrome',
      executablePath: BROWSER_PATHS.chromium,
      headless: true,
      args: CHROMIUM_ARGS,
    })
  }
  return puppeteer.launch({
    browser: 'firefox',
    protocol: 'webDriverBiDi',
    executablePath: BROWSER_PATHS.firefox,
    headless: true,
    extraPrefsFirefox: FIREFOX_PREFS,
  })
}

/**
 * A new 1280x900 page of `browser` whose console errors, uncaught exceptions and HTTP error responses
 * are collected into `problems` (a view test expects none).
 */
export async function watchedPage(browser: Browser, problems: string[]): Promise<Page> {
  const page = await browser.newPage()
  await page.setViewport({ width: 1280, height: 900 })
  // Errors only: Chromium warns about the tests' own getImageData readbacks.
  page.on('console', (m) => {
    if (m.type() === 'error') problems.push(`console: ${m.text()}`)
  })
  page.on('pageerror', (err) => problems.push(`pageerror: ${String(err)}`))
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`${r.status()} ${r.url()}`)
  })
  return page
}
