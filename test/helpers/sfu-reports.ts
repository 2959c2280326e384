// Reports of a receiving peer connection at SFU shape: the recorded libwebrtc receiver report (one audio
// and one video inbound stream) grown to N remote participants, each with its own inbound audio and video
// streams, tracks and remote-outbound stream (ids and SSRCs of their own), sharing the transport, the
// candidate pairs and the codecs, as one receiving pc of an SFU call carries them (issue 17).
import { asReport, reportSequence } from './reports.ts'
import type { Stat } from './reports.ts'

// Per participant: what an SFU adds to a receiving pc for each remote audio+video pair.
const PER_PARTICIPANT = new Set(['inbound-rtp', 'remote-outbound-rtp', 'track'])

/**
 * `count` reports one second apart ending now, of a receiving pc with `n` remote participants (2n inbound
 * streams). Participant 0 keeps the recorded ids; participant p > 0 gets ids suffixed `_p<p>` and SSRCs
 * offset by p. Counters advance as in reportSequence.
 */
export function sfuReports(n: number, count: number): Stat[][] {
  return reportSequence('receiver', count).map((report) => {
    const shared = report.filter((s) => !PER_PARTICIPANT.has(s.type))
    const own = report.filter((s) => PER_PARTICIPANT.has(s.type))
    const out = [...shared, ...own]
    for (let p = 1; p < n; p++) {
      for (const s of own) {
        const o: Stat = { ...s, id: `${s.id}_p${p}` }
        if (typeof o.ssrc === 'number') o.ssrc = o.ssrc + p
        if (typeof o.trackIdentifier === 'string') o.trackIdentifier = `${o.trackIdentifier}-${p}`
        if (typeof o.mid === 'string') o.mid = String(Number(o.mid) + 2 * p)
        for (const ref of ['localId', 'remoteId', 'trackId'])
          if (typeof o[ref] === 'string') o[ref] = `${o[ref]}_p${p}`
        out.push(o)
      }
    }
    return out
  })
}

/**
 * A connected pc as far as the monitor looks at one (an EventTarget, as a browser's is): each getStats()
 * gives the next of `reports`, then the last again. `polls()` counts the getStats() calls so far.
 */
export function replayingPc(reports: readonly Stat[][]): {
  pc: RTCPeerConnection & EventTarget
  polls: () => number
} {
  let polled = 0
  const pc = Object.assign(new EventTarget(), {
    connectionState: 'connected',
    signalingState: 'stable',
    getStats: () => Promise.resolve(asReport(reports[Math.min(polled++, reports.length - 1)] ?? [])),
  }) as unknown as RTCPeerConnection & EventTarget
  return { pc, polls: () => polled }
}
