// Records real getStats() reports of a loopback @roamhq/wrtc call as JSON fixtures.
// Usage: npx tsx test/helpers/record-reports.ts [seconds=30] [outDir=test/fixtures/recorded]
import { mkdir, writeFile } from 'node:fs/promises'
import { createRequire } from 'node:module'
import path from 'node:path'
import { fileURLToPath, pathToFileURL } from 'node:url'
import { format, resolveConfig } from 'prettier'
import { startWrtcCall } from './wrtc-call.ts'
import type { WrtcCall } from './wrtc-call.ts'

/** One stats object as returned by getStats(), e.g. `{ id, type: 'inbound-rtp', timestamp, ... }`. */
export type RecordedStat = Record<string, unknown>

/** Shape of every fixture file written by this script. */
export interface RecordedReports {
  recordedWith: string
  intervalMs: number
  /** One entry per interval: the full report of that side at that moment. */
  reports: RecordedStat[][]
}

export interface Recording {
  sender: RecordedStat[][]
  receiver: RecordedStat[][]
}

export interface RecordOptions {
  /** Number of reports per side, one every `intervalMs`. */
  seconds: number
  intervalMs?: number
  width?: number
  height?: number
  fps?: number
  /** Called with ms since recording started (first report is at `intervalMs`); return true to skip video. */
  withholdVideo?: (recordingMs: number) => boolean
  /** Called once per report with ms since recording started, before the stats are taken. */
  onTick?: (recordingMs: number, call: WrtcCall) => Promise<void> | void
}

const MAX_FILE_BYTES = 1_500_000
const require = createRequire(import.meta.url)
const wrtcVersion = (require('@roamhq/wrtc/package.json') as { version: string }).version

/**
 * Runs one call and samples both sides' getStats() every intervalMs (default 1000) after connecting.
 * Rejects if the call does not connect; the call is always closed.
 */
export async function recordCall(options: RecordOptions): Promise<Recording> {
  const intervalMs = options.intervalMs ?? 1000
  let recordingStart: number | undefined
  const sinceStart = () => (recordingStart === undefined ? -1 : performance.now() - recordingStart)
  const call = startWrtcCall({
    width: options.width,
    height: options.height,
    fps: options.fps,
    withholdVideo: () => options.withholdVideo?.(sinceStart()) ?? false,
  })
  const recording: Recording = { sender: [], receiver: [] }
  try {
    await call.waitConnected()
    recordingStart = performance.now()
    for (let i = 1; i <= options.seconds; i++) {
      // Sleep to an absolute deadline so per-sample jitter does not accumulate into drift.
      await sleep(recordingStart + i * intervalMs - performance.now())
      await options.onTick?.(sinceStart(), call)
      const [sender, receiver] = await Promise.all([call.a.getStats(), call.b.getStats()])
      recording.sender.push(plain(sender))
      recording.receiver.push(plain(receiver))
    }
    return recording
  } finally {
    await call.close()
  }
}

/**
 * Serialises reports in the fixture format, prettier-formatted like the rest of the repo. Drops
 * certificate `base64Certificate` only if the file would otherwise exceed 1.5 MB. Never throws on size.
 */
export async function fixtureJson(
  reports: RecordedStat[][],
  intervalMs: number,
  file: string,
): Promise<string> {
  const config = (await resolveConfig(file)) ?? {}
  const render = (r: RecordedStat[][]) => {
    const body: RecordedReports = { recordedWith: `@roamhq/wrtc ${wrtcVersion}`, intervalMs, reports: r }
    return format(JSON.stringify(body), { ...config, filepath: file })
  }
  const full = await render(reports)
  if (Buffer.byteLength(full) <= MAX_FILE_BYTES) return full
  return render(
    reports.map((report) =>
      report.map((s) => {
        if (s.type !== 'certificate') return s
        const { base64Certificate: _dropped, ...rest } = s
        return rest
      }),
    ),
  )
}

/** Headline figures of a recording, for the console and the fixtures README. Pure, never throws. */
export function summarize({ sender, receiver }: Recording, intervalMs = 1000) {
  const pick = (report: RecordedStat[] | undefined, type: string, kind: string) =>
    report?.find((s) => s.type === type && s.kind === kind)
  const num = (s: RecordedStat | undefined, key: string) => {
    const v = s?.[key]
    return typeof v === 'number' ? v : 0
  }
  const perSecond = sender.map((report, i) => {
    const prevOut = pick(sender[i - 1], 'outbound-rtp', 'video')
    const out = pick(report, 'outbound-rtp', 'video')
    const prevIn = pick(receiver[i - 1], 'inbound-rtp', 'video')
    const inb = pick(receiver[i], 'inbound-rtp', 'video')
    const seconds = intervalMs / 1000
    return {
      t: ((i + 1) * intervalMs) / 1000,
      videoKbps: Math.round(((num(out, 'bytesSent') - num(prevOut, 'bytesSent')) * 8) / 1000 / seconds),
      sentFps: num(out, 'framesPerSecond'),
      decodedFps: Math.round((num(inb, 'framesDecoded') - num(prevIn, 'framesDecoded')) / seconds),
      width: num(inb, 'frameWidth'),
    }
  })
  const last = receiver.at(-1)
  const track = last?.find((s) => s.type === 'track' && s.kind === 'video' && s.remoteSource === true)
  const audioIn = pick(last, 'inbound-rtp', 'audio')
  const videoIn = pick(last, 'inbound-rtp', 'video')
  const audioOut = pick(sender.at(-1), 'outbound-rtp', 'audio')
  return {
    perSecond,
    totals: {
      seconds: (sender.length * intervalMs) / 1000,
      videoKbpsAvg: Math.round(perSecond.reduce((sum, s) => sum + s.videoKbps, 0) / (perSecond.length || 1)),
      audioKbpsAvg: Math.round(
        (num(audioOut, 'bytesSent') * 8) / 1000 / ((sender.length * intervalMs) / 1000),
      ),
      videoFramesDecoded: num(videoIn, 'framesDecoded'),
      videoFramesDropped: num(videoIn, 'framesDropped'),
      videoPacketsLost: num(videoIn, 'packetsLost'),
      freezeCount: num(track, 'freezeCount'),
      totalFreezesDuration: num(track, 'totalFreezesDuration'),
      audioPacketsReceived: num(audioIn, 'packetsReceived'),
      audioPacketsLost: num(audioIn, 'packetsLost'),
      audioConcealedSamples: num(audioIn, 'concealedSamples'),
      statsPerReport: { sender: sender[0]?.length ?? 0, receiver: receiver[0]?.length ?? 0 },
    },
  }
}

function plain(report: RTCStatsReport): RecordedStat[] {
  const out: RecordedStat[] = []
  // A JSON round trip guarantees plain data (no prototypes, no undefined) whatever the binding returns.
  report.forEach((s: unknown) => out.push(JSON.parse(JSON.stringify(s)) as RecordedStat))
  return out
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, Math.max(0, ms)))
}

async function writeFixture(outDir: string, name: string, reports: RecordedStat[][], intervalMs: number) {
  const file = path.join(outDir, name)
  const json = await fixtureJson(reports, intervalMs, file)
  await writeFile(file, json)
  console.log(
    `wrote ${path.relative(process.cwd(), file)} (${(Buffer.byteLength(json) / 1024).toFixed(0)} KiB)`,
  )
}

async function main(argv: string[]): Promise<void> {
  const seconds = argv[0] === undefined ? 30 : Number(argv[0])
  if (!Number.isInteger(seconds) || seconds < 2) {
    throw new Error(`seconds must be an integer >= 2, got ${argv[0]}`)
  }
  const here = path.dirname(fileURLToPath(import.meta.url))
  const outDir = argv[1] === undefined ? path.join(here, '../fixtures/recorded') : path.resolve(argv[1])
  await mkdir(outDir, { recursive: true })
  const intervalMs = 1000

  console.log(`recording ${seconds}s baseline call (640x360@30 + opus)`)
  const baseline = await recordCall({ seconds, intervalMs })
  await writeFixture(outDir, `sender-${seconds}s.json`, baseline.sender, intervalMs)
  await writeFixture(outDir, `receiver-${seconds}s.json`, baseline.receiver, intervalMs)
  console.log(JSON.stringify(summarize(baseline, intervalMs).totals))

  // Constrained variant, timed as a fraction of the run so shorter recordings keep the same shape:
  // cap the video at 150 kbps from 1/3 of the run if setParameters works, else freeze from 40% to 60%.
  const capAtMs = Math.round(seconds / 3) * intervalMs
  const freezeFromMs = Math.round(seconds * 0.4) * intervalMs
  const freezeToMs = Math.round(seconds * 0.6) * intervalMs
  const capSupported = await probeSetMaxBitrate()
  let capped = false
  console.log(
    capSupported
      ? `recording ${seconds}s call capped to 150 kbps after ${capAtMs / 1000}s`
      : `setMaxBitrate unsupported: recording ${seconds}s call with video withheld ${freezeFromMs / 1000}-${freezeToMs / 1000}s`,
  )
  const constrained = await recordCall({
    seconds,
    intervalMs,
    withholdVideo: (ms) => !capSupported && ms >= freezeFromMs && ms < freezeToMs,
    onTick: async (ms, call) => {
      if (!capSupported || capped || ms < capAtMs) return
      capped = true
      await call.setMaxBitrate(150_000)
    },
  })
  const variant = capSupported ? 'capped' : 'freeze'
  await writeFixture(outDir, `sender-${variant}-${seconds}s.json`, constrained.sender, intervalMs)
  await writeFixture(outDir, `receiver-${variant}-${seconds}s.json`, constrained.receiver, intervalMs)
  console.log(JSON.stringify(summarize(constrained, intervalMs).totals))
  console.log(
    JSON.stringify({
      baselinePerSecond: summarize(baseline, intervalMs).perSecond,
      [`${variant}PerSecond`]: summarize(constrained, intervalMs).perSecond,
    }),
  )
}

async function probeSetMaxBitrate(): Promise<boolean> {
  const call = startWrtcCall({ width: 160, height: 90, fps: 15, audio: false })
  try {
    await call.waitConnected()
    // An unchanged round trip is the cheapest honest test: this build rejects even that.
    await call.setMaxBitrate(undefined)
    return true
  } catch {
    return false
  } finally {
    await call.close()
  }
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  main(process.argv.slice(2)).then(
    // libwebrtc sources still alive at Node's environment teardown segfault @roamhq/wrtc 0.10
    // (node-webrtc#636), so exit explicitly once the files are written.
    () => process.exit(0),
    (err: unknown) => {
      console.error(err)
      process.exit(1)
    },
  )
}
