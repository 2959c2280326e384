// The stats type of an object in a webrtc-internals dump that does not say it. Older exports (Chrome
// 86) have no `statsType` on their series (and no `<id>-type` series): every object is known only
// by its id and its field names. libwebrtc names ids after the type (pc/rtc_stats_collector.cc): long
// names until about M109 (`RTCOutboundRTPVideoStream_123`, `RTCIceCandidatePair_a_b`), short prefixes since
// (`OT01V123`, `CPa_b`, `IT01A123`). The id decides when it can; the fields (webrtc-stats §8) otherwise.

// Long ids (libwebrtc until about M109). Order matters: a longer prefix before any prefix of it.
const LONG: [RegExp, string][] = [
  [/^RTCOutboundRTP(Audio|Video)Stream_/, 'outbound-rtp'],
  [/^RTCInboundRTP(Audio|Video)Stream_/, 'inbound-rtp'],
  [/^RTCRemoteInboundRtp(Audio|Video)Stream_/i, 'remote-inbound-rtp'],
  [/^RTCRemoteOutboundRTP(Audio|Video)Stream_/i, 'remote-outbound-rtp'],
  [/^RTCIceCandidatePair_/, 'candidate-pair'],
  [/^RTCCodec_/, 'codec'],
  [/^RTCTransport_/, 'transport'],
  [/^RTCCertificate_/, 'certificate'],
  [/^RTCMediaStreamTrack_/, 'track'],
  [/^RTCMediaStream_/, 'stream'],
  [/^RTC(Audio|Video)Source_/, 'media-source'],
  [/^RTCAudioPlayout_/, 'media-playout'],
  [/^RTCDataChannel_/, 'data-channel'],
  [/^RTCPeerConnection$/, 'peer-connection'],
]

// Short ids (libwebrtc from about M109): a prefix, then the transport id (`T01`), `A`/`V` and the SSRC.
const SHORT: [RegExp, string][] = [
  [/^OT\w*[AV]\d+$/, 'outbound-rtp'],
  [/^IT\w*[AV]\d+$/, 'inbound-rtp'],
  [/^RI[AV]\d+$/, 'remote-inbound-rtp'],
  [/^RO[AV]\d+$/, 'remote-outbound-rtp'],
  [/^CP.+_.+$/, 'candidate-pair'],
  [/^CF[0-9A-F]{2}:/, 'certificate'],
  [/^C[IO]T?\w*_\d+/, 'codec'],
  [/^DEPRECATED_/, 'track'],
  [/^S[AV]\d+$/, 'media-source'],
  [/^AP$/, 'media-playout'],
  [/^D\d+$/, 'data-channel'],
  [/^P$/, 'peer-connection'],
  [/^T\d+$/, 'transport'],
]

/** A candidate is local or remote by its `isRemote` flag (Chrome before M105) or its id's pair position. */
function candidate(values: Map<string, unknown>): string {
  return values.get('isRemote') === true ? 'remote-candidate' : 'local-candidate'
}

/**
 * The type of a stats object from its id and its fields (name → last value). Returns '' when nothing
 * identifies it; never throws.
 */
export function inferStatsType(id: string, values: Map<string, unknown>): string {
  if (/^RTCIceCandidate_/.test(id)) return candidate(values)
  for (const [re, type] of LONG) if (re.test(id)) return type
  for (const [re, type] of SHORT) if (re.test(id)) return type
  const has = (k: string): boolean => values.has(k)
  // By fields, most specific first (webrtc-stats §8: the members only one dictionary carries).
  if (has('candidateType')) return candidate(values)
  if (has('localCandidateId') && has('remoteCandidateId')) return 'candidate-pair'
  if (has('localId') && has('remoteTimestamp')) return 'remote-outbound-rtp'
  if (has('localId')) return 'remote-inbound-rtp'
  if (has('ssrc') && (has('bytesSent') || has('packetsSent'))) return 'outbound-rtp'
  if (has('ssrc') && (has('bytesReceived') || has('packetsReceived'))) return 'inbound-rtp'
  if (has('mimeType') && has('payloadType')) return 'codec'
  if (has('selectedCandidatePairId') || has('dtlsState')) return 'transport'
  if (has('fingerprint')) return 'certificate'
  if (has('trackIdentifier') && has('remoteSource')) return 'track'
  if (has('trackIdentifier')) return 'media-source'
  if (has('dataChannelsOpened')) return 'peer-connection'
  if (has('dataChannelIdentifier')) return 'data-channel'
  return ''
}
