// The session list: filters (kept in the URL), the fleet's score distribution and summary over the
// listed sessions, and a table linking to each session.
import { ISSUE_TYPES } from '../../../analyzer/issues.ts'
import { POOR_SCORE } from '../../../analyzer/score.ts'
import { get } from './api.ts'
import type { SessionList, SessionSummary } from './api.ts'
import { scoreHistogram } from './charts.ts'
import { h, replace } from './dom.ts'
import { duration, outcomeLabel, percent, score, scoreClass, when } from './format.ts'

const RANGES: Array<[string, number]> = [
  ['last hour', 3_600_000],
  ['last 24 hours', 86_400_000],
  ['last 7 days', 7 * 86_400_000],
  ['last 30 days', 30 * 86_400_000],
]
const PAGE = 50

export interface ListParams {
  app: string
  range: string
  scoreBelow: string
  outcome: string
  issue: string
  codec: string
  browser: string
}

export const listParams = (q: URLSearchParams): ListParams => ({
  app: q.get('app') ?? '',
  range: q.get('range') ?? String(7 * 86_400_000),
  scoreBelow: q.get('scoreBelow') ?? '',
  outcome: q.get('outcome') ?? '',
  issue: q.get('issue') ?? '',
  codec: q.get('codec') ?? '',
  browser: q.get('browser') ?? '',
})

function filters(p: ListParams, go: (p: ListParams) => void): HTMLFormElement {
  const input = (
    name: keyof ListParams,
    label: string,
    attrs: Record<string, string> = {},
  ): HTMLLabelElement => h('label', {}, label, h('input', { name, value: p[name], ...attrs }))
  const select = (
    name: keyof ListParams,
    label: string,
    options: Array<[string, string]>,
  ): HTMLLabelElement => {
    const s = h(
      'select',
      { name },
      ...options.map(([v, t]) => h('option', { value: v, selected: v === p[name] }, t)),
    )
    return h('label', {}, label, s)
  }
  const form = h(
    'form',
    { class: 'filters' },
    input('app', 'App', { required: 'required', placeholder: 'app id', size: '12' }),
    select(
      'range',
      'Started',
      RANGES.map(([t, ms]) => [String(ms), t]),
    ),
    input('scoreBelow', 'Score below', { type: 'number', min: '0', max: '10', step: '0.5', size: '4' }),
    select('outcome', 'Outcome', [
      ['', 'any'],
      ['ok', 'media flowed'],
      ['failed', 'failed'],
      ['setup_failed', 'setup failed'],
    ]),
    select('issue', 'Issue', [
      ['', 'any'],
      ...ISSUE_TYPES.map((t): [string, string] => [t, t.replace(/_/g, ' ')]),
    ]),
    input('codec', 'Codec', { placeholder: 'VP8, opus…', size: '8' }),
    input('browser', 'Browser', { placeholder: 'chrome…', size: '8' }),
    h('button', { type: 'submit' }, 'Show'),
  )
  form.addEventListener('submit', (e) => {
    e.preventDefault()
    const data = new FormData(form)
    go(
      Object.fromEntries(
        Object.keys(p).map((k) => {
          const v = data.get(k)
          return [k, typeof v === 'string' ? v : '']
        }),
      ) as unknown as ListParams,
    )
  })
  return form
}

function summary(sessions: SessionSummary[]): HTMLElement {
  const scored = sessions
    .map((s) => s.overall)
    .filter((v): v is number => v !== null)
    .sort((a, b) => a - b)
  const median = scored.length ? (scored[Math.floor((scored.length - 1) / 2)] as number) : null
  // A session whose media never flowed has no score and is poor (SCORING.md §0).
  const failed = sessions.filter((s) => s.outcome !== 'ok').length
  const poor = scored.filter((v) => v < POOR_SCORE).length + failed
  const judged = scored.length + failed
  const issues = new Map<string, number>()
  for (const s of sessions) for (const t of s.issues.types) issues.set(t, (issues.get(t) ?? 0) + 1)
  const top = [...issues].sort((a, b) => b[1] - a[1]).slice(0, 4)
  const card = (label: string, value: string, cls = ''): HTMLElement =>
    h(
      'div',
      { class: `card ${cls}` },
      h('div', { class: 'value' }, value),
      h('div', { class: 'label' }, label),
    )
  return h(
    'div',
    { class: 'cards' },
    card('sessions', String(sessions.length)),
    card('median score', score(median), scoreClass(median, POOR_SCORE)),
    card(`poor (below ${POOR_SCORE} or failed)`, judged ? percent(poor / judged) : '–', poor ? 'poor' : ''),
    card('failed (no media)', String(failed), failed ? 'poor' : ''),
    card(
      'most frequent issues',
      top.length ? top.map(([t, n]) => `${t.replace(/_/g, ' ')} ${n}`).join(' · ') : 'none',
      'wide',
    ),
  )
}

function table(app: string, sessions: SessionSummary[], page: number, more: () => void): HTMLElement {
  const rows = sessions.slice(0, (page + 1) * PAGE).map((s) =>
    h(
      'tr',
      {},
      h(
        'td',
        {},
        h(
          'a',
          { href: `#/session/${encodeURIComponent(s.session)}?app=${encodeURIComponent(app)}` },
          s.session,
        ),
      ),
      h('td', {}, when(s.startedAt)),
      h('td', { class: 'num' }, duration(s.durationS)),
      h('td', { class: 'num' }, s.peers),
      s.outcome === 'ok'
        ? h('td', { class: `num score ${scoreClass(s.overall, POOR_SCORE)}` }, score(s.overall))
        : h('td', { class: 'score poor outcome', title: s.outcomeDetail }, outcomeLabel(s)),
      h('td', { class: 'num' }, s.audioMos === null ? '–' : s.audioMos.toFixed(2)),
      h('td', { class: 'num' }, score(s.videoScore)),
      h(
        'td',
        {},
        s.issues.types.map((t) => h('span', { class: 'tag' }, t.replace(/_/g, ' '))),
      ),
      h('td', {}, s.codecs.join(', ')),
      h('td', {}, s.browsers.join(', ')),
      h('td', {}, s.final ? 'final' : h('span', { class: 'live' }, 'live')),
    ),
  )
  return h(
    'div',
    {},
    h(
      'table',
      { class: 'sessions' },
      h(
        'thead',
        {},
        h(
          'tr',
          {},
          ...[
            'session',
            'started',
            'duration',
            'peers',
            'score',
            'MOS',
            'video',
            'issues',
            'codecs',
            'browsers',
            '',
          ].map((c) => h('th', {}, c)),
        ),
      ),
      h('tbody', {}, ...rows),
    ),
    sessions.length > rows.length
      ? h(
          'button',
          { class: 'more', onclick: more },
          `Show ${Math.min(PAGE, sessions.length - rows.length)} more`,
        )
      : null,
  )
}

/** Renders the list for `p` into `root`; `go` navigates to other filters. */
export async function sessionsView(
  root: HTMLElement,
  p: ListParams,
  go: (p: ListParams) => void,
): Promise<void> {
  const body = h('div', { class: 'body' })
  replace(root, h('h1', {}, 'Sessions'), filters(p, go), body)
  if (!p.app) {
    replace(body, h('p', { class: 'hint' }, 'Enter the app id your SDK reports (the `app` of its tokens).'))
    return
  }
  replace(body, h('p', { class: 'hint' }, 'Loading…'))
  const to = Date.now()
  const list = await get<SessionList>('/api/v1/sessions', {
    app: p.app,
    from: to - Number(p.range),
    to,
    scoreBelow: p.scoreBelow,
    outcome: p.outcome,
    issue: p.issue,
    codec: p.codec,
    browser: p.browser,
    limit: 1000,
  })
  const sessions = list.sessions
  if (sessions.length === 0) {
    replace(body, h('p', { class: 'hint' }, `No scored sessions of ${p.app} match.`))
    return
  }
  const counts = new Array<number>(10).fill(0)
  for (const s of sessions) if (s.overall !== null) (counts[Math.min(9, Math.floor(s.overall))] as number)++
  const chart = h('div', { class: 'chart histogram' })
  let page = 0
  const tableBox = h('div', {})
  const draw = (): void =>
    replace(
      tableBox,
      table(p.app, sessions, page, () => (page++, draw())),
    )
  replace(body, summary(sessions), chart, tableBox)
  draw()
  scoreHistogram(chart, counts, Math.min(900, root.clientWidth || 900), POOR_SCORE)
}
