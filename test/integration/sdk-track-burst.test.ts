// A pc joining an SFU call gets one `track` event per remote track at once, and one `ended` per track on
// hang-up (issue 17): with 50 remote participants (100 tracks) each burst is more frames than the
// collector's bucket holds (2 s at RTCPULSE_MAX_FRAMES_PER_SECOND, 50), which used to close the socket
// with 4029 and make the SDK reconnect twice per call. Against a real collector,
// the SDK paces them under the advertised rate: one connection for the whole call, every event stored.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createMonitor } from '../../sdk/src/index.ts'
import type { MonitorError } from '../../sdk/src/index.ts'
import { guid, startTestCollector } from '../helpers/collector.ts'
import type { TestCollector } from '../helpers/collector.ts'
import { recordingWebSocket } from '../helpers/sdk-node.ts'
import { replayingPc, sfuReports } from '../helpers/sfu-reports.ts'

// 50 remote participants, an audio and a video track each.
const TRACKS = 100
let c: TestCollector

beforeAll(async () => {
  c = await startTestCollector()
})
afterAll(async () => {
  await c?.stop()
})

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms))

describe('a 50-participant (100-track) join and hang-up', () => {
  it('goes through one connection with every event stored', { timeout: 60_000 }, async () => {
    const app = 'sdk-burst'
    const session = guid('s')
    const reports = sfuReports(1, 30)
    // A receiving pc whose remote tracks arrive and end at once.
    const { pc } = replayingPc(reports)
    const { WebSocket, log } = recordingWebSocket()
    const errors: MonitorError[] = []
    const monitor = createMonitor({
      url: c.url,
      app,
      session,
      peer: 'p1',
      intervalMs: 500,
      WebSocket,
      onError: (e) => errors.push(e),
    })
    monitor.add(pc, { label: 'recv' })
    await sleep(1000)
    const tracks = Array.from({ length: TRACKS }, (_, i) =>
      Object.assign(new EventTarget(), { id: `t${i}`, kind: i % 2 ? 'video' : 'audio' }),
    )
    for (const track of tracks) pc.dispatchEvent(Object.assign(new Event('track'), { track }))
    await sleep(2000)
    for (const track of tracks) track.dispatchEvent(new Event('ended'))
    await sleep(2000)
    await monitor.close()

    expect(errors).toEqual([])
    expect(log.sockets).toBe(1)
    const rows = await c.store.query<{ name: string; n: number }>(
      `SELECT name, count() AS n FROM events FINAL
        WHERE app_id = {app:String} AND session_id = {session:String} AND pc_id = 'recv'
        GROUP BY name ORDER BY name`,
      { app, session },
    )
    expect(rows).toEqual([
      { name: 'track.added', n: TRACKS },
      { name: 'track.ended', n: TRACKS },
    ])
  })
})
