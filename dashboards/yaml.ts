// YAML for the files we generate (Prometheus rules and configs, Grafana and Alertmanager provisioning),
// written by the `yaml` package (YAML 1.2) rather than by hand: every quoting rule of the spec applies,
// so a value such as `summary:` or `yes` stays a string. Multi-line strings become literal blocks, so
// PromQL and SQL stay readable.
import { stringify } from 'yaml'

/**
 * Serialises `value` (a top-level object, JSON-compatible) as YAML; `header` lines are emitted as `#`
 * comments first. Functions and undefined fields vanish exactly as in JSON output.
 */
export function toYaml(value: Record<string, unknown>, header: readonly string[] = []): string {
  const plain = JSON.parse(JSON.stringify(value)) as Record<string, unknown>
  const body = stringify(plain, { lineWidth: 0, blockQuote: 'literal', aliasDuplicateObjects: false })
  return header.map((l) => (l ? `# ${l}\n` : '#\n')).join('') + body
}
