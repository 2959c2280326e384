// createMonitor refuses options the collector would refuse, naming the option and its rule, before it
// does anything (DESIGN.md invariant 3: it never throws after that). Identifiers are 1–128 printable
// ASCII characters without spaces (sdk/PROTOCOL.md "Identifiers", collector/protocol.ts).
import { describe, expect, it } from 'vitest'
import { createMonitor } from '../../sdk/src/index.ts'
import type { MonitorOptions } from '../../sdk/src/index.ts'

// enabled: false, so a valid monitor opens no socket: validation runs before the kill switch.
const base: MonitorOptions = {
  url: 'https://collector.example.com',
  app: 'myapp',
  session: 'call-42',
  peer: 'p1',
  enabled: false,
}
const make = (extra: Record<string, unknown>) => () => createMonitor({ ...base, ...extra })

const ID_RULE = 'must match /^[!-~]{1,128}$/'

describe('createMonitor options', () => {
  it('names the identifier that breaks the rule, and the rule', () => {
    const bad: [string, unknown][] = [
      ['session', 'a b'],
      ['session', ''],
      ['session', 'x'.repeat(129)],
      ['session', 'café'],
      ['session', 'tab\there'],
      ['session', 42],
      ['session', undefined],
      ['app', 'my app'],
      ['app', undefined],
      ['peer', ''],
      ['peer', null],
      ['user', ''],
      ['user', 'Zoë'],
    ]
    for (const [name, value] of bad) {
      const attempt = make({ [name]: value })
      expect(attempt, `${name}=${JSON.stringify(value)}`).toThrow(TypeError)
      expect(attempt).toThrow(`rtcpulse: option ${name} ${ID_RULE}`)
    }
  })

  it('names url and intervalMs with their rules', () => {
    expect(make({ url: 'collector.example.com' })).toThrow(
      'rtcpulse: option url must match /^(http|ws)s?:\\/\\/./',
    )
    expect(make({ url: undefined })).toThrow('option url')
    for (const intervalMs of [99, 0, -1000, Number.NaN, 'soon'])
      expect(make({ intervalMs }), String(intervalMs)).toThrow(
        'rtcpulse: option intervalMs must match >= 100',
      )
  })

  it('accepts the edges of the rules', () => {
    const good: Record<string, unknown>[] = [
      { session: 'x'.repeat(128) },
      { session: '!~' },
      { app: 'a', peer: 'b', user: 'u@example.com' },
      { user: undefined },
      { url: 'ws://127.0.0.1:8080' },
      { url: 'wss://c.example' },
      { url: 'http://c.example/' },
      { intervalMs: 100 },
      { intervalMs: undefined },
    ]
    for (const extra of good) expect(make(extra), JSON.stringify(extra)).not.toThrow()
  })
})
