// The alert rules that page on-call are valid Prometheus rules and every one of them is unit-tested:
// `promtool check rules` on each generated rule file, `promtool test rules` on dashboards/alerts/tests,
// a check that each alert has a test case in which it fires, and `amtool check-config` on the example
// Alertmanager configuration. Uses Debian's prometheus package (promtool, amtool).
import { execFile } from 'node:child_process'
import { existsSync, readFileSync, readdirSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { describe, expect, it } from 'vitest'
import { ALL_RULES } from '../../dashboards/alerts/rules.ts'

const run = promisify(execFile)
const ALERTS = fileURLToPath(new URL('../../dashboards/alerts/', import.meta.url))
const PROMETHEUS_DIR = fileURLToPath(new URL('../../dashboards/prometheus/', import.meta.url))
const PROMTOOL = '/usr/bin/promtool'
const AMTOOL = '/usr/bin/amtool'

const ruleFiles = [...new Set(ALL_RULES.map((r) => r.group))].map((g) => `${ALERTS}${g}.yml`)

const testFiles = readdirSync(`${ALERTS}tests`)
  .filter((f) => f.endsWith('.test.yml'))
  .map((f) => `${ALERTS}tests/${f}`)

async function tool(bin: string, args: string[]): Promise<string> {
  try {
    const { stdout, stderr } = await run(bin, args, { timeout: 60_000 })
    return stdout + stderr
  } catch (err) {
    const e = err as { stdout?: string; stderr?: string; message: string }
    throw new Error(`${bin} ${args.join(' ')} failed:\n${e.stdout ?? ''}${e.stderr ?? e.message}`)
  }
}

describe('alert rules', () => {
  it('has a rule file per group and a test file per rule file', () => {
    for (const f of ruleFiles) expect(existsSync(f), f).toBe(true)
    const tested = testFiles.flatMap((t) => [
      ...readFileSync(t, 'utf8').matchAll(/^\s+- \.\.\/([\w.-]+\.yml)$/gm),
    ])
    expect(tested.map((m) => `${ALERTS}${m[1]}`).sort()).toEqual([...ruleFiles].sort())
  })

  it('has a unit test in which each alert fires', () => {
    const tests = testFiles.map((t) => readFileSync(t, 'utf8')).join('\n')
    for (const rule of ALL_RULES) {
      const fires = new RegExp(`alertname: ${rule.alert}\\n\\s+exp_alerts:\\n\\s+- exp_labels:`)
      expect(fires.test(tests), `no test case expects ${rule.alert} to fire`).toBe(true)
      expect(tests.includes(`alertname: ${rule.alert}\n`), rule.alert).toBe(true)
    }
  })

  it('has a runbook section for each alert', () => {
    const runbook = readFileSync(`${ALERTS}RUNBOOK.md`, 'utf8')
    for (const rule of ALL_RULES) expect(runbook).toMatch(new RegExp(`^## ${rule.alert}$`, 'm'))
  })

  describe.skipIf(!existsSync(PROMTOOL))(
    'promtool (skipped: Debian package prometheus not installed)',
    () => {
      it('accepts every rule file', async () => {
        for (const group of new Set(ALL_RULES.map((r) => r.group))) {
          const out = await tool(PROMTOOL, ['check', 'rules', `${ALERTS}${group}.yml`])
          const n = ALL_RULES.filter((r) => r.group === group).length
          expect(out).toMatch(new RegExp(`SUCCESS: ${n} rules found`))
        }
      })

      it('passes every alert unit test', async () => {
        for (const t of testFiles) {
          const out = await tool(PROMTOOL, ['test', 'rules', t])
          expect(out).toMatch(/SUCCESS/)
        }
      })

      it('accepts the docker-compose Prometheus configuration', async () => {
        const out = await tool(PROMTOOL, [
          'check',
          'config',
          '--syntax-only',
          `${PROMETHEUS_DIR}prometheus.yml`,
        ])
        expect(out).toMatch(/SUCCESS/)
      })
    },
  )

  describe.skipIf(!existsSync(AMTOOL))(
    'amtool (skipped: Debian package prometheus-alertmanager not installed)',
    () => {
      it('accepts the example Alertmanager configuration', async () => {
        const out = await tool(AMTOOL, ['check-config', `${ALERTS}alertmanager.example.yml`])
        expect(out).toMatch(/SUCCESS/)
        expect(out).toMatch(/4 receivers/)
      })
    },
  )
})
