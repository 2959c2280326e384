// The analyzer's HTTP API (analyzer/api.ts) as the browser calls it. Response shapes are the analyzer's
// own types (type-only imports, erased from the bundle), so an API change that breaks the view fails
// the type check.
import type { Score, StreamAnalysis, Aggregates, Outcome } from '../../../analyzer/analyze.ts'
import type { PeerJson } from '../../../analyzer/detail.ts'
import type { Issue } from '../../../analyzer/issues.ts'
import type { SessionSummary, StreamSeriesJson } from '../../../analyzer/read.ts'

export type { SessionSummary, StreamSeriesJson }

export interface SessionList {
  app: string
  limit: number
  offset: number
  sessions: SessionSummary[]
}

export type IssueJson = Omit<Issue, 'start' | 'end'> & { start: string; end: string; durationS: number }

export interface TransportSeriesJson {
  peer: string
  pc: string
  t: number[]
  values: Record<string, (number | null)[]>
}

export interface SessionDetail extends Outcome {
  app: string
  session: string
  final: boolean
  ended: boolean
  scoreVersion: number
  startedAt: string
  endedAt: string
  durationS: number
  score: Score
  peers: PeerJson[]
  streams: Array<
    Omit<StreamAnalysis, 'aggregates'> & { aggregates: Omit<Aggregates, 'started_at' | 'ended_at'> }
  >
  issues: IssueJson[]
  series?: { stepS: number; streams: StreamSeriesJson[]; transports: TransportSeriesJson[] }
}

export class ApiError extends Error {
  constructor(
    message: string,
    readonly status: number,
  ) {
    super(message)
  }
}

const KEY = 'rtcpulse.apiKey'

/** The API key kept in this browser (empty when none; a dev-mode collector needs none). */
export const apiKey = (): string => localStorage.getItem(KEY) ?? ''
export const setApiKey = (key: string): void =>
  key ? localStorage.setItem(KEY, key) : localStorage.removeItem(KEY)

/** GETs `path` with `params` (undefined and '' dropped). Rejects with ApiError on a non-2xx answer. */
export async function get<T>(path: string, params: Record<string, string | number | undefined>): Promise<T> {
  const qs = new URLSearchParams()
  for (const [k, v] of Object.entries(params)) if (v !== undefined && v !== '') qs.set(k, String(v))
  const key = apiKey()
  const res = await fetch(`${path}?${qs.toString()}`, {
    headers: key ? { authorization: `Bearer ${key}` } : {},
  })
  if (!res.ok) {
    const body = (await res.json().catch(() => ({}))) as { error?: string }
    throw new ApiError(body.error ?? `${res.status} ${res.statusText}`, res.status)
  }
  return (await res.json()) as T
}
