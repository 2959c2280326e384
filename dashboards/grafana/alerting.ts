// Grafana-managed equivalents of dashboards/alerts/rules.ts, as a Grafana alerting provisioning file
// (https://grafana.com/docs/grafana/latest/alerting/set-up/provision-alerting-resources/file-provisioning/).
// Each rule is A: the PromQL value (with its guard) as an instant query, B: its last value per series,
// C: B compared with the threshold; the rule fires when C holds for `for`.
import {
  ContactPointBuilder,
  NotificationSettingsBuilder,
  QueryBuilder,
  RuleBuilder,
} from '@grafana/grafana-foundation-sdk/alerting'
import type { Rule } from '@grafana/grafana-foundation-sdk/alerting'
import { TypeReduceBuilder, TypeThresholdBuilder } from '@grafana/grafana-foundation-sdk/expr'
import { DataqueryBuilder } from '@grafana/grafana-foundation-sdk/prometheus'
import { runbookUrl } from '../alerts/rules.ts'
import type { AlertRule } from '../alerts/rules.ts'

/** uid of the Prometheus datasource in provisioning/datasources/rtcpulse.yml. */
export const PROMETHEUS_UID = 'rtcpulse-prometheus'
export const FOLDER = 'rtcpulse'
/** Contact point the rules notify: the same Alertmanager the Prometheus rules use, so routing to
 * PagerDuty, Opsgenie, Slack and webhooks is configured once (alerts/alertmanager.example.yml). */
export const CONTACT_POINT = 'rtcpulse-alertmanager'
const GROUP_BY = ['alertname', 'instance', 'app']
const EXPR = { type: '__expr__', uid: '__expr__' }

// Grafana's `$value` is a description of every query value; `$values.B.Value` is the reduced number.
const grafanaTemplate = (text: string): string => text.replace(/\$value\b/g, '$values.B.Value')

/** The Grafana rule for `rule`, built with the foundation SDK. */
export function grafanaRule(rule: AlertRule): Rule {
  const value = rule.guard ? `${rule.value}\nand\n${rule.guard}` : rule.value
  return new RuleBuilder(rule.alert)
    .uid(
      `rtcpulse-${rule.alert.replace(/^Rtcpulse/, '').replace(/[A-Z]/g, (c, i: number) => (i ? '-' : '') + c.toLowerCase())}`,
    )
    .ruleGroup(rule.group)
    .folderUID(FOLDER)
    .condition('C')
    .withQuery(
      new QueryBuilder('A')
        .datasourceUid(PROMETHEUS_UID)
        .relativeTimeRange({ from: 600, to: 0 })
        .model(
          new DataqueryBuilder()
            .datasource({ type: 'prometheus', uid: PROMETHEUS_UID })
            .expr(value)
            .instant()
            .refId('A'),
        ),
    )
    .withQuery(
      new QueryBuilder('B')
        .datasourceUid(EXPR.uid)
        .model(new TypeReduceBuilder().datasource(EXPR).expression('A').reducer('last').refId('B')),
    )
    .withQuery(
      new QueryBuilder('C').datasourceUid(EXPR.uid).model(
        new TypeThresholdBuilder()
          .datasource(EXPR)
          .expression('B')
          .conditions([{ evaluator: { type: rule.op === '>' ? 'gt' : 'lt', params: [rule.threshold] } }])
          .refId('C'),
      ),
    )
    .forDuration(rule.for)
    .noDataState(rule.noData ?? 'OK')
    .execErrState('Error')
    .labels({ severity: rule.severity, service: 'rtcpulse' })
    .annotations({
      summary: grafanaTemplate(rule.summary),
      description: grafanaTemplate(rule.description),
      runbook_url: runbookUrl(rule),
    })
    .notificationSettings(new NotificationSettingsBuilder().receiver(CONTACT_POINT).groupBy(GROUP_BY))
    .isPaused(false)
    .build()
}

/**
 * The provisioning file's object: the contact point (Alertmanager at $ALERTMANAGER_URL, read from
 * Grafana's environment) and one rule group per rules.ts group, evaluated every minute.
 */
export function grafanaAlertingProvisioning(rules: readonly AlertRule[]): Record<string, unknown> {
  const groups = [...new Set(rules.map((r) => r.group))]
  const contact = new ContactPointBuilder()
    .name(CONTACT_POINT)
    .uid(CONTACT_POINT)
    .type('alertmanager')
    .settings({ url: '$ALERTMANAGER_URL' })
    .disableResolveMessage(false)
    .build()
  return {
    apiVersion: 1,
    contactPoints: [
      {
        orgId: 1,
        name: contact.name,
        receivers: [
          {
            uid: contact.uid,
            // Grafana's integration type for an external Alertmanager.
            type: 'prometheus-alertmanager',
            settings: contact.settings as unknown,
            disableResolveMessage: contact.disableResolveMessage,
          },
        ],
      },
    ],
    groups: groups.map((name) => ({
      orgId: 1,
      name,
      folder: FOLDER,
      interval: '1m',
      rules: rules
        .filter((r) => r.group === name)
        .map(grafanaRule)
        .map((r) => ({
          uid: r.uid,
          title: r.title,
          condition: r.condition,
          data: r.data,
          noDataState: r.noDataState,
          execErrState: r.execErrState,
          for: r.for,
          labels: r.labels,
          annotations: r.annotations,
          notification_settings: r.notification_settings,
          isPaused: r.isPaused,
        })),
    })),
  }
}
