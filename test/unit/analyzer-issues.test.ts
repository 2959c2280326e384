// Detectors on synthetic per-second series: each rule of DESIGN.md "Issues" fires on the pattern it names,
// with start/end and evidence, and stays quiet on the near misses (one bad second, video-only jitter,
// libwebrtc's "bandwidth" limitation while the estimate ramps up at full quality).
import { describe, expect, it } from 'vitest'
import { sessionEnded } from '../../analyzer/analyze.ts'
import { detectIssues, iceIssues, mergeIssues, persistentEpisodes } from '../../analyzer/issues.ts'
import type { Issue, StateEvent, StreamSecond, StreamSeries, TransportSeries } from '../../analyzer/issues.ts'

const T0 = 1_700_000_000_000
const opts = { expectedFps: 30, end: T0 + 60_000 }

function second(i: number, over: Partial<StreamSecond> = {}): StreamSecond {
  return {
    t: T0 + i * 1000,
    interval_ms: 1000,
    active: 1,
    bitrate_bps: 2_500_000,
    packets_per_s: 250,
    fps: 30,
    width: 1280,
    height: 720,
    loss_ratio: 0,
    jitter_ms: 5,
    rtt_ms: 40,
    jb_delay_ms: 40,
    freeze_count: 0,
    frozen_share: 0,
    limitation: 'none',
    limit_bandwidth_share: 0,
    limit_cpu_share: 0,
    keyframes: 0,
    pli_per_s: 0,
    concealment_ratio: 0,
    ...over,
  }
}

function series(
  kind: 'audio' | 'video',
  direction: 'inbound' | 'outbound',
  n: number,
  at: (i: number) => Partial<StreamSecond> = () => ({}),
  stream = `${direction}-${kind}`,
): StreamSeries {
  const rows = Array.from({ length: n }, (_, i) =>
    second(i, {
      ...(kind === 'audio' ? { bitrate_bps: 32_000, fps: null, width: 0, height: 0 } : {}),
      ...at(i),
    }),
  )
  return {
    peer: 'p1',
    pc: 'pc1',
    stream,
    direction,
    kind,
    codec: kind === 'audio' ? 'opus' : 'VP8',
    codecRateBps: 32_000,
    rows,
  }
}

const types = (issues: Issue[]): string[] => issues.map((i) => i.type)

describe('persistentEpisodes', () => {
  const rows = (flags: number[]) =>
    Array.from({ length: 30 }, (_, i) => ({ t: T0 + i * 1000, bad: flags.includes(i) }))
  const eps = (flags: number[]) => persistentEpisodes(rows(flags), (r) => r.bad).map((e) => [e.from, e.to])

  it('needs 3 flagged seconds within 5', () => {
    expect(eps([3, 4])).toEqual([])
    expect(eps([0, 3, 6, 9, 12])).toEqual([])
    expect(eps([2, 4, 6])).toEqual([[2, 6]])
    expect(eps([2, 3, 4, 5, 6, 7])).toEqual([[2, 7]])
  })

  it('keeps separate episodes apart and joins touching ones', () => {
    expect(eps([1, 2, 3, 20, 21, 22])).toEqual([
      [1, 3],
      [20, 22],
    ])
    expect(eps([1, 2, 3, 7, 8, 9])).toEqual([[1, 9]])
  })
})

describe('detectIssues', () => {
  it('finds loss above 1% in 3 of 5 s, critical above 5%', () => {
    const mild = series('audio', 'inbound', 20, (i) => (i >= 5 && i < 10 ? { loss_ratio: 0.02 } : {}))
    const [issue] = detectIssues([mild], [], [], opts)
    expect(issue).toMatchObject({
      type: 'packet_loss',
      severity: 'warning',
      start: T0 + 5000,
      end: T0 + 9000,
    })
    expect(issue?.evidence).toMatchObject({ seconds: 5, mean_loss: 0.02 })
    const severe = series('video', 'inbound', 20, (i) => (i >= 5 && i < 10 ? { loss_ratio: 0.08 } : {}))
    expect(detectIssues([severe], [], [], opts).find((x) => x.type === 'packet_loss')?.severity).toBe(
      'critical',
    )
    const blip = series('audio', 'inbound', 20, (i) => (i === 5 || i === 9 ? { loss_ratio: 0.3 } : {}))
    expect(types(detectIssues([blip], [], [], opts))).not.toContain('packet_loss')
  })

  it('finds high RTT on the transport, over 400 ms in 3 of 5 s', () => {
    const tr: TransportSeries = {
      peer: 'p1',
      pc: 'pc1',
      rows: Array.from({ length: 20 }, (_, i) => ({
        t: T0 + i * 1000,
        rtt_ms: i >= 10 && i % 2 === 0 ? 650 : 80,
        local_type: 'host',
        relay_protocol: '',
      })),
    }
    const [issue] = detectIssues([], [tr], [], opts)
    expect(issue).toMatchObject({
      type: 'high_rtt',
      severity: 'warning',
      start: T0 + 10_000,
      end: T0 + 18_000,
    })
    expect(issue?.evidence.max_rtt_ms).toBe(650)
  })

  it('finds audio jitter above 30 ms but ignores video jitter (the pacer spreads frames)', () => {
    const audio = series('audio', 'inbound', 10, (i) => (i >= 2 ? { jitter_ms: 45 } : {}))
    const video = series('video', 'inbound', 10, (i) => (i >= 2 ? { jitter_ms: 45 } : {}))
    expect(types(detectIssues([audio], [], [], opts))).toContain('high_jitter')
    expect(types(detectIssues([video], [], [], opts))).not.toContain('high_jitter')
  })

  it('finds low MOS from per-second E-model values', () => {
    // 25% loss with FEC: Ie,eff = 100·25/45 = 55.6 → R ≈ 35 → MOS ≈ 1.8
    const s = series('audio', 'inbound', 12, (i) => (i >= 3 && i < 9 ? { loss_ratio: 0.25 } : {}))
    const low = detectIssues([s], [], [], opts).find((i) => i.type === 'low_mos')
    expect(low).toMatchObject({ severity: 'critical', start: T0 + 3000, end: T0 + 8000 })
    expect(low?.evidence.min_mos).toBeLessThan(2)
  })

  it('finds a freeze from stalled seconds and the freeze counted when video resumes', () => {
    const s = series('video', 'inbound', 20, (i) =>
      i >= 8 && i < 12
        ? { active: 0, bitrate_bps: 0, fps: 0 }
        : i === 12
          ? { freeze_count: 1, frozen_share: 1 }
          : {},
    )
    const [f] = detectIssues([s], [], [], opts)
    expect(f).toMatchObject({ type: 'freeze', severity: 'critical', start: T0 + 8000, end: T0 + 12_000 })
    expect(f?.evidence).toMatchObject({ freezes: 1, frozen_s: 5, stalled_s: 4 })
    // Silence before the first and after the last active second is not a freeze (start-up, hang-up).
    const edges = series('video', 'inbound', 10, (i) => (i < 2 || i > 7 ? { active: 0 } : {}))
    expect(types(detectIssues([edges], [], [], opts))).not.toContain('freeze')
  })

  it('counts a pause with stray packets as one episode of its whole length', () => {
    // The sender stopped for 8 s (seconds 6–13): two stray packets (padding) arrive in seconds 9 and 11
    // without a frame, and the receiver reports the pause when video resumes (webrtc-stats pauseCount).
    const s = series('video', 'inbound', 24, (i) =>
      i === 9 || i === 11
        ? { active: 1, packets_per_s: 1, bitrate_bps: 900, fps: 0 }
        : i >= 6 && i < 14
          ? { active: 0, packets_per_s: 0, bitrate_bps: 0, fps: 0 }
          : i === 14
            ? { pause_count: 1, paused_share: 1 }
            : {},
    )
    const freezes = detectIssues([s], [], [], opts).filter((x) => x.type === 'freeze')
    expect(freezes).toHaveLength(1)
    expect(freezes[0]).toMatchObject({ severity: 'critical', start: T0 + 6000, end: T0 + 14_000 })
    expect(freezes[0]?.evidence).toMatchObject({ freezes: 1, frozen_s: 9, stalled_s: 8 })
  })

  it('makes one issue of all short hiccups and ignores a freeze in the last second', () => {
    // Six 0.2 s freezes 5 s apart, and a 0.3 s "freeze" in the last second (teardown).
    const s = series('video', 'inbound', 40, (i) =>
      i > 0 && i % 5 === 0 && i < 35
        ? { freeze_count: 1, frozen_share: 0.2 }
        : i === 39
          ? { freeze_count: 1, frozen_share: 0.3 }
          : {},
    )
    const freezes = detectIssues([s], [], [], opts).filter((x) => x.type === 'freeze')
    expect(freezes).toHaveLength(1)
    expect(freezes[0]).toMatchObject({ severity: 'warning', start: T0 + 5000, end: T0 + 30_000 })
    expect(freezes[0]?.evidence).toMatchObject({ freezes: 6, episodes: 6, frozen_s: 1.2 })
    const teardown = series('video', 'inbound', 20, (i) =>
      i === 19 ? { freeze_count: 1, frozen_share: 0.3 } : {},
    )
    expect(detectIssues([teardown], [], [], opts)).toEqual([])
  })

  it('reports bandwidth limitation only when it cost quality', () => {
    // libwebrtc says "bandwidth" while its estimate ramps up even at full size, rate and bitrate.
    const ramping = series('video', 'outbound', 15, () => ({
      limitation: 'bandwidth',
      limit_bandwidth_share: 1,
    }))
    expect(detectIssues([ramping], [], [], opts)).toEqual([])
    // Starved: fewer frames and bits, and the sender's own estimate (350 kbps) below what its source needs.
    const starved = series('video', 'outbound', 15, (i) =>
      i >= 5
        ? {
            limitation: 'bandwidth',
            limit_bandwidth_share: 1,
            bitrate_bps: 300_000,
            fps: 12,
            available_out_bps: 350_000,
          }
        : {},
    )
    const [bw] = detectIssues([starved], [], [], opts)
    expect(bw).toMatchObject({
      type: 'bandwidth_limitation',
      severity: 'warning',
      start: T0 + 5000,
      end: T0 + 14_000,
    })
    expect(bw?.evidence).toMatchObject({
      seconds: 10,
      mean_bitrate_bps: 300_000,
      mean_fps: 12,
      available_out_bps: 350_000,
    })
    // The same seconds with 6 Mbps available (720p needs 2.5): the network is not what limits (no issue).
    const ample = series('video', 'outbound', 15, (i) =>
      i >= 5
        ? {
            limitation: 'bandwidth',
            limit_bandwidth_share: 1,
            bitrate_bps: 300_000,
            fps: 12,
            available_out_bps: 6e6,
          }
        : {},
    )
    expect(detectIssues([ample], [], [], opts)).toEqual([])
    // The same starvation in the 5 s after the camera stopped and restarted (source fps 0 at seconds
    // 5-7): the encoder ramps up again, which is not the network (no issue until 5 s after the stop).
    const restart = series('video', 'outbound', 15, (i) =>
      i >= 5 && i <= 7
        ? { source_fps: 0, fps: 0, bitrate_bps: 20_000 }
        : i >= 8 && i <= 11
          ? {
              limitation: 'bandwidth',
              limit_bandwidth_share: 1,
              bitrate_bps: 300_000,
              fps: 12,
              available_out_bps: 350_000,
            }
          : {},
    )
    expect(detectIssues([restart], [], [], opts)).toEqual([])
    // Starvation that lasts past LIMIT_RESTART_MS (10 s) after the stop is the network again.
    const stillStarved = series('video', 'outbound', 25, (i) =>
      i >= 5 && i <= 7
        ? { source_fps: 0, fps: 0, bitrate_bps: 20_000 }
        : i >= 8
          ? {
              limitation: 'bandwidth',
              limit_bandwidth_share: 1,
              bitrate_bps: 300_000,
              fps: 12,
              available_out_bps: 350_000,
            }
          : {},
    )
    const [late] = detectIssues([stillStarved], [], [], opts)
    expect(late).toMatchObject({ type: 'bandwidth_limitation', start: T0 + 17_000 })
    // A camera delivering 12 fps: 12 fps sent is all there was (no issue), even with little available.
    const slowSource = series('video', 'outbound', 15, (i) =>
      i >= 5
        ? {
            limitation: 'bandwidth',
            limit_bandwidth_share: 1,
            fps: 12,
            source_fps: 12,
            available_out_bps: 2e5,
          }
        : {},
    )
    expect(detectIssues([slowSource], [], [], opts)).toEqual([])
    const cpu = series('video', 'outbound', 15, (i) =>
      i >= 5 ? { limitation: 'cpu', limit_cpu_share: 1, width: 640, height: 360, bitrate_bps: 500_000 } : {},
    )
    expect(types(detectIssues([cpu], [], [], opts))).toEqual(['cpu_limitation'])
  })

  it('finds key-frame storms after the start-up key frames', () => {
    const storm = series('video', 'inbound', 30, (i) => ({
      keyframes: i >= 10 && i < 20 ? 1 : i === 0 ? 3 : 0,
      pli_per_s: i >= 10 && i < 20 ? 1 : 0,
    }))
    const [k] = detectIssues([storm], [], [], opts)
    expect(k).toMatchObject({ type: 'keyframe_storm', severity: 'critical', start: T0 + 14_000 })
    expect(k?.evidence.max_per_10s).toBe(10)
    const startup = series('video', 'inbound', 30, (i) => ({ keyframes: i < 4 ? 2 : 0 }))
    expect(detectIssues([startup], [], [], opts)).toEqual([])
  })

  it('finds relay and TCP relay use', () => {
    const tr = (proto: string): TransportSeries => ({
      peer: 'p1',
      pc: 'pc1',
      rows: Array.from({ length: 10 }, (_, i) => ({
        t: T0 + i * 1000,
        rtt_ms: 50,
        local_type: 'relay',
        relay_protocol: proto,
      })),
    })
    expect(detectIssues([], [tr('udp')], [], opts)).toMatchObject([
      { type: 'relay', severity: 'info', evidence: { seconds: 10 } },
    ])
    expect(detectIssues([], [tr('tls')], [], opts)).toMatchObject([
      { type: 'tcp_relay', severity: 'warning' },
    ])
  })

  it('finds no inbound media when every inbound stream of a pc is silent for 5 s', () => {
    const silent = (i: number) => (i >= 5 && i < 12 ? { active: 0, packets_per_s: 0 } : {})
    const audio = series('audio', 'inbound', 20, silent)
    const video = series('video', 'inbound', 20, silent)
    expect(
      detectIssues([audio, video], [], [], opts).find((i) => i.type === 'no_inbound_media'),
    ).toMatchObject({
      start: T0 + 5000,
      end: T0 + 11_000,
      evidence: { seconds: 7, streams: 2 },
    })
    const audioOk = series('audio', 'inbound', 20)
    expect(types(detectIssues([audioOk, video], [], [], opts))).not.toContain('no_inbound_media')
  })
})

describe('iceIssues', () => {
  const ev = (t: number, state: string, name = 'connectionstatechange'): StateEvent => ({
    peer: 'p1',
    pc: 'pc1',
    t: T0 + t * 1000,
    name,
    state,
  })

  it('reports a disconnection with its duration, and whether it recovered', () => {
    const [d] = iceIssues([ev(0, 'connected'), ev(10, 'disconnected'), ev(14, 'connected')], T0 + 60_000)
    expect(d).toMatchObject({
      type: 'ice_disconnect',
      severity: 'warning',
      start: T0 + 10_000,
      end: T0 + 14_000,
    })
    expect(d?.evidence).toEqual({ duration_s: 4, recovered: 1 })
  })

  it('reports a failure (also after a disconnection) as critical, open until the end', () => {
    const [f] = iceIssues([ev(0, 'connected'), ev(10, 'disconnected'), ev(25, 'failed')], T0 + 60_000)
    expect(f).toMatchObject({
      type: 'ice_failure',
      severity: 'critical',
      start: T0 + 10_000,
      end: T0 + 60_000,
    })
  })

  it('prefers connectionstatechange when a pc reports both kinds', () => {
    const issues = iceIssues(
      [
        ev(0, 'connected'),
        ev(0, 'connected', 'iceconnectionstatechange'),
        ev(5, 'disconnected', 'iceconnectionstatechange'),
        ev(6, 'connected', 'iceconnectionstatechange'),
      ],
      T0 + 60_000,
    )
    expect(issues).toEqual([])
    expect(
      iceIssues(
        [ev(5, 'disconnected', 'iceconnectionstatechange'), ev(6, 'connected', 'iceconnectionstatechange')],
        T0,
      ),
    ).toHaveLength(1)
  })
})

describe('mergeIssues', () => {
  const issue = (start: number, end: number, over: Partial<Issue> = {}): Issue => ({
    type: 'packet_loss',
    severity: 'warning',
    peer: 'p1',
    pc: 'pc1',
    stream: 's',
    start: T0 + start * 1000,
    end: T0 + end * 1000,
    evidence: { max_loss: 0.02 },
    detail: '',
    ...over,
  })

  it('extends an episode seen again by a later window, keeping its start', () => {
    const known = [issue(10, 20)]
    const changed = mergeIssues(
      known,
      [issue(15, 30, { severity: 'critical', evidence: { max_loss: 0.09 } })],
      5000,
    )
    expect(changed).toHaveLength(1)
    expect(known).toEqual([issue(10, 30, { severity: 'critical', evidence: { max_loss: 0.09 } })])
    expect(mergeIssues(known, [issue(20, 30)], 5000)).toEqual([])
    mergeIssues(known, [issue(60, 70)], 5000)
    expect(known).toHaveLength(2)
  })
})

describe('sessionEnded', () => {
  const e = (peer: string, pc: string, name: string, state = ''): StateEvent => ({
    peer,
    pc,
    t: T0,
    name,
    state,
  })
  it('needs every peer to say bye or close all its peer connections', () => {
    expect(sessionEnded(['a', 'b'], [e('a', '_', 'bye')])).toBe(false)
    expect(sessionEnded(['a', 'b'], [e('a', '_', 'bye'), e('b', '_', 'bye')])).toBe(true)
    expect(
      sessionEnded(
        ['a'],
        [
          e('a', 'pc1', 'connectionstatechange', 'closed'),
          e('a', 'pc2', 'connectionstatechange', 'connected'),
        ],
      ),
    ).toBe(false)
    expect(sessionEnded(['a'], [e('a', 'pc1', 'connectionstatechange', 'closed')])).toBe(true)
    expect(sessionEnded([], [])).toBe(false)
  })
})
