// The recorded 30-second call sequences (test/fixtures/recorded/), moved in time. Stored rows have TTLs
// measured against the store's clock, so a recording replayed with its original timestamps would be
// dropped as it is written once it is older than the shortest retention: every test that stores
// recorded reports rebases them to its own clock first (nothing may depend on the date).
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

export type RecordedStat = { id: string; type: string; timestamp: number; [k: string]: unknown }

const FIXTURES = new URL('../fixtures/', import.meta.url)
// A bare name is a file of test/fixtures/recorded/ (libwebrtc M106); `firefox/…` is under test/fixtures/.
const pathOf = (name: string): string =>
  fileURLToPath(new URL(name.includes('/') ? name : `recorded/${name}`, FIXTURES))
const cache = new Map<string, RecordedStat[][]>()

/** The file's reports exactly as recorded (a fresh copy each call). */
export function loadRecordedAsIs(name: string): RecordedStat[][] {
  let parsed = cache.get(name)
  if (!parsed) {
    const file = JSON.parse(readFileSync(pathOf(name), 'utf8')) as { reports: RecordedStat[][] }
    cache.set(name, (parsed = file.reports))
  }
  return structuredClone(parsed)
}

/**
 * The file's reports with every timestamp (remote-* objects included, so their lag is kept) shifted by
 * one amount so that the last report's poll time is `endMs` (default: now).
 */
export function loadRecorded(name: string, endMs: number = Date.now()): RecordedStat[][] {
  const reports = loadRecordedAsIs(name)
  const last = reports.at(-1)?.[0]?.timestamp ?? 0
  const shift = Math.round(endMs - last)
  for (const report of reports) for (const s of report) s.timestamp += shift
  return reports
}
