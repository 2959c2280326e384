// Number and time formatting for the view.

/** Score 0–10 with one decimal, or a dash. */
export const score = (v: number | null | undefined): string =>
  v === null || v === undefined ? '–' : v.toFixed(1)

/** What a session or peer whose media never flowed shows instead of a score (SCORING.md §0). */
export const outcomeLabel = (o: { outcome: string; outcomeReason: string }): string =>
  `${o.outcome === 'setup_failed' ? 'setup failed' : 'failed'}: ${o.outcomeReason.replace(/_/g, ' ')}`

/** CSS class of a score: poor below `poor`, fair below 8, good otherwise. */
export const scoreClass = (v: number | null | undefined, poor: number): string =>
  v === null || v === undefined ? 'na' : v < poor ? 'poor' : v < 8 ? 'fair' : 'good'

export const duration = (s: number): string =>
  s >= 3600
    ? `${Math.floor(s / 3600)} h ${Math.floor((s % 3600) / 60)} min`
    : s >= 60
      ? `${Math.floor(s / 60)} min ${s % 60} s`
      : `${s} s`

/** Local date and time to the second. */
export const when = (iso: string): string => {
  const d = new Date(iso)
  return `${d.toLocaleDateString()} ${d.toLocaleTimeString()}`
}

/** Local time of day. */
export const clock = (iso: string): string => new Date(iso).toLocaleTimeString()

export const percent = (v: number): string => `${+(v * 100).toPrecision(3)}%`

/** A clock skew (ms, peer minus collector): `+5.00 s`, `−437 ms`, `0 ms`, or a dash when unknown. */
export const skew = (ms: number | null | undefined): string => {
  if (ms === null || ms === undefined) return '–'
  const sign = ms > 0 ? '+' : ms < 0 ? '−' : ''
  const a = Math.abs(ms)
  return a >= 1000 ? `${sign}${(a / 1000).toFixed(2)} s` : `${sign}${Math.round(a)} ms`
}
