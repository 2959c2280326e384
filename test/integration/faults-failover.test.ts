// Guards invariant 1 across collectors (issue 13, "stateless collectors, proven"): three collector
// processes behind a round-robin TCP balancer share one store (the ClickHouse-HTTP stand-in, one chDB in
// this process, reached through @clickhouse/client as collectors reach a ClickHouse server). A real
// call (two @roamhq/wrtc peers) is monitored by the SDK through the balancer; the collector holding its
// stream is killed with SIGKILL mid-call (no flush, no close frame). The SDK reconnects through the
// balancer to another collector, resumes from the seq the shared store holds, and in the end every seq
// of both peer connections is stored: contiguous from 1 to the last one sent, none twice after FINAL.
// The collectors run their analyzers too (analyzer/members.ts): the session is finalised once, by one of
// the surviving instances, whichever owned it before the kill.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { createClickHouseStore } from '../../store/clickhouse.ts'
import { startBalancer } from '../helpers/balancer.ts'
import type { Balancer } from '../helpers/balancer.ts'
import { startClickHouseStandIn } from '../helpers/ch-http-standin.ts'
import type { StandIn } from '../helpers/ch-http-standin.ts'
import { guid } from '../helpers/collector.ts'
import { startChildCollector } from '../helpers/fault-child.ts'
import type { ChildCollector } from '../helpers/fault-child.ts'
import { freePort } from '../helpers/ports.ts'
import { monitoredCall } from '../helpers/sdk-node.ts'

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms))

async function until(check: () => boolean | Promise<boolean>, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms
  while (!(await check())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`)
    await sleep(200)
  }
}

let standIn: StandIn | undefined
let balancer: Balancer | undefined
const collectors: ChildCollector[] = []
afterAll(async () => {
  await balancer?.close()
  for (const c of collectors) if (c.proc.exitCode === null && c.proc.signalCode === null) await c.kill9()
  await standIn?.close()
})

describe('faults: a collector of several dies mid-call', () => {
  it('resumes on another collector behind the balancer and stores every frame once', async () => {
    standIn = await startClickHouseStandIn(mkdtempSync(join(tmpdir(), 'rtcpulse-failover-')))
    const database = guid('failover')
    const env = {
      CLICKHOUSE_URL: standIn.url,
      CLICKHOUSE_DATABASE: database,
      RTCPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'rtcpulse-failover-unused-')),
      RTCPULSE_BATCH_MS: '50',
      RTCPULSE_ANALYZER: 'true',
      RTCPULSE_ANALYZER_INTERVAL_MS: '1000',
      RTCPULSE_ANALYZER_IDLE_S: '5',
      RTCPULSE_ANALYZER_MEMBER_TTL_S: '3',
    }
    // One after the other: each migrates the shared database at start (the migration lock is issue 13's
    // store half).
    for (let i = 0; i < 3; i++) collectors.push(await startChildCollector(await freePort(), env))
    balancer = await startBalancer(
      collectors.map((c) => ({ host: '127.0.0.1', port: Number(new URL(c.url).port) })),
    )
    const lb = balancer

    const app = 'failover'
    const session = guid('s')
    const { call, monitor, log, errors } = monitoredCall({ url: lb.url, app, session })
    const store = await createClickHouseStore({
      url: standIn.url,
      database,
      username: 'default',
      password: '',
    })
    const stored = async (): Promise<number> =>
      (
        await store.query<{ n: number }>(
          `SELECT uniqExact(pc_id, seq) AS n FROM raw_frames WHERE app_id = {app:String} AND session_id = {session:String}`,
          { app, session },
        )
      )[0]?.n ?? 0
    let victim = -1
    let killedAt = 0
    try {
      await call.waitConnected()
      await until(async () => (await stored()) >= 8, 30_000, 'the first frames stored')
      // Kill the collector holding the SDK's stream while frames are in flight.
      victim = lb.open().findIndex((n) => n > 0)
      expect(victim).toBeGreaterThanOrEqual(0)
      const before = await stored()
      await (collectors[victim] as ChildCollector).kill9()
      killedAt = Date.now()
      // The SDK reconnects (backoff from 0.5 s) through the balancer to a live collector and goes on.
      await until(
        () => lb.open().some((n, i) => n > 0 && i !== victim),
        30_000,
        'a stream on another collector',
      )
      await until(async () => (await stored()) >= before + 10, 30_000, 'frames stored after the kill')
    } finally {
      await monitor.close()
      await call.close()
    }
    const reconnectedMs = Date.now() - killedAt

    const rows = await store.query<{
      pc_id: string
      n: number
      u: number
      lo: number
      hi: number
      gaps: number
    }>(
      `SELECT pc_id, count() AS n, uniqExact(seq) AS u, min(seq) AS lo, max(seq) AS hi, sum(gap) AS gaps
       FROM raw_frames FINAL WHERE app_id = {app:String} AND session_id = {session:String}
       GROUP BY pc_id ORDER BY pc_id`,
      { app, session },
    )
    const raw = await store.query<{ pc_id: string; n: number }>(
      `SELECT pc_id, count() AS n FROM raw_frames WHERE app_id = {app:String} AND session_id = {session:String}
       GROUP BY pc_id ORDER BY pc_id`,
      { app, session },
    )
    // Finalised once the session is idle (5 s), by the one surviving analyzer that owns it.
    const finals = async (): Promise<number> =>
      (
        await store.query<{ n: number }>(
          `SELECT count() AS n FROM scores WHERE app_id = {app:String} AND session_id = {session:String}
           AND peer_id = '' AND final = 1`,
          { app, session },
        )
      )[0]?.n ?? 0
    await until(async () => (await finals()) > 0, 60_000, 'the final score')
    await sleep(3000)
    const counted = await Promise.all(
      collectors
        .filter((_, i) => i !== victim)
        .map(async (c) => {
          const text = await (await fetch(`${c.url}/metrics/analyzer`)).text()
          return Number(
            /rtcpulse_analyzer_sessions_scored_total\{app="failover"\} (\d+)/.exec(text)?.[1] ?? 0,
          )
        }),
    )
    const finalRows = await finals()
    const seconds = await store.query<{ n: number; u: number }>(
      `SELECT count() AS n, uniqExact(pc_id, stream_id, seq) AS u FROM stream_seconds FINAL
       WHERE app_id = {app:String} AND session_id = {session:String}`,
      { app, session },
    )
    await store.close()
    console.log(
      `[faults-failover] killed collector ${victim}; connections per collector ${JSON.stringify(lb.made)}, ` +
        `SDK sockets ${log.sockets}, stored per pc ${JSON.stringify(rows)}, rows before FINAL ${JSON.stringify(raw)}, ` +
        `10 more frames stored ${reconnectedMs} ms after the kill, finalised by analyzers ${JSON.stringify(counted)}`,
    )
    expect(errors.filter((e) => e.code !== 'disconnected')).toEqual([])
    expect(log.sockets).toBeGreaterThanOrEqual(2)
    expect(lb.made.filter((n) => n > 0).length).toBeGreaterThanOrEqual(2)
    // `_` is the monitor's own channel: the `bye` of close() (sdk/PROTOCOL.md), held to the same rule.
    expect(rows.map((r) => r.pc_id)).toEqual(['_', 'receiver', 'sender'])
    for (const r of rows) {
      // Contiguous from 1 to the last seq the SDK sent, each once, and no frame dropped from its buffer.
      expect(r).toEqual({ pc_id: r.pc_id, n: r.hi, u: r.hi, lo: 1, hi: log.maxSeq.get(r.pc_id), gaps: 0 })
    }
    expect(seconds[0]?.n).toBe(seconds[0]?.u)
    expect(seconds[0]?.n).toBeGreaterThan(0)
    expect(finalRows).toBe(1)
    expect(counted.reduce((a, b) => a + b, 0)).toBe(1)
  }, 150_000)
})
