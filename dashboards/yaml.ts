// A small YAML emitter for the files we generate (Prometheus rules, Grafana provisioning): plain
// objects, arrays, strings, numbers, booleans and null. Multi-line strings become literal blocks, so
// PromQL and SQL stay readable. The build then runs prettier over the result.

const PLAIN = /^[A-Za-z_][\w ./:@-]*$/
const RESERVED = /^(?:true|false|yes|no|on|off|null|~|y|n)$/i

type Scalar = string | number | boolean | null | undefined

function scalar(value: Scalar): string {
  if (value === null || value === undefined) return 'null'
  if (typeof value === 'number' || typeof value === 'boolean') return String(value)
  const s = value
  if (PLAIN.test(s) && !RESERVED.test(s) && !s.endsWith(' ') && !s.includes(': ')) return s
  // A JSON string is a valid YAML double-quoted scalar.
  return JSON.stringify(s)
}

const isBlock = (v: unknown): v is string => typeof v === 'string' && v.includes('\n')
const isEmpty = (v: unknown): boolean =>
  (Array.isArray(v) && v.length === 0) || (isObject(v) && Object.keys(v).length === 0)
const isObject = (v: unknown): v is Record<string, unknown> =>
  typeof v === 'object' && v !== null && !Array.isArray(v)

function block(text: string, indent: string): string {
  const body = text.replace(/\s+$/, '')
  return (
    '|-\n' +
    body
      .split('\n')
      .map((line) => (line ? indent + line.replace(/\s+$/, '') : ''))
      .join('\n')
  )
}

function entry(key: string, value: unknown, indent: string): string {
  const k = scalar(key)
  if (isEmpty(value)) return `${indent}${k}: ${Array.isArray(value) ? '[]' : '{}'}\n`
  if (isBlock(value)) return `${indent}${k}: ${block(value, indent + '  ')}\n`
  if (Array.isArray(value) || isObject(value)) return `${indent}${k}:\n${emit(value, indent + '  ')}`
  return `${indent}${k}: ${scalar(value as Scalar)}\n`
}

function emit(value: unknown, indent: string): string {
  if (Array.isArray(value)) {
    return value
      .map((item) => {
        if (isObject(item) && !isEmpty(item)) {
          // The first key shares the dash's line; the rest align under it.
          const inner = emit(item, indent + '  ')
          return `${indent}- ${inner.slice(indent.length + 2)}`
        }
        if (isBlock(item)) return `${indent}- ${block(item, indent + '  ')}\n`
        if (Array.isArray(item)) return `${indent}-\n${emit(item, indent + '  ')}`
        return `${indent}- ${isEmpty(item) ? '{}' : scalar(item as Scalar)}\n`
      })
      .join('')
  }
  if (isObject(value)) {
    return Object.entries(value)
      .filter(([, v]) => v !== undefined)
      .map(([k, v]) => entry(k, v, indent))
      .join('')
  }
  return `${indent}${scalar(value as Scalar)}\n`
}

/** Serialises `value` (a top-level object, JSON-compatible) as YAML; `header` lines are emitted as `#` comments first. */
export function toYaml(value: Record<string, unknown>, header: readonly string[] = []): string {
  // Round-trip through JSON first so functions and undefined fields vanish exactly as in JSON output.
  const plain = JSON.parse(JSON.stringify(value)) as Record<string, unknown>
  return header.map((l) => (l ? `# ${l}\n` : '#\n')).join('') + emit(plain, '')
}
