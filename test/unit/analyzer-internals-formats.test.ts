// The webrtc-internals importer reads every export shape Chrome has written since 2020: series without
// `statsType` (types from ids and fields), per-object `timestamp` series with uneven polls, update logs
// with `time` strings or epoch `timestamp`s, and it names the legacy goog format instead of scoring
// nothing. Each shape here is copied in miniature from a real export in test/fixtures/dumps/.
import { describe, expect, it } from 'vitest'
import {
  DumpError,
  parseDumpText,
  parseInternalsDump,
  pcEvents,
  pcReports,
} from '../../analyzer/internals.ts'
import { inferStatsType } from '../../analyzer/internals-type.ts'

const ids = { app: 'offline', session: 's', peer: 'local' }
const fields = (...names: string[]): Map<string, unknown> => new Map(names.map((n) => [n, 1]))

describe('inferStatsType', () => {
  it('reads the long ids of Chrome before M110 and the short ids since', () => {
    const cases: [string, string][] = [
      ['RTCOutboundRTPVideoStream_1519538442', 'outbound-rtp'],
      ['RTCInboundRTPAudioStream_32322563', 'inbound-rtp'],
      ['RTCRemoteInboundRtpVideoStream_1519538442', 'remote-inbound-rtp'],
      ['RTCIceCandidatePair_frv/SrN8_WEp1m6Tw', 'candidate-pair'],
      ['RTCCodec_1_Outbound_96', 'codec'],
      ['RTCTransport_0_1', 'transport'],
      ['RTCMediaStreamTrack_receiver_17', 'track'],
      ['RTCVideoSource_6', 'media-source'],
      ['RTCPeerConnection', 'peer-connection'],
      ['OT01V322562611', 'outbound-rtp'],
      ['IT01A2631453875', 'inbound-rtp'],
      ['RIV322562611', 'remote-inbound-rtp'],
      ['ROA2631453875', 'remote-outbound-rtp'],
      ['CPI1XOmtb9_Cs2s8Hj9', 'candidate-pair'],
      ['COT01_96', 'codec'],
      ['CIT01_111_minptime=10;useinbandfec=1', 'codec'],
      ['T01', 'transport'],
      ['SV2', 'media-source'],
      ['P', 'peer-connection'],
    ]
    for (const [id, type] of cases) expect(inferStatsType(id, new Map()), id).toBe(type)
  })

  it('tells local from remote candidates and falls back on the fields', () => {
    expect(inferStatsType('RTCIceCandidate_WEp1m6Tw', new Map([['isRemote', true]]))).toBe('remote-candidate')
    expect(inferStatsType('RTCIceCandidate_frv/SrN8', new Map([['isRemote', false]]))).toBe('local-candidate')
    expect(inferStatsType('x1', fields('ssrc', 'bytesSent', 'framesEncoded'))).toBe('outbound-rtp')
    expect(inferStatsType('x2', fields('ssrc', 'bytesReceived'))).toBe('inbound-rtp')
    expect(inferStatsType('x3', fields('ssrc', 'localId', 'roundTripTime'))).toBe('remote-inbound-rtp')
    expect(inferStatsType('x4', fields('localId', 'remoteTimestamp', 'bytesSent'))).toBe(
      'remote-outbound-rtp',
    )
    expect(inferStatsType('x5', fields('localCandidateId', 'remoteCandidateId'))).toBe('candidate-pair')
    expect(inferStatsType('x6', fields('audioLevel'))).toBe('')
  })
})

describe('pcReports on the export shapes', () => {
  const at = (s: number): string => new Date(Date.UTC(2020, 10, 5, 18, 34, s)).toISOString()

  it('types objects of an export without statsType and restores ssrc as a number', () => {
    const reports = pcReports({
      'RTCOutboundRTPVideoStream_7-ssrc': { startTime: at(0), endTime: at(1), values: '["7","7"]' },
      'RTCOutboundRTPVideoStream_7-bytesSent': { startTime: at(0), endTime: at(1), values: '[10,20]' },
      'RTCPeerConnection-dataChannelsOpened': { startTime: at(0), endTime: at(1), values: '[0,0]' },
    })
    expect(reports[1]).toContainEqual({
      id: 'RTCOutboundRTPVideoStream_7',
      type: 'outbound-rtp',
      timestamp: Date.parse(at(1)),
      ssrc: 7,
      bytesSent: 20,
    })
    expect(reports[1]?.find((s) => s.id === 'RTCPeerConnection')?.type).toBe('peer-connection')
  })

  it("reads Chrome 86's inbound audioLevel on the int16 scale as webrtc-stats' 0..1", () => {
    const reports = pcReports({
      'RTCInboundRTPAudioStream_9-audioLevel': {
        startTime: at(0),
        endTime: at(2),
        values: '[-1,32767,8135]',
      },
    })
    expect(reports.map((r) => r[0]?.audioLevel)).toEqual([undefined, 1, 8135 / 32767])
  })

  it('keeps the real poll times of an export with timestamp series, uneven as they were', () => {
    const t0 = Date.parse(at(0))
    const polls = [t0, t0 + 1000, t0 + 1890, t0 + 2290, t0 + 3290]
    const series = (statsType: string, values: unknown[], times = polls) => ({
      statsType,
      startTime: new Date(times[0] as number).toISOString(),
      endTime: new Date(times.at(-1) as number).toISOString(),
      values: JSON.stringify(values),
    })
    const reports = pcReports({
      'P-timestamp': series('peer-connection', polls),
      'OT01V5-timestamp': series('outbound-rtp', polls.slice(1), polls.slice(1)),
      'OT01V5-bytesSent': series('outbound-rtp', [100, 200, 240, 340], polls.slice(1)),
      'OT01V5-mid': series('outbound-rtp', [1, 1, 1, 1], polls.slice(1)),
      // A receiver report's time lags the poll, and stays while no new report arrives.
      'RIV5-timestamp': series('remote-inbound-rtp', [t0 + 600, t0 + 600, t0 + 2100], [t0 + 600, t0 + 2100]),
      'RIV5-localId': series('remote-inbound-rtp', ['OT01V5', 'OT01V5', 'OT01V5'], [t0 + 600, t0 + 2100]),
    })
    expect(reports.map((r) => r.find((s) => s.id === 'P')?.timestamp)).toEqual(polls)
    const out = reports.map((r) => r.find((s) => s.id === 'OT01V5'))
    expect(out.map((s) => s?.bytesSent)).toEqual([undefined, 100, 200, 240, 340])
    expect(out[2]).toMatchObject({ type: 'outbound-rtp', timestamp: t0 + 1890, mid: '1' })
    // The remote object's series ends with its local object's last poll, not at its lagging time.
    expect(reports.map((r) => r.find((s) => s.id === 'RIV5')?.timestamp)).toEqual([
      undefined,
      undefined,
      t0 + 600,
      t0 + 600,
      t0 + 2100,
    ])
  })
})

describe('pcEvents on the update-log shapes', () => {
  it('reads recent exports: on-prefixed types, JSON-quoted states, epoch timestamps', () => {
    const t = Date.UTC(2026, 1, 3, 9, 14, 58, 503)
    expect(
      pcEvents([
        { type: 'oniceconnectionstatechange', value: '"checking"', timestamp: t },
        { type: 'onconnectionstatechange', value: '"failed"', timestamp: t + 5 },
        { type: 'onicecandidate', value: 'candidate:…', timestamp: t + 6 },
      ]),
    ).toEqual([
      { t, name: 'iceconnectionstatechange', data: { state: 'checking' } },
      { t: t + 5, name: 'connectionstatechange', data: { state: 'failed' } },
    ])
  })

  it("reads Chrome 86: camel-case types, enum names, locale times aligned to the pc's first stats", () => {
    // Exported at UTC+3: 9:34:11 PM local is 18:34:11 UTC; the first stats sample is 1.7 s later.
    const firstStats = Date.UTC(2020, 10, 5, 18, 34, 12, 741)
    expect(
      pcEvents(
        [
          {
            time: '11/5/2020, 9:34:11 PM',
            type: 'signalingStateChange',
            value: 'SignalingStateHaveLocalOffer',
          },
          { time: '11/5/2020, 9:34:12 PM', type: 'connectionStateChange', value: 'connected' },
        ],
        firstStats,
      ),
    ).toEqual([
      {
        t: Date.UTC(2020, 10, 5, 18, 34, 11),
        name: 'signalingstatechange',
        data: { state: 'have-local-offer' },
      },
      { t: Date.UTC(2020, 10, 5, 18, 34, 12), name: 'connectionstatechange', data: { state: 'connected' } },
    ])
  })
})

describe('parseInternalsDump on a legacy export', () => {
  it('names the legacy goog format and how to export the standard one', () => {
    const s = { statsType: 'ssrc', startTime: '2017-01-01T00:00:00.000Z', values: '[1,2]' }
    const legacy = {
      PeerConnections: { '1-1': { stats: { 'ssrc_1_send-googRtt': s, 'ssrc_1_send-bytesSent': s } } },
    }
    expect(() => parseInternalsDump(legacy, ids)).toThrow(DumpError)
    expect(() => parseInternalsDump(legacy, ids)).toThrow(/legacy .*goog.*Standardized \(promise-based\)/)
  })
})

describe('parseDumpText', () => {
  it("names webrtc-internals' other export, the rtcstats format, and text that is not JSON", () => {
    // The rtcstats file format: a header line, a metadata object, then one JSON array per event.
    const rtcstats = 'RTCStatsDump\n{"fileFormat":3}\n["getStats","1-1",{},1]\n'
    expect(() => parseDumpText(rtcstats, 'rtcstats_dump.txt')).toThrow(
      /rtcstats dump.*Create a WebRTC-Internals dump/,
    )
    expect(() => parseDumpText('{"a": ', 'x.txt')).toThrow(DumpError)
    expect(parseDumpText('{"PeerConnections": {}}', 'x.txt')).toEqual({ PeerConnections: {} })
  })
})
