// Feeds a recorded two-peer call (test/fixtures/recorded) through a running collector, the way two SDKs
// would: one WebSocket per peer, a hello, a `connected` event, 30 stats frames, a `closed` event. The
// recording is moved in time to end `endsAgoMs` before now (tables have TTLs, dashboards time filters).
import { loadRecorded } from './recorded.ts'
import { connect, helloFor, statsFrames } from './stream-client.ts'
import type { Stat } from './reports.ts'

export type Recording = 'baseline' | 'freeze'

/**
 * Network impairments layered onto a recording (the recorded call itself ran over loopback). The
 * counters stay consistent: lost packets accumulate, so per-second loss is `loss` from the start.
 */
export interface Impairment {
  /** Share of packets lost on every inbound RTP stream of the receiver, 0–1. */
  loss?: number
  /** Round-trip time reported by both peers' candidate pairs and RTCP, ms. */
  rttMs?: number
  /** Inbound jitter reported by the receiver, ms. */
  jitterMs?: number
}

function impair(reports: Stat[][], side: 'sender' | 'receiver', imp: Impairment): void {
  for (const [i, report] of reports.entries()) {
    for (const s of report) {
      const num = (k: string): number => {
        const v = s[k]
        return typeof v === 'number' ? v : 0
      }
      if (s.type === 'inbound-rtp' && side === 'receiver') {
        if (imp.loss) {
          // lost / (lost + received) = loss, growing with the received count.
          const received = num('packetsReceived')
          s.packetsLost = Math.round((received * imp.loss) / (1 - imp.loss))
        }
        if (imp.jitterMs !== undefined) s.jitter = imp.jitterMs / 1000
      }
      if (imp.rttMs !== undefined) {
        if (s.type === 'candidate-pair' && s.nominated) {
          s.currentRoundTripTime = imp.rttMs / 1000
          s.totalRoundTripTime = (imp.rttMs / 1000) * num('responsesReceived') || (imp.rttMs / 1000) * (i + 1)
        }
        if (s.type === 'remote-inbound-rtp') {
          s.roundTripTime = imp.rttMs / 1000
          s.totalRoundTripTime = (imp.rttMs / 1000) * num('roundTripTimeMeasurements')
        }
      }
    }
  }
}

/** The reports of one side of a recorded call, shifted so the last one is at `endMs`. */
export function recordedReports(
  side: 'sender' | 'receiver',
  recording: Recording,
  endMs: number,
  impairment: Impairment = {},
): Stat[][] {
  const reports: Stat[][] = loadRecorded(`${side}-${recording === 'freeze' ? 'freeze-' : ''}30s.json`, endMs)
  impair(reports, side, impairment)
  return reports
}

export interface RecordedCall {
  app: string
  session: string
  /** The sending and the receiving peer. */
  peers: [string, string]
  startMs: number
  endMs: number
}

export interface FeedOptions {
  app?: string
  recording?: Recording
  endsAgoMs?: number
  /** User agents of the sender and receiver (browser and OS breakdowns). */
  userAgents?: [string, string]
  impairment?: Impairment
}

const CHROME_LINUX =
  'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36'
const FIREFOX_MAC = 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14.5; rv:133.0) Gecko/20100101 Firefox/133.0'

/** Streams a recorded call into the collector at `streamUrl`; resolves once every frame is acknowledged. */
export async function feedRecordedCall(
  streamUrl: string,
  session: string,
  options: FeedOptions = {},
): Promise<RecordedCall> {
  const app = options.app ?? 'demo'
  const recording = options.recording ?? 'freeze'
  const endMs = Date.now() - (options.endsAgoMs ?? 2000)
  const peers: [string, string] = [`${session}-alice`, `${session}-bob`]
  const agents = options.userAgents ?? [CHROME_LINUX, FIREFOX_MAC]
  let startMs = endMs
  await Promise.all(
    (['sender', 'receiver'] as const).map(async (side, i) => {
      const reports = recordedReports(side, recording, endMs, options.impairment)
      const first = reports[0]?.[0]?.timestamp ?? endMs
      startMs = Math.min(startMs, first - 1000)
      const pc = 'pc1'
      const frames = [
        {
          t: 'event',
          pc,
          seq: 1,
          ts: first - 1000,
          name: 'connectionstatechange',
          data: { state: 'connected' },
        },
        ...statsFrames(pc, reports, 2),
        {
          t: 'event',
          pc,
          seq: reports.length + 2,
          ts: endMs + 100,
          name: 'connectionstatechange',
          data: { state: 'closed' },
        },
      ]
      const client = await connect(streamUrl)
      client.send(helloFor(session, { app, peer: peers[i] as string, ua: agents[i] as string }))
      await client.waitFor((f) => f.t === 'welcome')
      // Stay under the collector's per-connection frame rate (a burst of 2 s worth, 50/s by default).
      for (const [n, f] of frames.entries()) {
        client.send(f)
        if (n % 40 === 39) await new Promise((r) => setTimeout(r, 1000))
      }
      const lastSeq = frames.length
      await client.waitFor((f) => f.t === 'ack' && (f.seq[pc] ?? 0) >= lastSeq, 15_000)
      client.close()
      await client.closed
    }),
  )
  return { app, session, peers, startMs, endMs }
}
