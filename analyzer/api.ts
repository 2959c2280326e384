// The analyzer's HTTP API (hono), mounted on the collector's app or on analyzer/main.ts's own:
//   GET /api/v1/sessions?app=&from=&to=&scoreBelow=&outcome=&issue=&codec=&browser=&final=&limit=&offset=
//   GET /api/v1/sessions/:id?app=&series=1&step=
//   GET /api/v1/compare?app=&by=codec|browser|sdk|tag:<key>&a=&b=&from=&to=&live=
//   GET /metrics/analyzer   (Prometheus text format: the analyzer's metrics alone; /metrics has them too)
// Every /api route requires `app` and, unless in dev mode, `Authorization: Bearer <key>` with a key of
// that app (or a `*` key) from RTCPULSE_API_KEYS (DESIGN.md invariant 4: the API is scoped by app).
import type { Context, Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import { z } from 'zod'
import { METRICS_CONTENT_TYPE } from '../lib/metrics.ts'
import type { Registry } from '../lib/metrics.ts'
import type { Store } from '../store/index.ts'
import { compareGroups } from './compare.ts'
import type { CompareBy } from './compare.ts'
import { detailJson, sessionDetail } from './detail.ts'
import { listSessions } from './read.ts'
import { findApiKey } from './config.ts'
import type { AnalyzerConfig } from './config.ts'
import { ISSUE_TYPES } from './issues.ts'
import { OUTCOMES } from './outcome.ts'

export interface ApiDeps {
  store: Store
  config: Pick<AnalyzerConfig, 'apiKeys' | 'dev' | 'expectedFps'>
  registry?: Registry
}

const DAY = 86_400_000
/** A time as epoch ms or an ISO 8601 string. */
const time = z.union([
  z
    .string()
    .regex(/^\d{1,15}$/)
    .transform(Number),
  z.iso.datetime({ offset: true }).transform((s) => Date.parse(s)),
])
const app = z.string().min(1).max(128)

const listQuery = z.object({
  app,
  from: time.optional(),
  to: time.optional(),
  scoreBelow: z.coerce.number().min(0).max(10).optional(),
  outcome: z.enum(OUTCOMES).optional(),
  issue: z.enum(ISSUE_TYPES).optional(),
  codec: z.string().min(1).max(32).optional(),
  browser: z.string().min(1).max(64).optional(),
  final: z.enum(['0', '1', 'true', 'false']).optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  offset: z.coerce.number().int().min(0).max(100_000).default(0),
})

const detailQuery = z.object({
  app,
  series: z.enum(['0', '1', 'true', 'false']).default('1'),
  step: z.coerce.number().int().min(1).max(3600).optional(),
})

const compareQuery = z.object({
  app,
  by: z.union([z.enum(['codec', 'browser', 'sdk']), z.string().regex(/^tag:[\w.-]{1,64}$/)]),
  a: z.string().min(1).max(128),
  b: z.string().min(1).max(128),
  from: time.optional(),
  to: time.optional(),
  /** Include live (not yet final) scores; final scores only by default. */
  live: z.enum(['0', '1', 'true', 'false']).optional(),
})

function parse<T extends z.ZodType>(schema: T, c: Context): z.infer<T> {
  const r = schema.safeParse(c.req.query())
  if (!r.success) {
    const issue = r.error.issues[0]
    throw new HTTPException(400, {
      message: `${issue?.path.join('.') || 'query'}: ${issue?.message ?? 'invalid'}`,
    })
  }
  return r.data
}

/** Throws 401/403 unless the request may read `appId`. */
function authorize(c: Context, appId: string, config: ApiDeps['config']): void {
  const header = c.req.header('authorization')
  if (!header) {
    if (config.dev) return
    throw new HTTPException(401, {
      message: config.apiKeys.length
        ? 'missing Authorization: Bearer <api key>'
        : 'no API keys are configured (RTCPULSE_API_KEYS)',
    })
  }
  const m = /^Bearer\s+(\S+)$/i.exec(header)
  const key = m ? findApiKey(config.apiKeys, m[1] as string) : undefined
  if (!key) throw new HTTPException(401, { message: 'invalid API key' })
  if (key.app !== '*' && key.app !== appId)
    throw new HTTPException(403, { message: `this key cannot read app ${appId}` })
}

const flag = (v: string | undefined): boolean | undefined =>
  v === undefined ? undefined : v === '1' || v === 'true'

/** Adds the analyzer's routes to `app`. No I/O until a request arrives. */
export function mountAnalyzerApi(app: Hono, deps: ApiDeps): void {
  const { store, config } = deps

  app.get('/api/v1/sessions', async (c) => {
    const q = parse(listQuery, c)
    authorize(c, q.app, config)
    const to = q.to ?? Date.now() + DAY
    const sessions = await listSessions(store, {
      app: q.app,
      from: q.from ?? to - 30 * DAY,
      to,
      scoreBelow: q.scoreBelow,
      outcome: q.outcome,
      issue: q.issue,
      codec: q.codec,
      browser: q.browser,
      final: flag(q.final),
      limit: q.limit,
      offset: q.offset,
    })
    return c.json({ app: q.app, limit: q.limit, offset: q.offset, sessions })
  })

  app.get('/api/v1/sessions/:id', async (c) => {
    const q = parse(detailQuery, c)
    authorize(c, q.app, config)
    const id = c.req.param('id')
    if (id.length > 256) throw new HTTPException(400, { message: 'session id is too long' })
    const detail = await sessionDetail(store, q.app, id, {
      series: flag(q.series) ?? true,
      stepS: q.step,
      expectedFps: config.expectedFps,
    })
    if (!detail) throw new HTTPException(404, { message: `no session ${id} in app ${q.app}` })
    return c.json(detailJson(detail))
  })

  app.get('/api/v1/compare', async (c) => {
    const q = parse(compareQuery, c)
    authorize(c, q.app, config)
    const to = q.to ?? Date.now() + DAY
    const result = await compareGroups(store, {
      app: q.app,
      by: q.by as CompareBy,
      a: q.a,
      b: q.b,
      from: q.from ?? to - 30 * DAY,
      to,
      live: flag(q.live) ?? false,
    })
    return c.json({ app: q.app, ...result })
  })

  const registry = deps.registry
  if (registry) {
    app.get('/metrics/analyzer', async (c) =>
      c.text(await registry.render(), 200, { 'content-type': METRICS_CONTENT_TYPE }),
    )
  }
}
