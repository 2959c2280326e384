// Guards invariant 2 against pre-authentication memory amplification: whatever unauthenticated clients
// send, the collector's resident memory stays bounded and a good client keeps being served. The collector
// runs as its own process (`rtcpulse start --dev`) so its RSS is measured alone, from /proc.
import { readFileSync, mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guid } from '../helpers/collector.ts'
import { bombFrame, throwBomb } from '../helpers/deflate-bomb.ts'
import { startChildCollector } from '../helpers/fault-child.ts'
import type { ChildCollector } from '../helpers/fault-child.ts'
import { freePort } from '../helpers/ports.ts'
import { connect, helloFor } from '../helpers/stream-client.ts'
import type { StreamClient } from '../helpers/stream-client.ts'

const MiB = 1024 * 1024
// The bound: 64 attackers together may not grow the collector by this much.
const MAX_GROWTH = 64 * MiB
// Past this the attack has already failed; the collector is killed so a regression cannot swap the
// machine out from under the other suites.
const KILL_AT = 768 * MiB

const rssOf = (pid: number): number => {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))
  return m ? Number(m[1]) * 1024 : 0
}

/** Samples the child's RSS every 20 ms until stopped; kills it past KILL_AT. Resolves with the peak. */
function watchRss(child: ChildCollector): { stop: () => number } {
  const pid = child.proc.pid as number
  let peak = rssOf(pid)
  const timer = setInterval(() => {
    try {
      peak = Math.max(peak, rssOf(pid))
    } catch {
      return // exited
    }
    if (peak > KILL_AT) child.proc.kill('SIGKILL')
  }, 20)
  return {
    stop: () => {
      clearInterval(timer)
      return peak
    },
  }
}

let child: ChildCollector
let port: number
let good: StreamClient
let goodSeq = 0

/** The good client sends one event and waits for its ack: it is still being served. */
async function goodRoundTrip(timeoutMs = 15_000): Promise<void> {
  const seq = ++goodSeq
  good.send({ t: 'event', pc: 'pc1', seq, ts: Date.now(), name: 'custom.ping' })
  await good.waitFor((f) => f.t === 'ack' && (f.seq.pc1 ?? 0) >= seq, timeoutMs)
}

beforeAll(async () => {
  port = await freePort()
  child = await startChildCollector(port, {
    RTCPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'rtcpulse-amplification-')),
    CLICKHOUSE_DATABASE: guid('amp'),
    RTCPULSE_BATCH_MS: '20',
  })
  good = await connect(`ws://127.0.0.1:${port}/v1/stream`)
  good.send(helloFor(guid('good')))
  await good.waitFor((f) => f.t === 'welcome', 15_000)
  await goodRoundTrip()
})
afterAll(async () => {
  good?.close()
  await child?.kill9()
})

describe('pre-authentication amplification', () => {
  it('closes 64 concurrent deflate bombs with 1009 and grows by less than 64 MiB', async () => {
    const frame = bombFrame(200 * MiB)
    expect(frame.length).toBeLessThan(256 * 1024)
    // Warm up: one bomb first, so zlib's and the sockets' one-time allocations are in the baseline.
    expect((await throwBomb(port, frame)).code).toBe(1009)
    await goodRoundTrip()
    const baseline = rssOf(child.proc.pid as number)
    const rss = watchRss(child)
    const bombs = Array.from({ length: 64 }, () => throwBomb(port, frame))
    // Served while the bombs land, and after.
    await goodRoundTrip()
    const results = await Promise.all(bombs)
    await goodRoundTrip()
    const peak = rss.stop()
    const growth = peak - baseline
    console.log(`RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB`)
    expect(growth).toBeLessThan(MAX_GROWTH)
    expect(results.map((r) => r.code)).toEqual(results.map(() => 1009))
  })
})
