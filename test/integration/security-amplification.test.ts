// Guards invariant 2 against pre-authentication memory amplification: whatever unauthenticated clients
// send, the collector's resident memory stays bounded and a good client keeps being served. The collector
// runs as its own process (`rtcpulse start --dev`) so its RSS is measured alone, from /proc. Attacks:
// deflate bombs on /v1/stream before hello, and oversized `POST /v1/ingest` bodies, with and without
// Content-Length.
import { readFileSync, mkdtempSync } from 'node:fs'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { guid } from '../helpers/collector.ts'
import { bombFrame, throwBomb } from '../helpers/deflate-bomb.ts'
import { startChildCollector } from '../helpers/fault-child.ts'
import type { ChildCollector } from '../helpers/fault-child.ts'
import { freePort } from '../helpers/ports.ts'
import { connect, helloFor, statsFrames } from '../helpers/stream-client.ts'
import { reportSequence } from '../helpers/reports.ts'
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

interface Posted {
  status: number
  body: string
}

/**
 * POSTs `total` bytes of JSON-ish filler to /v1/ingest in 64 KiB chunks: with Content-Length, or chunked
 * (no length: the server only learns the size by reading). Resolves with the answer, which may come
 * before the body is sent; write errors after that (the server stops reading) are expected.
 */
function postBig(total: number, chunked: boolean): Promise<Posted> {
  return new Promise((resolve, reject) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/v1/ingest',
        headers: chunked ? {} : { 'content-length': String(total) },
      },
      (res) => {
        let body = ''
        res.on('data', (d: Buffer) => (body += d.toString()))
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body }))
        res.on('error', reject)
      },
    )
    req.on('error', () => {})
    const chunk = Buffer.alloc(64 * 1024, 0x20)
    let sent = 0
    const pump = (): void => {
      while (sent < total) {
        sent += chunk.length
        if (!req.write(chunk)) return void req.once('drain', pump)
      }
      req.end()
    }
    pump()
  })
}

async function postJson(body: unknown): Promise<Posted> {
  const res = await fetch(`http://127.0.0.1:${port}/v1/ingest`, {
    method: 'POST',
    body: JSON.stringify(body),
  })
  return { status: res.status, body: await res.text() }
}

describe('oversized ingest bodies', () => {
  it('answers 64 concurrent oversized bodies, chunked or not, with 413 and grows by less than 64 MiB', async () => {
    expect((await postBig(8 * MiB, true)).status).toBe(413) // warm-up
    await goodRoundTrip()
    const baseline = rssOf(child.proc.pid as number)
    const rss = watchRss(child)
    const posts = Array.from({ length: 64 }, (_, i) => postBig(16 * MiB, i % 2 === 0))
    await goodRoundTrip()
    const results = await Promise.all(posts)
    await goodRoundTrip()
    const peak = rss.stop()
    console.log(
      `ingest: RSS baseline ${(baseline / MiB).toFixed(0)} MiB, peak ${(peak / MiB).toFixed(0)} MiB`,
    )
    expect(peak - baseline).toBeLessThan(MAX_GROWTH)
    for (const r of results) {
      expect(r.status).toBe(413)
      expect(JSON.parse(r.body)).toMatchObject({
        code: 'frame_too_large',
        error: expect.stringMatching(/over/) as unknown,
      })
    }
  })

  it("applies the stream's per-frame limits inside a body that fits", async () => {
    const session = guid('ing')
    const [key] = statsFrames('pc1', reportSequence('sender', 1))
    const hello = helloFor(session)
    const fine = await postJson({ hello, frames: [key] })
    expect(fine.status).toBe(200)
    expect(JSON.parse(fine.body)).toMatchObject({ seq: { pc1: 1 } })
    // A frame over maxFrameBytes (256 KiB) in a 300 kB body: refused as the stream would (1009 there).
    const big = {
      t: 'event',
      pc: 'pc1',
      seq: 2,
      ts: Date.now(),
      name: 'custom.x',
      data: { pad: 'x'.repeat(300_000) },
    }
    const res = await postJson({ hello, frames: [big] })
    expect(res.status).toBe(413)
    expect(JSON.parse(res.body)).toMatchObject({
      code: 'frame_too_large',
      error: 'frames.0 is over 262144 bytes',
    })
    // A hello over maxHelloBytes (16 KiB), as on the stream.
    const fat = await postJson({
      hello: {
        ...hello,
        meta: {
          pad: 'x'.repeat(200),
          ...Object.fromEntries(Array.from({ length: 200 }, (_, i) => [`k${i}`, 'y'.repeat(100)])),
        },
      },
      frames: [],
    })
    expect(fat.status).toBe(413)
  })
})
