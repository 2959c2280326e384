// Reads the API examples out of README.md (a `$ curl …` line, then the JSON it answers, up to the next
// `$ ` line or the end of the code block) and compares JSON shapes, for test/integration/readme-examples.

export interface ReadmeExample {
  /** The `$ curl …` line as written. */
  command: string
  url: string
  /** `-H` values, e.g. `authorization: Bearer $API_KEY`. */
  headers: string[]
  /** The JSON shown under the command (undefined when the README shows none or it does not parse). */
  expected: unknown
  /** The text shown under the command. */
  shown: string
}

/** Every `$ curl` example in the fenced code blocks of `markdown`, in order. */
export function parseReadmeExamples(markdown: string): ReadmeExample[] {
  const out: ReadmeExample[] = []
  for (const block of markdown.matchAll(/^```[^\n]*\n([\s\S]*?)^```/gm)) {
    const lines = (block[1] as string).split('\n')
    for (const [i, line] of lines.entries()) {
      if (!line.startsWith('$ curl ')) continue
      const end = lines.findIndex((l, j) => j > i && l.startsWith('$ '))
      const shown = lines
        .slice(i + 1, end === -1 ? undefined : end)
        .join('\n')
        .trim()
      let expected: unknown
      try {
        expected = JSON.parse(shown)
      } catch {
        expected = undefined
      }
      const command = line.replace(/\s+#.*$/, '')
      const quoted = [...command.matchAll(/(['"])(.*?)\1/g)].map((m) => m[2] as string)
      out.push({
        command,
        url: quoted.find((q) => /^https?:\/\//.test(q)) ?? '',
        headers: [...command.matchAll(/-H\s+(['"])(.*?)\1/g)].map((m) => m[2] as string),
        expected,
        shown,
      })
    }
  }
  return out
}

const kind = (v: unknown): string => (v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v)

/**
 * Where `actual` lacks the shape of `expected`: every key of an expected object must be present with the
 * same JSON type, recursively; each element of an expected array must match some element of the actual
 * one; a null shown matches any value. Extra keys are fine. Returns readable paths, [] when it matches.
 */
export function shapeMismatches(expected: unknown, actual: unknown, path = '$'): string[] {
  if (expected === null) return []
  if (kind(expected) !== kind(actual)) return [`${path}: shown as ${kind(expected)}, is ${kind(actual)}`]
  if (Array.isArray(expected)) {
    const items = actual as unknown[]
    return expected.flatMap((e, i) => {
      if (items.length === 0) return [`${path}[${i}]: shown, but the array is empty`]
      const tries = items.map((a, j) => shapeMismatches(e, a, `${path}[${j}]`))
      return tries.some((t) => t.length === 0) ? [] : (tries[0] as string[])
    })
  }
  if (typeof expected === 'object') {
    const obj = actual as Record<string, unknown>
    return Object.entries(expected as Record<string, unknown>).flatMap(([k, v]) =>
      k in obj ? shapeMismatches(v, obj[k], `${path}.${k}`) : [`${path}.${k}: shown, missing`],
    )
  }
  return []
}
