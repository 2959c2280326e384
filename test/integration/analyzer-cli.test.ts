// `rtcpulse analyze`: a chrome://webrtc-internals dump is scored offline with the live pipeline. The dump
// is built from recorded @roamhq/wrtc reports in Chrome's export format (test/helpers/analyzer-dump.ts):
// one browser holding both ends of a loopback call, video frames withheld for 6 s. A dump exported by a
// real Chrome will come from the browser test.
import { SCORE_VERSION } from '../../analyzer/score.ts'
import { execFile } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { analyzeDump } from '../../analyzer/cli.ts'
import { createChdbStore } from '../../store/chdb.ts'
import type { Store } from '../../store/index.ts'
import { migrate, removeRetention } from '../../store/migrate.ts'
import { buildInternalsDump } from '../helpers/analyzer-dump.ts'
import { loadRecorded } from '../helpers/recorded.ts'
import { guid, testDataDir } from '../helpers/collector.ts'

const run = promisify(execFile)
// The recording is moved to end 500 days ago, older than the longest retention (400 days): the offline
// store keeps no TTL, so a dump is scored whatever its age.
const recordedEnd = Date.now() - 500 * 86_400_000
const load = (name: string) => loadRecorded(name, recordedEnd)
const sender = load('sender-freeze-30s.json')
const t0 = (sender[0]?.[0]?.timestamp ?? 0) - 1500
const dump = buildInternalsDump(
  [
    {
      id: '2841-1',
      reports: sender,
      updateLog: [
        { time: new Date(t0).toISOString(), type: 'connectionstatechange', value: 'connecting' },
        { time: new Date(t0 + 500).toISOString(), type: 'connectionstatechange', value: 'connected' },
      ],
    },
    { id: '2841-2', reports: load('receiver-freeze-30s.json') },
  ],
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
)
const cli = new URL('../../bin/rtcpulse.js', import.meta.url).pathname
let store: Store
let file: string
const dir = mkdtempSync(join(tmpdir(), 'rtcpulse-dump-'))

beforeAll(async () => {
  store = await createChdbStore({ dataDir: testDataDir(), database: guid('cli') })
  await migrate(store)
  await removeRetention(store)
  file = join(dir, 'webrtc_internals_dump.txt')
  writeFileSync(file, JSON.stringify(dump))
})
afterAll(async () => {
  await store?.close()
  rmSync(dir, { recursive: true, force: true })
})

describe('rtcpulse analyze', () => {
  it('scores a webrtc-internals dump like a live session', async () => {
    const { json, text } = await analyzeDump(store, dump, 'dump.txt')
    const score = json.score as { overall: number; video: { penalties: Record<string, number> } }
    const issues = json.issues as { type: string; evidence: Record<string, number> }[]
    expect(score.overall).toBeLessThan(8.5)
    expect(score.video.penalties.freezes).toBeGreaterThan(1)
    expect(issues.map((i) => i.type)).toEqual(['freeze'])
    expect(issues[0]?.evidence.frozen_s).toBeGreaterThanOrEqual(5)
    // Both pcs of the loopback belong to the one browser: its outbound video pairs with its inbound.
    const streams = json.streams as { direction: string; kind: string; remotePeer: string }[]
    expect(streams).toHaveLength(4)
    expect(json.peers).toMatchObject([{ peer: 'local', browser: 'Chrome 131', os: 'Linux' }])
    expect(text).toContain('Session overall')
    expect(text).toMatch(/Issues \(1\)\n.*critical\s+freeze/)
  })

  it('runs from the command line, as text and as JSON', async () => {
    const textRun = await run(process.execPath, [cli, 'analyze', file])
    expect(textRun.stdout).toMatch(
      new RegExp(`^rtcpulse report: webrtc_internals_dump\\.txt \\(score v${SCORE_VERSION}\\)`),
    )
    expect(textRun.stdout).toContain('VP8')
    const jsonRun = await run(process.execPath, [cli, 'analyze', file, '--json'])
    const parsed = JSON.parse(jsonRun.stdout) as { final: boolean; series: { streams: unknown[] } }
    expect(parsed.final).toBe(true)
    expect(parsed.series.streams).toHaveLength(4)
  }, 30_000)

  it('exits with status 2 and a message for a file that is not a dump', async () => {
    const bad = join(dir, 'x.json')
    writeFileSync(bad, '{"hello": 1}')
    const err = (await run(process.execPath, [cli, 'analyze', bad]).catch((e: unknown) => e)) as {
      code: number
      stderr: string
    }
    expect(err.code).toBe(2)
    expect(err.stderr).toContain('not a webrtc-internals dump')
  }, 30_000)
})
