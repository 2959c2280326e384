// Builds a chrome://webrtc-internals dump from recorded getStats() reports, in the format Chrome exports
// (see analyzer/internals.ts): one series per stats object and field, `values` a JSON string, sampled
// once per report between startTime and endTime. Object-valued fields (qualityLimitationDurations) are
// written as JSON strings, as webrtc-internals does. Real Chrome exports are in test/fixtures/dumps/;
// this one's worth is a call whose impairment (a withheld video track) the test chose.
import type { InternalsDump, InternalsSeries } from '../../analyzer/internals.ts'

export interface DumpPc {
  /** The PeerConnections key, `<pid>-<lid>` in Chrome. */
  id: string
  reports: readonly (readonly { id: string; type?: string; timestamp?: number; [k: string]: unknown }[])[]
  updateLog?: { time: string; type: string; value: string }[]
}

const iso = (ms: number): string => new Date(ms).toISOString()

export function buildInternalsDump(pcs: readonly DumpPc[], userAgent: string): InternalsDump {
  const out: InternalsDump = { getUserMedia: [], PeerConnections: {}, UserAgent: userAgent }
  for (const pc of pcs) {
    const series = new Map<string, { type: string; times: number[]; values: unknown[] }>()
    pc.reports.forEach((report, i) => {
      for (const stat of report) {
        const t = typeof stat.timestamp === 'number' ? stat.timestamp : i * 1000
        for (const [field, v] of Object.entries(stat)) {
          if (field === 'id' || field === 'type' || field === 'timestamp' || v === undefined) continue
          const name = `${stat.id}-${field}`
          let s = series.get(name)
          if (!s) series.set(name, (s = { type: String(stat.type ?? ''), times: [], values: [] }))
          s.times.push(t)
          s.values.push(typeof v === 'object' && v !== null ? JSON.stringify(v) : v)
        }
      }
    })
    const stats: Record<string, InternalsSeries> = {}
    for (const [name, s] of series) {
      stats[name] = {
        statsType: s.type,
        startTime: iso(s.times[0] as number),
        endTime: iso(s.times[s.times.length - 1] as number),
        values: JSON.stringify(s.values),
      }
    }
    ;(out.PeerConnections as Record<string, unknown>)[pc.id] = {
      url: 'https://example.test/call',
      rtcConfiguration: '{ iceServers: [] }',
      constraints: '',
      updateLog: pc.updateLog ?? [],
      stats,
    }
  }
  return out
}
