// Renders rules.ts as Prometheus rule files (https://prometheus.io/docs/prometheus/latest/configuration/alerting_rules/).
import { toYaml } from '../yaml.ts'
import { promExpr, runbookUrl } from './rules.ts'
import type { AlertRule } from './rules.ts'

/** The rule-file object of `group`: one group holding `rules` in order. */
export function prometheusRuleGroup(group: string, rules: readonly AlertRule[]): Record<string, unknown> {
  return {
    groups: [
      {
        name: group,
        rules: rules.map((r) => ({
          alert: r.alert,
          expr: promExpr(r),
          for: r.for,
          labels: { severity: r.severity, service: 'rtcpulse' },
          annotations: {
            summary: r.summary,
            description: r.description,
            runbook_url: runbookUrl(r),
          },
        })),
      },
    ],
  }
}

/** The rule file of `group` as YAML text (before prettier). */
export function prometheusRuleFile(
  group: string,
  rules: readonly AlertRule[],
  note: readonly string[],
): string {
  return toYaml(prometheusRuleGroup(group, rules), note)
}
