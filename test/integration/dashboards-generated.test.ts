// The committed Grafana dashboards, Prometheus rule files and Grafana alerting provisioning are exactly
// what `npm run dashboards` generates from dashboards/ (so nobody hand-edits generated JSON), and they
// hang together: unique uids and panel ids, every query on the datasource variable, every Grafana rule
// on a provisioned datasource; and docker-compose.yml runs exactly these files.
import { existsSync, readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import { ALL_RULES, ANALYZER_JOB, JOB } from '../../dashboards/alerts/rules.ts'
import { ROOT, dashboards, generate } from '../../dashboards/generate.ts'
import { CONTACT_POINT, PROMETHEUS_UID } from '../../dashboards/grafana/alerting.ts'

interface Panel {
  id: number
  type: string
  title: string
  datasource?: { type?: string; uid?: string }
  targets?: Array<{ datasource?: { type?: string; uid?: string } }>
}

describe('generated dashboards and rules', () => {
  it('are up to date with their sources (run `npm run dashboards`)', async () => {
    for (const file of await generate()) {
      const committed = readFileSync(ROOT + file.path, 'utf8')
      expect(committed, `${file.path} is stale: run \`npm run dashboards\``).toBe(file.content)
    }
  })

  it('give every dashboard a unique uid and every panel a unique id', () => {
    const all = Object.values(dashboards()) as Array<{ uid: string; panels: Panel[] }>
    expect(new Set(all.map((d) => d.uid)).size).toBe(all.length)
    for (const d of all) {
      const ids = d.panels.map((p) => p.id)
      expect(new Set(ids).size, d.uid).toBe(ids.length)
    }
  })

  it('point every query at the dashboard datasource variable', () => {
    for (const d of Object.values(dashboards()) as Array<{ uid: string; panels: Panel[] }>) {
      for (const p of d.panels.filter((x) => x.type !== 'row')) {
        expect(p.targets?.length, `${d.uid} / ${p.title} has no query`).toBeGreaterThan(0)
        for (const t of p.targets ?? [])
          expect(t.datasource?.uid, `${d.uid} / ${p.title}`).toBe('${datasource}')
      }
    }
  })

  it('provision one Grafana rule per alert, on the provisioned Prometheus, to the Alertmanager contact point', () => {
    const rules = readFileSync(`${ROOT}dashboards/grafana/provisioning/alerting/rtcpulse-rules.yml`, 'utf8')
    const datasources = readFileSync(
      `${ROOT}dashboards/grafana/provisioning/datasources/rtcpulse.yml`,
      'utf8',
    )
    for (const r of ALL_RULES) expect(rules).toContain(`title: ${r.alert}\n`)
    expect(rules.match(/^\s+title: /gm)?.length).toBe(ALL_RULES.length)
    expect(datasources).toContain(`uid: ${PROMETHEUS_UID}\n`)
    expect(rules).toContain(`receiver: ${CONTACT_POINT}\n`)
  })
})

describe('docker-compose.yml', () => {
  const compose = readFileSync(`${ROOT}docker-compose.yml`, 'utf8')

  it('mounts files that exist in the repository (secrets aside)', () => {
    const mounts = [...compose.matchAll(/^\s+- \.\/([^:]+):/gm)].map((m) => m[1] as string)
    expect(mounts.length).toBeGreaterThan(5)
    for (const m of mounts.filter((x) => !x.startsWith('secrets/')))
      expect(existsSync(ROOT + m), m).toBe(true)
  })

  it('runs the tested Prometheus configuration: the rule files and scrape jobs the rules select on', () => {
    const prom = readFileSync(`${ROOT}dashboards/prometheus/prometheus.yml`, 'utf8')
    for (const group of new Set(ALL_RULES.map((r) => r.group)))
      expect(prom).toContain(`/etc/prometheus/rules/${group}.yml`)
    expect(prom).toMatch(new RegExp(`job_name: ${JOB}\\n\\s+metrics_path: /metrics\\n`))
    expect(prom).toMatch(new RegExp(`job_name: ${ANALYZER_JOB}\\n\\s+metrics_path: /metrics/analyzer\\n`))
    expect(compose).toContain('./dashboards/alerts:/etc/prometheus/rules:ro')
    expect(compose).toContain(
      './dashboards/alerts/alertmanager.example.yml:/etc/alertmanager/alertmanager.yml:ro',
    )
    expect(compose).toContain('./dashboards/grafana/provisioning:/etc/grafana/provisioning:ro')
  })
})
