// Offline input: the webrtc-internals importer must rebuild the reports a browser exported, and offline
// rows must come from the collector's own derivation, where a counter reset is a null second, not a
// spike (DESIGN.md "Metrics and scores"). The dump here is built from recorded @roamhq/wrtc reports in
// Chrome's export format (test/helpers/analyzer-dump.ts); the shapes of real exports are in
// analyzer-internals-formats.test.ts.
import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { DumpError, parseInternalsDump, pcEvents, pcReports } from '../../analyzer/internals.ts'
import { sessionRows } from '../../analyzer/offline.ts'
import type { Stat } from '../../analyzer/offline.ts'
import { buildInternalsDump } from '../helpers/analyzer-dump.ts'

const load = (name: string): Stat[][] =>
  (
    JSON.parse(readFileSync(new URL(`../fixtures/recorded/${name}`, import.meta.url), 'utf8')) as {
      reports: Stat[][]
    }
  ).reports

const ids = { app: 'offline', session: 's', peer: 'local' }

describe('webrtc-internals importer', () => {
  const sender = load('sender-30s.json')
  const dump = buildInternalsDump([{ id: '4242-1', reports: sender }], 'Mozilla/5.0 Chrome/131.0.0.0')

  it('rebuilds one report per poll with every object and field of the original', () => {
    const stats = dump.PeerConnections?.['4242-1']?.stats ?? {}
    const reports = pcReports(stats)
    expect(reports).toHaveLength(sender.length)
    reports.forEach((report, i) => {
      // remote-* objects carry the time of the RTCP report they describe, seconds behind the poll for
      // audio, and a dump keeps only a series' first and last time: they may land one poll early.
      const local = (list: Stat[]) => list.filter((s) => !s.type.startsWith('remote-'))
      const original = local(sender[i] as Stat[])
      const poll = Math.max(...original.map((s) => s.timestamp))
      expect(
        local(report)
          .map((s) => s.id)
          .sort(),
      ).toEqual(original.map((s) => s.id).sort())
      for (const o of original) {
        const r = report.find((s) => s.id === o.id) as Stat
        // Poll times are rebuilt on an even grid: within a fraction of a second of the real ones.
        expect(Math.abs(r.timestamp - poll)).toBeLessThan(100)
        for (const [k, v] of Object.entries(o)) if (k !== 'timestamp') expect(r[k], `${o.id}.${k}`).toEqual(v)
      }
    })
  })

  it('derives the same per-second metrics as the original reports', () => {
    const fromDump = sessionRows(parseInternalsDump(dump, ids)).stream_seconds as {
      stream_id: string
      bitrate_bps: number | null
      fps: number | null
    }[]
    const direct = sessionRows({ ...ids, peers: [], pcs: [{ peer: 'local', pc: '4242-1', reports: sender }] })
      .stream_seconds as typeof fromDump
    expect(fromDump).toHaveLength(direct.length)
    const total = (rows: typeof direct, id: string) =>
      rows.filter((r) => r.stream_id === id).reduce((a, r) => a + (r.bitrate_bps ?? 0), 0)
    for (const id of new Set(direct.map((r) => r.stream_id))) {
      // Same bytes over the same polls; only the reconstructed Δt differ slightly.
      expect(total(fromDump, id) / total(direct, id)).toBeGreaterThan(0.97)
      expect(total(fromDump, id) / total(direct, id)).toBeLessThan(1.03)
    }
  })

  it('reads connection states from the update log and refuses what is not a dump', () => {
    expect(
      pcEvents([
        { time: '2026-11-25T03:45:30.000Z', type: 'connectionstatechange', value: 'connected' },
        { time: '2026-11-25T03:45:30.000Z', type: 'addIceCandidate', value: 'sdpMid: 0, candidate: …' },
        { time: 'not a time', type: 'iceconnectionstatechange', value: 'failed' },
      ]),
    ).toEqual([
      {
        t: Date.parse('2026-11-25T03:45:30.000Z'),
        name: 'connectionstatechange',
        data: { state: 'connected' },
      },
    ])
    expect(() => parseInternalsDump({ reports: [] }, ids)).toThrow(DumpError)
    expect(() => parseInternalsDump({ PeerConnections: { x: { stats: {} } } }, ids)).toThrow(/no stats/)
  })

  it('skips the computed series webrtc-internals adds', () => {
    const reports = pcReports({
      'OT01V1-bytesSent': {
        statsType: 'outbound-rtp',
        startTime: '2026-01-01T00:00:00.000Z',
        endTime: '2026-01-01T00:00:01.000Z',
        values: '[100,200]',
      },
      'OT01V1-[bytesSent_in_bits/s]': {
        statsType: 'outbound-rtp',
        startTime: '2026-01-01T00:00:00.000Z',
        endTime: '2026-01-01T00:00:01.000Z',
        values: '[0,800]',
      },
      'OT01V1-qualityLimitationDurations': {
        statsType: 'outbound-rtp',
        startTime: '2026-01-01T00:00:01.000Z',
        endTime: '2026-01-01T00:00:01.000Z',
        values: '["{\\"bandwidth\\":0.5}"]',
      },
    })
    expect(reports).toEqual([
      [
        {
          id: 'OT01V1',
          type: 'outbound-rtp',
          timestamp: Date.parse('2026-01-01T00:00:00.000Z'),
          bytesSent: 100,
        },
      ],
      [
        {
          id: 'OT01V1',
          type: 'outbound-rtp',
          timestamp: Date.parse('2026-01-01T00:00:01.000Z'),
          bytesSent: 200,
          qualityLimitationDurations: { bandwidth: 0.5 },
        },
      ],
    ])
  })
})

describe('sessionRows', () => {
  // An outbound video stream at 1 Mbps whose counters restart at t=4 (e.g. the encoder was recreated).
  const bytes = [0, 125_000, 250_000, 375_000, 1_000, 126_000, 251_000]
  const reports: Stat[][] = bytes.map((b, i) => [
    {
      id: 'OT1',
      type: 'outbound-rtp',
      timestamp: 1_000_000 + i * 1000,
      kind: 'video',
      ssrc: 1,
      bytesSent: b,
      packetsSent: b / 1000,
      framesEncoded: i * 30,
    },
  ])

  it('turns a counter reset into a null second, never a spike or a negative rate', () => {
    const rows = sessionRows({ ...ids, peers: [], pcs: [{ peer: 'p', pc: 'pc', reports }] })
      .stream_seconds as { bitrate_bps: number | null; seq: number }[]
    expect(rows.map((r) => r.bitrate_bps)).toEqual([
      null,
      1_000_000,
      1_000_000,
      1_000_000,
      null,
      1_000_000,
      1_000_000,
    ])
    expect(rows.map((r) => r.seq)).toEqual([1, 2, 3, 4, 5, 6, 7])
  })

  it('numbers events and stats of a pc in one sequence, in time order', () => {
    const rows = sessionRows({
      ...ids,
      peers: [{ peer: 'p', userAgent: 'Mozilla/5.0 Firefox/133.0' }],
      pcs: [
        {
          peer: 'p',
          pc: 'pc',
          reports: reports.slice(0, 2),
          events: [{ t: 1_000_500, name: 'connectionstatechange', data: { state: 'connected' } }],
        },
      ],
    })
    expect((rows.events as { seq: number }[]).map((e) => e.seq)).toEqual([2])
    expect((rows.stream_seconds as { seq: number }[]).map((e) => e.seq)).toEqual([1, 3])
    expect(rows.peers).toMatchObject([{ browser: 'Firefox 133', peer_id: 'p' }])
  })
})
