// Generated YAML (Prometheus rules, Alertmanager and Grafana provisioning) must read back as exactly the
// object it was written from: a string that looks like a key, a boolean, a number or a comment stays a
// string. The hand-written emitter this replaced wrote `summary:` unquoted, which is not valid YAML.
import { describe, expect, it } from 'vitest'
import { parse } from 'yaml'
import { toYaml } from '../../dashboards/yaml.ts'

describe('toYaml', () => {
  it('round-trips strings that YAML would otherwise read as something else', () => {
    const tricky = [
      'summary:',
      'a: b',
      'yes',
      'No',
      'null',
      '~',
      '15m',
      '1e3',
      '0x10',
      '012',
      '#x',
      '- x',
      '@x',
    ]
    const value = { rules: tricky.map((s) => ({ value: s, [s]: s })) }
    expect(parse(toYaml(value))).toEqual(value)
  })

  it('writes multi-line strings as literal blocks and the header as comments', () => {
    const expr = 'sum by (app) (\n  rate(x[5m])\n) > 0.05'
    const text = toYaml({ expr, n: 3, ok: true, none: null, gone: undefined }, ['generated', ''])
    expect(text.startsWith('# generated\n#\n')).toBe(true)
    expect(text).toContain('expr: |-\n  sum by (app) (\n    rate(x[5m])\n  ) > 0.05\n')
    expect(parse(text)).toEqual({ expr, n: 3, ok: true, none: null })
  })
})
