// The README's API examples are runnable and true: every `$ curl …` line of README.md is parsed from the
// README itself and run against a live collector with the analyzer (chDB, port 0) holding the two calls
// the README describes, and each answer must have the shape the README shows under it — every key shown
// is present with the same JSON type (null shown means any type). Keys the README does not show may
// exist (fields get added); a README that shows a key, nesting or type the API does not have fails.
import { readFileSync } from 'node:fs'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { startAnalyzerHarness } from '../helpers/analyzer-env.ts'
import type { AnalyzerHarness } from '../helpers/analyzer-env.ts'
import { feedRecordedCall } from '../helpers/dashboards-data.ts'
import { parseReadmeExamples, shapeMismatches } from '../helpers/readme-examples.ts'

const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8')
const examples = parseReadmeExamples(readme)
const API_KEY = 'readme-example-key-0123456789'

let h: AnalyzerHarness

beforeAll(async () => {
  const apps = new Set(examples.map((e) => new URL(e.url).searchParams.get('app') ?? ''))
  expect([...apps]).toHaveLength(1)
  const app = [...apps][0] as string
  h = await startAnalyzerHarness({ apiKeys: [{ app, key: API_KEY }] })
  // The README's two calls: call-42 with video frames withheld for 4 s, call-43 clean.
  await feedRecordedCall(h.streamUrl, 'call-42', { app, recording: 'freeze' })
  await feedRecordedCall(h.streamUrl, 'call-43', { app, recording: 'baseline' })
  for (const session of ['call-42', 'call-43']) await h.analyzer.finalize(app, session)
}, 120_000)

afterAll(async () => {
  await h?.stop()
})

describe('README API examples', () => {
  it('shows at least the session list and a session detail, each with its answer', () => {
    const paths = examples.map((e) => new URL(e.url).pathname)
    expect(paths).toContain('/api/v1/sessions')
    expect(paths.some((p) => /^\/api\/v1\/sessions\/[^/]+$/.test(p))).toBe(true)
    for (const e of examples) expect(e.expected, e.command).toBeDefined()
  })

  it('tells a shape that is not the answer from one that is (the bare array the README once showed)', () => {
    const answer = {
      app: 'a',
      limit: 100,
      offset: 0,
      sessions: [{ session: 's', overall: 9.1, outcome: 'x' }],
    }
    expect(shapeMismatches([{ session: 's' }], answer)).toEqual(['$: shown as array, is object'])
    expect(shapeMismatches({ sessions: [{ overall: '9' }] }, answer)).toEqual([
      '$.sessions[0].overall: shown as string, is number',
    ])
    expect(shapeMismatches({ sessions: [{ durationS: 1 }] }, answer)).toEqual([
      '$.sessions[0].durationS: shown, missing',
    ])
    expect(shapeMismatches({ app: 'b', sessions: [{ session: 't', overall: null }] }, answer)).toEqual([])
  })

  for (const example of examples) {
    it(`answers ${example.command.slice(0, 120)} in the shape shown`, async () => {
      const url = example.url.replace(/^http:\/\/127\.0\.0\.1:8080/, h.url)
      const headers = Object.fromEntries(
        example.headers.map((line) => {
          const i = line.indexOf(':')
          return [
            line.slice(0, i).trim(),
            line
              .slice(i + 1)
              .trim()
              .replace('$API_KEY', API_KEY),
          ]
        }),
      )
      const res = await fetch(url, { headers })
      const body = (await res.json()) as unknown
      expect(res.status, JSON.stringify(body)).toBe(200)
      expect(shapeMismatches(example.expected, body)).toEqual([])
    })
  }
})
