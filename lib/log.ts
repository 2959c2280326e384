// The one logger shape of every process: pino, JSON lines on stdout, the service named in each line.
import pino from 'pino'
import type { Logger } from 'pino'
import type { LogLevel } from './env.ts'

/** A root logger for a process entry (`service` is `rtcpulse` or `rtcpulse-analyzer`). */
export function createLogger(level: LogLevel, service: string): Logger {
  return pino({ level, base: { service } })
}
