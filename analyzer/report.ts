// Plain-text session report for the terminal (`rtcpulse analyze`). Pure: an analysis in, lines out.
import type { Outcome, Score, SessionAnalysis, StreamAnalysis } from './analyze.ts'
import { PENALTIES } from './score.ts'

const n = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined ? '–' : v.toFixed(digits)
const pct = (v: number | null | undefined, digits = 1): string =>
  v === null || v === undefined ? '–' : `${(v * 100).toFixed(digits)}%`
const kbps = (v: number | null | undefined): string =>
  v === null || v === undefined
    ? '–'
    : v >= 1e6
      ? `${(v / 1e6).toFixed(2)} Mbps`
      : `${Math.round(v / 1000)} kbps`
const clock = (ms: number): string => new Date(ms).toISOString().slice(11, 19)

function scoreLine(s: Score, o: Outcome): string {
  // A call whose media never flowed has no score to show, only why (SCORING.md §0).
  if (o.outcome !== 'ok') return `${o.outcome.toUpperCase()} (${o.outcomeReason}): ${o.outcomeDetail}`
  const parts = [`overall ${n(s.overall)}/10`]
  if (s.audio) parts.push(`audio MOS ${n(s.audio.mos, 2)} (${n(s.audio.score)}/10)`)
  if (s.video) parts.push(`video ${n(s.video.score)}/10`)
  return parts.join('   ')
}

function explain(s: Score): string[] {
  const out: string[] = []
  if (s.video) {
    const taken = PENALTIES.filter((k) => s.video!.penalties[k] > 0).map(
      (k) => `${k} −${s.video!.penalties[k].toFixed(2)}`,
    )
    out.push(`  video penalties: ${taken.length ? taken.join(', ') : 'none'}`)
  }
  if (s.audio) {
    const t = s.audio.terms
    out.push(
      `  E-model: d ${Math.round(t.d)} ms, Id ${n(t.id, 2)}, Ie ${n(t.ie)}, loss ${n(t.ppl, 2)}% (Bpl ${t.bpl}) → Ie,eff ${n(t.ieEff)}, R ${n(t.r)}`,
    )
  }
  return out
}

function streamLines(s: StreamAnalysis): string[] {
  const a = s.aggregates
  const dir = s.direction === 'outbound' ? 'out' : 'in '
  const head = `  ${s.peer}/${s.pc} ${dir} ${s.kind} ${s.codec || '?'} ssrc ${s.ssrc}${s.remotePeer ? ` ↔ ${s.remotePeer}` : ''}`
  const score = s.kind === 'audio' ? `MOS ${n(s.mos, 2)}` : `video ${n(s.videoScore)}/10`
  const lines = [`${head}  ${score}  (${a.active_seconds}/${a.seconds} s active)`]
  const rate = `${kbps(a.bitrate_mean)} (p5 ${kbps(a.bitrate_p5)}, p50 ${kbps(a.bitrate_p50)}, p95 ${kbps(a.bitrate_p95)})`
  const net = `loss ${pct(a.loss)} · jitter ${n(a.jitter_ms)} ms · RTT ${n(a.rtt_ms, 0)} ms`
  if (s.kind === 'video') {
    lines.push(
      `      ${rate}, CV ${n(a.bitrate_cv, 3)} (σ ${n(a.bitrate_sigma_kbps, 0)} kbps, ramp-up ${n(a.ramp_up_s, 0)} s)`,
    )
    const extra =
      s.direction === 'outbound'
        ? `QP ${n(a.qp)} · limited ${pct(a.limited_share, 0)} (bandwidth ${pct(a.limit_bandwidth_share, 0)}, cpu ${pct(a.limit_cpu_share, 0)})`
        : `QP ${n(a.qp)} · freezes ${a.freeze_count} (${n(a.frozen_s)} s) · jitter buffer ${n(a.jb_delay_ms, 0)} ms · dropped ${pct(a.dropped_share)}`
    lines.push(
      `      ${n(a.fps_mean)} fps (CV ${n(a.fps_cv, 2)}) · ${a.width}x${a.height} · ${net} · ${extra}`,
    )
    lines.push(`      NACK ${n(a.nack_per_s, 2)}/s · PLI ${n(a.pli_per_s, 2)}/s · key frames ${a.keyframes}`)
  } else {
    const extra =
      s.direction === 'inbound'
        ? ` · jitter buffer ${n(a.jb_delay_ms, 0)} ms · concealed ${pct(a.concealment, 2)}`
        : ''
    lines.push(`      ${rate} · ${net}${extra}`)
  }
  return lines
}

/** The report as text lines. `source` names what was analysed (a file, a session id). */
export function renderReport(a: SessionAnalysis, source: string): string {
  const lines: string[] = []
  const browsers = [
    ...new Set(a.peers.map((p) => [p.browser, p.os].filter(Boolean).join(' on ')).filter(Boolean)),
  ]
  const pcs = new Set(a.streams.map((s) => `${s.peer}/${s.pc}`)).size
  lines.push(`rtcpulse report: ${source} (score v${a.scoreVersion}${a.final ? '' : ', live window'})`)
  lines.push(
    `${browsers.join(', ') || 'unknown browser'} · ${a.peers.length} peer(s), ${pcs} peer connection(s) · ${Math.round((a.endedAt - a.startedAt) / 1000)} s (${new Date(a.startedAt).toISOString()} – ${clock(a.endedAt)}Z)`,
  )
  lines.push('')
  lines.push(`Session ${scoreLine(a.score, a)}`)
  lines.push(...explain(a.score))
  if (a.peers.length > 1) {
    lines.push('')
    for (const p of a.peers)
      lines.push(`Peer ${p.peer}${p.browser ? ` (${p.browser})` : ''}: ${scoreLine(p.score, p)}`)
  }
  lines.push('', 'Streams')
  for (const s of a.streams) lines.push(...streamLines(s))
  if (a.transports.length) {
    lines.push('', 'Connections')
    for (const t of a.transports) {
      const relay = t.local_type === 'relay' ? ` via TURN/${t.relay_protocol || 'udp'}` : ''
      lines.push(
        `  ${t.peer_id}/${t.pc_id} ${t.local_type || '?'}→${t.remote_type || '?'} ${t.protocol}${relay} · RTT ${n(t.rtt_ms, 0)} ms (p95 ${n(t.rtt_p95_ms, 0)}) · available out ${kbps(t.available_out_bps)}`,
      )
    }
  }
  lines.push('', a.issues.length ? `Issues (${a.issues.length})` : 'Issues: none')
  for (const i of a.issues) {
    const where = [i.peer, i.pc].filter(Boolean).join('/')
    lines.push(
      `  ${clock(i.start)}–${clock(i.end)}Z  ${i.severity.padEnd(8)} ${i.type.padEnd(20)} ${where}: ${i.detail}`,
    )
  }
  return lines.join('\n') + '\n'
}
