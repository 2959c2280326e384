// Guards deletion across collectors (SECURITY.md "Privacy"): collectors share only the store, so a DELETE
// served by collector A must reach a stream held by collector B within RTCPULSE_DELETION_POLL_MS (plus
// slack): B closes it with 4003, deletes what it wrote after the DELETE, and refuses the session's and
// the user's hellos. Two collector processes on one store: the ClickHouse-HTTP stand-in (one chDB in this
// process) that both reach through @clickhouse/client, as collectors share a ClickHouse server.
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startClickHouseStandIn } from '../helpers/ch-http-standin.ts'
import type { StandIn } from '../helpers/ch-http-standin.ts'
import { guid } from '../helpers/collector.ts'
import { startChildCollector } from '../helpers/fault-child.ts'
import type { ChildCollector } from '../helpers/fault-child.ts'
import { freePort } from '../helpers/ports.ts'
import { connect, helloFor } from '../helpers/stream-client.ts'
import type { StreamClient } from '../helpers/stream-client.ts'

const POLL_MS = 500
const SECRET = 'fleet-delete-secret-0123456789'
let standIn: StandIn
let a: ChildCollector
let b: ChildCollector
const database = guid('fleet')

beforeAll(async () => {
  standIn = await startClickHouseStandIn(mkdtempSync(join(tmpdir(), 'rtcpulse-fleet-')))
  const env = {
    CLICKHOUSE_URL: standIn.url,
    CLICKHOUSE_DATABASE: database,
    RTCPULSE_KEYS: `k1:demo:${SECRET}`,
    RTCPULSE_DELETION_POLL_MS: String(POLL_MS),
    RTCPULSE_BATCH_MS: '20',
  }
  // One after the other: both migrate the same database at start.
  a = await startChildCollector(await freePort(), env)
  b = await startChildCollector(await freePort(), env)
}, 90_000)

afterAll(async () => {
  await a?.kill9()
  await b?.kill9()
  await standIn?.close()
})

const streamUrl = (c: ChildCollector): string => `${c.url.replace(/^http/, 'ws')}/v1/stream`
const event = (seq: number) => ({ t: 'event', pc: 'pc1', seq, ts: Date.now(), name: 'custom.x' })

async function stream(c: ChildCollector, session: string, user: string): Promise<StreamClient> {
  const client = await connect(streamUrl(c))
  client.send(helloFor(session, { user, peer: guid('p') }))
  await client.waitFor((f) => f.t === 'welcome' || f.t === 'error')
  return client
}

const del = (c: ChildCollector, path: string): Promise<Response> =>
  fetch(`${c.url}/api/v1/${path}?app=demo`, {
    method: 'DELETE',
    headers: { authorization: `Bearer ${SECRET}` },
  })

describe('a deletion served by one collector', () => {
  for (const kind of ['sessions', 'users'] as const) {
    it(
      `evicts the ${kind === 'sessions' ? 'session' : 'user'}'s stream held by another collector and refuses it there`,
      {
        timeout: 60_000,
      },
      async () => {
        const session = guid('s')
        const user = guid('u')
        const held = await stream(b, session, user)
        expect(held.received[0]).toMatchObject({ t: 'welcome' })
        held.send(event(1))
        await held.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 1)

        const t0 = performance.now()
        const res = await del(a, `${kind}/${kind === 'sessions' ? session : user}`)
        expect(res.status).toBe(200)
        const closed = await Promise.race([
          held.closed,
          new Promise<undefined>((resolve) => setTimeout(resolve, 15_000)),
        ])
        const ms = performance.now() - t0
        expect(closed).toEqual({ code: 4003, reason: 'data deleted' })
        // Bound: one poll interval, plus slack for a busy machine.
        expect(ms).toBeLessThan(POLL_MS + 5000)

        // Refused on B (and A) at hello, even with another peer id.
        for (const c of [b, a]) {
          const again = await stream(c, session, user)
          expect(again.received[0]).toMatchObject({ t: 'error', code: 'forbidden' })
          expect((await again.closed).code).toBe(4003)
        }
        // Nothing of the session is left, whatever B wrote before it closed the stream.
        await new Promise((resolve) => setTimeout(resolve, POLL_MS * 2))
        const sql = 'SELECT count() AS n FROM raw_frames WHERE session_id = {s:String}'
        const rows = await fetch(
          `${standIn.url}/?database=${database}&query=${encodeURIComponent(sql)}&param_s=${session}`,
        )
        expect(rows.ok).toBe(true)
        expect(JSON.parse(await rows.text())).toEqual({ n: 0 })
      },
    )
  }
})
