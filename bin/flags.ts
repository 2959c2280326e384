// Flag parsing for the `rtcpulse` CLI. Every mistake on the command line becomes a one-line ConfigError,
// which bin/cli.ts prints as `rtcpulse: …` with exit status 2 — never a stack trace, and never a command
// that runs anyway with a value it cannot use (a token minted with `--ttl abc` expires at once).
import { parseArgs } from 'node:util'
import type { ParseArgsConfig } from 'node:util'
import { ConfigError } from '../lib/env.ts'

type Options = NonNullable<ParseArgsConfig['options']>

// node:util parseArgs error codes (https://nodejs.org/api/errors.html#err_parse_args_invalid_option_value).
const PARSE_ERRORS = new Set([
  'ERR_PARSE_ARGS_UNKNOWN_OPTION',
  'ERR_PARSE_ARGS_INVALID_OPTION_VALUE',
  'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL',
])

/** Whether `err` is one of node:util parseArgs' own errors (a bad command line, not a bug). */
export function isParseArgsError(err: unknown): err is Error {
  return err instanceof Error && PARSE_ERRORS.has((err as { code?: string }).code ?? '')
}

/** One line saying what is wrong with the command line, from a parseArgs error. */
export function describeParseArgsError(err: Error): string {
  const code = (err as { code?: string }).code
  const quoted = /'(-[^' ]*)/.exec(err.message)?.[1] ?? ''
  if (code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${quoted}`
  if (code === 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL') {
    const arg = /'([^']*)'/.exec(err.message)?.[1] ?? ''
    return `unexpected argument ${JSON.stringify(arg)}`
  }
  if (/does not take an argument/.test(err.message)) return `${quoted} takes no value`
  if (/ambiguous/.test(err.message))
    return `${quoted} needs a value (write ${quoted}=VALUE for a value that starts with "-")`
  return `${quoted} needs a value`
}

/**
 * parseArgs for one subcommand (strict). A value that starts with `-` is taken as the value of the flag
 * before it unless it is itself a known flag, so `--ttl -120` is checked as a number instead of being
 * refused as ambiguous. Throws ConfigError (one line, ending with `usage`) on an unknown flag, a missing
 * or empty value, or a stray argument.
 */
export function parseFlags<O extends Options>(
  args: string[],
  options: O,
  usage: string,
): ReturnType<typeof parseArgs<{ args: string[]; options: O; strict: true; allowPositionals: false }>> {
  const known = new Set(
    Object.entries(options).flatMap(([name, o]) => [`--${name}`, ...(o.short ? [`-${o.short}`] : [])]),
  )
  const joined: string[] = []
  for (let i = 0; i < args.length; i++) {
    const arg = args[i] as string
    const next = args[i + 1]
    const opt = options[arg.slice(2)]
    if (arg.startsWith('--') && opt?.type === 'string' && next?.startsWith('-') && !known.has(next)) {
      joined.push(`${arg}=${next}`)
      i++
    } else joined.push(arg)
  }
  try {
    const parsed = parseArgs({ args: joined, options, strict: true, allowPositionals: false })
    for (const [name, value] of Object.entries(parsed.values)) {
      if (value === '') throw new ConfigError(`--${name} needs a value`)
    }
    return parsed
  } catch (err) {
    const message = isParseArgsError(err) ? describeParseArgsError(err) : (err as Error).message
    if (isParseArgsError(err) || err instanceof ConfigError)
      throw new ConfigError(`${message} (usage: ${usage})`, { cause: err })
    throw err
  }
}

/**
 * A whole number from `min` to `max` given as `--name`, or `def` when absent. Throws ConfigError naming
 * the flag, the accepted range and the value given.
 */
export function intFlag(
  name: string,
  raw: string | undefined,
  def: number,
  min: number,
  max: number,
): number {
  if (raw === undefined) return def
  const n = /^[+-]?\d+$/.test(raw.trim()) ? Number(raw) : NaN
  if (!Number.isSafeInteger(n) || n < min || n > max)
    throw new ConfigError(
      `--${name} must be a whole number from ${min} to ${max} (got ${JSON.stringify(raw)})`,
    )
  return n
}

// The collector's identifier rule (collector/protocol.ts, sdk/PROTOCOL.md "Identifiers").
const ID = /^[\x21-\x7e]{1,128}$/

/** `raw` when it is a valid identifier (1–128 printable ASCII, no spaces) or absent. Throws ConfigError. */
export function idFlag(name: string, raw: string | undefined): string | undefined {
  if (raw !== undefined && !ID.test(raw))
    throw new ConfigError(
      `--${name} must be 1-128 printable ASCII characters without spaces (got ${JSON.stringify(raw)})`,
    )
  return raw
}
