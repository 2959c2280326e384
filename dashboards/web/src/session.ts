// One session: its scores and what cost points, its issues, and uPlot charts of every stream's
// per-second series (from GET /api/v1/sessions/:id?series=1) with the issues drawn on them.
import { POOR_SCORE } from '../../../analyzer/score.ts'
import { get } from './api.ts'
import type { IssueJson, SessionDetail, StreamSeriesJson } from './api.ts'
import { BAND_COLOR, timeChart } from './charts.ts'
import type { Line } from './charts.ts'
import { h, replace } from './dom.ts'
import { clock, duration, outcomeLabel, score, scoreClass, skew, when } from './format.ts'

interface ChartSpec {
  title: string
  unit: string
  /** Which streams, and which field of their series. */
  pick: (s: StreamSeriesJson) => boolean
  field: string
  scale?: number
  format?: (v: number) => string
  /** Issue types drawn on this chart. */
  issues: string[]
  min?: number
  max?: number
}

const video = (dir?: string) => (s: StreamSeriesJson) => s.kind === 'video' && (!dir || s.direction === dir)
const audio = (dir?: string) => (s: StreamSeriesJson) => s.kind === 'audio' && (!dir || s.direction === dir)
const pct = (v: number): string => `${+(v * 100).toPrecision(3)}`

const CHARTS: ChartSpec[] = [
  {
    title: 'Video bitrate',
    unit: 'kbps',
    pick: video(),
    field: 'bitrate_bps',
    scale: 1e-3,
    issues: ['bandwidth_limitation', 'cpu_limitation'],
  },
  { title: 'Frame rate', unit: 'fps', pick: video(), field: 'fps', issues: ['freeze', 'cpu_limitation'] },
  {
    title: 'Frozen video',
    unit: '%',
    pick: video('inbound'),
    field: 'frozen_share',
    format: pct,
    issues: ['freeze'],
    min: 0,
    max: 1,
  },
  {
    title: 'Packet loss',
    unit: '%',
    pick: () => true,
    field: 'loss_ratio',
    format: pct,
    issues: ['packet_loss'],
    min: 0,
  },
  { title: 'Jitter', unit: 'ms', pick: () => true, field: 'jitter_ms', issues: ['high_jitter'] },
  { title: 'Audio MOS', unit: 'MOS', pick: audio(), field: 'mos', issues: ['low_mos'], min: 1, max: 4.5 },
  {
    title: 'Jitter-buffer delay',
    unit: 'ms',
    pick: audio('inbound'),
    field: 'jb_delay_ms',
    issues: ['high_jitter'],
  },
]

const label = (s: { peer: string; direction: string; kind: string }, d: SessionDetail): string => {
  const peers = d.peers.length > 1 ? `${s.peer} ` : ''
  return `${peers}${s.direction} ${s.kind}`
}

function charts(d: SessionDetail, width: number): HTMLElement[] {
  const series = d.series
  if (!series) return []
  const out: HTMLElement[] = []
  const add = (title: string, lines: Line[], spec: Omit<ChartSpec, 'title' | 'pick' | 'field'>): void => {
    if (!lines.some((l) => l.v.some((v) => v !== null))) return
    const el = h('div', { class: 'chart', 'data-chart': title })
    out.push(el)
    const issues = d.issues.filter((i) => spec.issues.includes(i.type))
    // Drawn after the element is in the page, so uPlot measures real fonts.
    queueMicrotask(() =>
      timeChart(el, lines, {
        title,
        unit: spec.unit,
        format: spec.format,
        issues,
        min: spec.min,
        max: spec.max,
        width,
        stepS: series.stepS,
      }),
    )
  }
  for (const spec of CHARTS) {
    const lines = series.streams.filter(spec.pick).map((s) => ({
      label: label(s, d),
      t: s.t,
      v: (s.values[spec.field] ?? []).map((v) => (v === null ? null : v * (spec.scale ?? 1))),
    }))
    add(spec.title, lines, spec)
  }
  const rtt = series.transports.map((t) => ({
    label: d.peers.length > 1 ? `${t.peer} ${t.pc}` : t.pc,
    t: t.t,
    v: t.values.rtt_ms ?? [],
  }))
  add('Round-trip time', rtt, { unit: 'ms', issues: ['high_rtt'] })
  return out
}

function scores(d: SessionDetail): HTMLElement {
  const s = d.score
  const card = (name: string, value: string, cls: string): HTMLElement =>
    h(
      'div',
      { class: `card ${cls}` },
      h('div', { class: 'value' }, value),
      h('div', { class: 'label' }, name),
    )
  const penalties = Object.entries(s.video?.penalties ?? {}).filter(([, v]) => v > 0)
  return h(
    'div',
    {},
    h(
      'div',
      { class: 'cards' },
      d.outcome === 'ok'
        ? card('overall', score(s.overall), scoreClass(s.overall, POOR_SCORE))
        : card('outcome', outcomeLabel(d), 'poor'),
      card(
        'audio MOS',
        s.audio ? s.audio.mos.toFixed(2) : '–',
        s.audio ? (s.audio.mos < 3.5 ? 'poor' : s.audio.mos < 4 ? 'fair' : 'good') : 'na',
      ),
      card('video', score(s.video?.score), scoreClass(s.video?.score, POOR_SCORE)),
      card('duration', duration(d.durationS), ''),
      card('peers', String(d.peers.length), ''),
    ),
    // Media never flowed: say why instead of a score (SCORING.md §0).
    d.outcome === 'ok' ? null : h('p', { class: 'outcome poor' }, d.outcomeDetail),
    penalties.length
      ? h(
          'p',
          { class: 'penalties' },
          'Video points lost: ',
          penalties.map(([k, v]) => `${k} −${+v.toFixed(2)}`).join(', '),
        )
      : null,
  )
}

function issueList(issues: IssueJson[]): HTMLElement {
  if (issues.length === 0) return h('p', { class: 'hint' }, 'No issues detected.')
  return h(
    'table',
    { class: 'issues' },
    h(
      'thead',
      {},
      h('tr', {}, ...['', 'issue', 'from', 'to', 'length', 'peer', 'detail'].map((c) => h('th', {}, c))),
    ),
    h(
      'tbody',
      {},
      ...issues.map((i) => {
        const swatch = h('span', { class: `swatch ${i.severity}` })
        swatch.style.background = BAND_COLOR[i.severity]
        return h(
          'tr',
          {},
          h('td', {}, swatch),
          h('td', {}, `${i.type.replace(/_/g, ' ')} (${i.severity})`),
          h('td', {}, clock(i.start)),
          h('td', {}, clock(i.end)),
          h('td', { class: 'num' }, duration(i.durationS)),
          h('td', {}, i.peer),
          h('td', {}, i.detail),
        )
      }),
    ),
  )
}

function peers(d: SessionDetail): HTMLElement {
  return h(
    'table',
    { class: 'peers' },
    h(
      'thead',
      {},
      h(
        'tr',
        {},
        ...['peer', 'user', 'browser', 'OS', 'SDK', 'clock', 'score', 'MOS', 'video'].map((c) =>
          h('th', {}, c),
        ),
      ),
    ),
    h(
      'tbody',
      {},
      ...d.peers.map((p) =>
        h(
          'tr',
          {},
          h('td', {}, p.peer),
          h('td', {}, p.userId),
          h('td', {}, p.browser),
          h('td', {}, p.os),
          h('td', {}, p.sdk),
          h(
            'td',
            {
              class: 'num clock',
              title:
                'Clock of this peer minus the collector’s, from its stats times against their arrival: ' +
                'short of the truth by about one one-way network delay. Its series are on its own clock.',
            },
            skew(p.clockSkewMs),
          ),
          p.outcome === 'ok'
            ? h(
                'td',
                { class: `num score ${scoreClass(p.score.overall, POOR_SCORE)}` },
                score(p.score.overall),
              )
            : h('td', { class: 'score poor outcome', title: p.outcomeDetail }, outcomeLabel(p)),
          h('td', { class: 'num' }, p.score.audio ? p.score.audio.mos.toFixed(2) : '–'),
          h('td', { class: 'num' }, score(p.score.video?.score)),
        ),
      ),
    ),
  )
}

// A clock off by less than this is within a chart's one-second resolution.
const NOTABLE_SKEW_MS = 1000

/** A note naming the peers whose clocks are off by a second or more: their lines are shifted as much. */
function clockNote(d: SessionDetail): HTMLElement | null {
  const off = d.peers.filter((p) => p.clockSkewMs !== null && Math.abs(p.clockSkewMs) >= NOTABLE_SKEW_MS)
  if (off.length === 0) return null
  return h(
    'p',
    { class: 'hint clock-note' },
    'Times are each peer’s own clock: ',
    off.map((p) => `${p.peer} reads ${skew(p.clockSkewMs)} against the collector`).join(', '),
    ', so its lines are drawn that much later (earlier when negative).',
  )
}

/** Renders session `id` of `app` into `root`. */
export async function sessionView(root: HTMLElement, app: string, id: string): Promise<void> {
  replace(root, h('p', { class: 'hint' }, 'Loading…'))
  const d = await get<SessionDetail>(`/api/v1/sessions/${encodeURIComponent(id)}`, { app, series: 1 })
  const width = Math.max(320, Math.min(1200, root.clientWidth - 8))
  const back = h('a', { href: `#/sessions?app=${encodeURIComponent(app)}` }, `← ${app} sessions`)
  replace(
    root,
    h('p', {}, back),
    h('h1', {}, `Session ${d.session}`),
    h(
      'p',
      { class: 'meta' },
      `${when(d.startedAt)} – ${clock(d.endedAt)} · ${d.final ? 'final score' : 'live: scored over the latest window'} · score v${d.scoreVersion}`,
    ),
    scores(d),
    h('h2', {}, 'Issues'),
    issueList(d.issues),
    h('h2', {}, 'Per second'),
    clockNote(d),
    h('div', { class: 'charts' }, ...charts(d, width)),
    h('h2', {}, 'Peers'),
    peers(d),
  )
}
