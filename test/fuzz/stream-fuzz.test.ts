// Guards invariant 2 with a seeded fuzzer: a thousand connections send more than 100,000 malformed,
// truncated, oversize, wrong-typed and out-of-order frames (test/fuzz/generate.ts) to one collector
// process while real SDK monitors stream beside them. The collector must stay up with bounded memory
// (its RSS, read from /proc), log no internal error, lose nothing of the good monitors, and store
// nothing malformed: every raw_frames row parses and validates with the collector's own zod schema.
import { mkdtempSync, readFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import WebSocket from 'ws'
import { afterAll, describe, expect, it } from 'vitest'
import { parseClientFrame } from '../../collector/protocol.ts'
import { createChdbStore } from '../../store/chdb.ts'
import { guid } from '../helpers/collector.ts'
import { startChildCollector } from '../helpers/fault-child.ts'
import type { ChildCollector } from '../helpers/fault-child.ts'
import { checkExactlyOnce, errorCounts, sleep, startFleet, until } from '../helpers/fault-sdk.ts'
import { createFuzzer } from './generate.ts'
import type { FuzzConnection } from './generate.ts'
import { freePort } from '../helpers/ports.ts'

const SEED = 20_251_125
// FUZZ_FRAMES raises the count for a longer exploratory run; the suite uses the default.
const TARGET_FRAMES = Number(process.env.FUZZ_FRAMES ?? 100_000)
const FRAMES_PER_CONNECTION = 100
const MIN_CONNECTIONS = 1000
const CONCURRENCY = 24
const MAX_FRAME_BYTES = 65_536

const rssOf = (pid: number): number =>
  Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) * 1024

interface Tally {
  connections: number
  sent: number
  errorFrames: number
  closes: Map<string, number>
}

/** Plays one scripted connection; resolves once the socket is closed (by either side). */
async function play(url: string, conn: FuzzConnection, tally: Tally): Promise<void> {
  const ws = new WebSocket(url, { perMessageDeflate: false })
  ws.on('error', () => {})
  let welcomed: () => void = () => {}
  const welcome = new Promise<void>((resolve) => (welcomed = resolve))
  ws.on('message', (data: Buffer) => {
    const t = data.toString()
    if (t.startsWith('{"t":"welcome"')) welcomed()
    else if (t.startsWith('{"t":"error"')) tally.errorFrames++
  })
  const closed = new Promise<void>((resolve) =>
    ws.on('close', (code: number) => {
      tally.closes.set(String(code), (tally.closes.get(String(code)) ?? 0) + 1)
      welcomed()
      resolve()
    }),
  )
  try {
    await new Promise<void>((resolve, reject) => ws.once('open', resolve).once('error', reject))
  } catch {
    tally.closes.set('connect-failed', (tally.closes.get('connect-failed') ?? 0) + 1)
    return
  }
  tally.connections++
  const [first, ...rest] = conn.messages
  const send = (m: FuzzConnection['messages'][number]): void => {
    if (ws.readyState !== ws.OPEN) return
    if (typeof m === 'string') ws.send(m)
    else if ('binary' in m) ws.send(m.binary, { binary: true })
    else ws.send(m.invalidUtf8, { binary: false })
    tally.sent++
  }
  if (first !== undefined) send(first)
  if (conn.waitWelcome) await Promise.race([welcome, sleep(3000)])
  for (const m of rest) send(m)
  // Let the collector read everything, then say goodbye (or be told).
  if (ws.readyState === ws.OPEN) ws.close(1000)
  await Promise.race([closed, sleep(5000)])
  ws.terminate()
}

let child: ChildCollector | undefined
afterAll(async () => {
  await child?.kill9()
})

describe('stream fuzzing', () => {
  it('survives 100,000 hostile frames with bounded memory while good monitors lose nothing', async () => {
    const started = Date.now()
    const env = {
      RTCPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'rtcpulse-fuzz-')),
      CLICKHOUSE_DATABASE: guid('fuzz'),
      RTCPULSE_BATCH_MS: '50',
      RTCPULSE_MAX_FRAME_BYTES: String(MAX_FRAME_BYTES),
      RTCPULSE_MAX_FRAMES_PER_SECOND: '500',
      LOG_LEVEL: 'error',
    }
    child = await startChildCollector(await freePort(), env)
    const pid = child.proc.pid as number
    const streamUrl = `${child.url.replace(/^http/, 'ws')}/v1/stream`
    const fleet = startFleet({ url: child.url, app: 'good', prefix: 'good', monitors: 8 })
    await until(() => fleet.acks > 20, 15_000, 'good monitors acked')

    const rss: number[] = []
    const sampler = setInterval(() => rss.push(rssOf(pid)), 200)
    const fuzzer = createFuzzer({ seed: SEED, maxFrameBytes: MAX_FRAME_BYTES, app: 'fuzz' })
    const tally: Tally = { connections: 0, sent: 0, errorFrames: 0, closes: new Map() }
    const kinds = new Map<string, number>()
    let warmRss = 0
    let opened = 0
    await Promise.all(
      Array.from({ length: CONCURRENCY }, async () => {
        while (tally.sent < TARGET_FRAMES || opened < MIN_CONNECTIONS) {
          opened++
          const conn = fuzzer.next(FRAMES_PER_CONNECTION)
          kinds.set(conn.kind, (kinds.get(conn.kind) ?? 0) + 1)
          await play(streamUrl, conn, tally)
          if (!warmRss && tally.sent > TARGET_FRAMES / 5) warmRss = rssOf(pid)
        }
      }),
    )
    const fuzzMs = Date.now() - started
    expect((await fetch(`${child.url}/healthz`)).status).toBe(200)
    // The good monitors keep going a little after the storm, then stop once all is acknowledged.
    await sleep(1000)
    await fleet.close()
    clearInterval(sampler)
    const metrics = await (await fetch(`${child.url}/metrics`)).text()
    const output = child.output()
    expect(await child.stop()).toBe(0)
    child = undefined

    const store = await createChdbStore({ dataDir: env.RTCPULSE_DATA_DIR, database: env.CLICKHOUSE_DATABASE })
    try {
      const rows = await store.query<{
        app_id: string
        pc_id: string
        seq: number
        type: string
        frame: string
      }>('SELECT app_id, pc_id, seq, type, frame FROM raw_frames')
      const malformed = rows.filter((r) => {
        const p = parseClientFrame(r.frame)
        return (
          !p.ok ||
          p.frame.t !== r.type ||
          p.frame.t === 'hello' ||
          p.frame.pc !== r.pc_id ||
          p.frame.seq !== r.seq
        )
      })
      const good = await checkExactlyOnce(store, 'good', fleet)
      const maxRss = Math.max(...rss)
      const mib = (b: number): number => Math.round(b / 2 ** 20)
      console.log(
        `[fuzz] seed ${SEED}: ${tally.sent} frames over ${tally.connections} connections ` +
          `(${JSON.stringify(Object.fromEntries(kinds))}) in ${fuzzMs} ms; ${tally.errorFrames} error frames; ` +
          `closes ${JSON.stringify(Object.fromEntries(tally.closes))}; stored ${rows.length} raw frames, ` +
          `${malformed.length} malformed; good monitors: ${good.produced} frames on ${good.channels} channels, ` +
          `${good.bad.length} bad, SDK errors ${errorCounts(fleet)}; collector RSS min ${mib(Math.min(...rss))} / ` +
          `warm ${mib(warmRss)} / max ${mib(maxRss)} MiB (by tenths of the run: ` +
          `${Array.from({ length: 10 }, (_, k) => mib(Math.max(...rss.slice((k * rss.length) / 10, ((k + 1) * rss.length) / 10)))).join(' ')}); ` +
          `total ${Date.now() - started} ms`,
      )
      expect(tally.sent).toBeGreaterThanOrEqual(TARGET_FRAMES)
      expect(tally.connections).toBeGreaterThan(MIN_CONNECTIONS * 0.95)
      expect(malformed.map((r) => r.frame.slice(0, 200))).toEqual([])
      expect(rows.some((r) => r.app_id === 'fuzz')).toBe(true)
      expect(good.bad).toEqual([])
      expect(good.rows).toBe(good.produced)
      expect(good.overAcked).toEqual([])
      // Bounded: after warm-up, the collector grows by less than 256 MiB however long the storm lasts.
      expect(maxRss - warmRss).toBeLessThan(256 * 2 ** 20)
      // No internal error, no row the store refused.
      expect(metrics).not.toMatch(/^rtcpulse_rejected_frames_total\{reason="internal"\}/m)
      expect(metrics).not.toMatch(/^rtcpulse_rows_rejected_total\{/m)
      expect(output).not.toMatch(/"level":50/)
      // Every kind of refusal was exercised.
      for (const code of ['1007', '1008', '1009', '4001', '4029'])
        expect(tally.closes.get(code), code).toBeGreaterThan(0)
    } finally {
      await store.close()
    }
  }, 180_000)
})
