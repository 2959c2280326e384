// A session is final as soon as its peers leave (issue 15): monitor.close() sends `bye` on the monitor
// channel before it drains, and the analyzer finalises a session once every peer said bye. Here the
// analyzer runs in the collector as `rtcpulse start` runs it, with an idle timeout (10 minutes) far
// beyond the test: a session that is final within seconds of close() was finalised by the bye, not by
// falling idle.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { analyzerPlugin } from '../../analyzer/plugin.ts'
import { createMonitor } from '../../sdk/src/index.ts'
import type { MonitorError } from '../../sdk/src/index.ts'
import { guid, startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { replayingPc, sfuReports } from '../helpers/sfu-reports.ts'
import { recordingWebSocket } from '../helpers/sdk-node.ts'

const APP = 'sdk-bye'
const REPORTS = 6
let c: TestCollector

beforeAll(async () => {
  c = await startTestCollector({ RTCPULSE_ANALYZER_INTERVAL_MS: '500', RTCPULSE_ANALYZER_IDLE_S: '600' }, [
    analyzerPlugin,
  ])
})
afterAll(async () => {
  await c?.stop()
})

/** The session's detail from the API, or undefined while it is not scored. */
async function detail(session: string): Promise<{ final: boolean } | undefined> {
  const res = await fetch(`${c.url}/api/v1/sessions/${session}?app=${APP}&series=0`)
  return res.status === 200 ? ((await res.json()) as { final: boolean }) : undefined
}

describe('monitor.close()', () => {
  it(
    'makes the session final at once, without waiting for the idle timeout',
    { timeout: 60_000 },
    async () => {
      const session = guid('s')
      const reports = sfuReports(2, REPORTS)
      const { pc, polls } = replayingPc(reports)
      const errors: MonitorError[] = []
      const monitor = createMonitor({
        url: c.url,
        app: APP,
        session,
        peer: 'p1',
        intervalMs: 250,
        WebSocket: recordingWebSocket().WebSocket,
        onError: (e) => errors.push(e),
      })
      monitor.add(pc, { label: 'recv' })
      while (polls() < REPORTS) await new Promise((r) => setTimeout(r, 100))
      // Scored live first: the analyzer has seen the session before the peer leaves.
      for (let d = await detail(session); !d; d = await detail(session))
        await new Promise((r) => setTimeout(r, 250))
      expect((await detail(session))?.final).toBe(false)

      const closed = Date.now()
      await monitor.close()
      let final = false
      while (!final && Date.now() - closed < 20_000) {
        await new Promise((r) => setTimeout(r, 250))
        final = (await detail(session))?.final ?? false
      }
      expect(errors).toEqual([])
      expect(final).toBe(true)
      const bye = await c.store.query<{ n: number }>(
        `SELECT count() AS n FROM events FINAL
        WHERE app_id = {app:String} AND session_id = {session:String} AND pc_id = '_' AND name = 'bye'`,
        { app: APP, session },
      )
      expect(bye[0]?.n).toBe(1)
    },
  )
})
