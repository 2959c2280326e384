// Reading settings from the environment: the parsers every process entry shares (collector, analyzer,
// CLI), so a variable is validated the same way wherever it is read and errors name it alike.

export type Env = Record<string, string | undefined>

/** Thrown for a bad setting; the message names the variable and what it accepts. */
export class ConfigError extends Error {
  override readonly name = 'ConfigError'
}

/** Parses an integer variable within [min, max]; `def` when unset; throws ConfigError naming it. */
export function int(env: Env, name: string, def: number, min: number, max: number): number {
  const raw = env[name]
  if (raw === undefined || raw === '') return def
  const v = Number(raw)
  if (!Number.isInteger(v) || v < min || v > max) {
    throw new ConfigError(
      `${name}=${JSON.stringify(raw)} is invalid: expected an integer from ${min} to ${max}`,
    )
  }
  return v
}

/** Parses `true/false/1/0/yes/no/on/off`; `def` when unset; throws ConfigError otherwise. */
export function bool(env: Env, name: string, def: boolean): boolean {
  const raw = env[name]
  if (raw === undefined || raw === '') return def
  if (['1', 'true', 'yes', 'on'].includes(raw.toLowerCase())) return true
  if (['0', 'false', 'no', 'off'].includes(raw.toLowerCase())) return false
  throw new ConfigError(`${name}=${JSON.stringify(raw)} is invalid: expected true or false`)
}

export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent'
const LOG_LEVELS: readonly string[] = ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']

/** LOG_LEVEL, `info` when unset; throws ConfigError for anything pino does not know. */
export function logLevel(env: Env): LogLevel {
  const level = env.LOG_LEVEL || 'info'
  if (!LOG_LEVELS.includes(level)) {
    throw new ConfigError(
      `LOG_LEVEL=${JSON.stringify(env.LOG_LEVEL)} is invalid: expected one of ${LOG_LEVELS.join(', ')}`,
    )
  }
  return level as LogLevel
}
