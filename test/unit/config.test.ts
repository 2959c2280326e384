import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../lib/env.ts'
import { loadConfig } from '../../collector/config.ts'

const dev = { RTCPULSE_DEV: '1' }

describe('loadConfig', () => {
  it('applies the documented defaults', () => {
    const c = loadConfig(dev)
    expect(c.port).toBe(8080)
    expect(c.host).toBe('127.0.0.1')
    expect(c.dataDir).toBe('./data')
    expect(c.database).toBe('rtcpulse')
    expect(c.clickhouse).toBeUndefined()
    expect(c.tls).toBeUndefined()
    expect(c.logLevel).toBe('info')
    expect(c.maxTokenTtlS).toBe(86_400)
    expect(c.maxHelloBytes).toBe(16_384)
    expect(c.maxIngestBytes).toBe(1_048_576)
  })

  it('switches to the ClickHouse server when CLICKHOUSE_URL is set', () => {
    const c = loadConfig({
      ...dev,
      CLICKHOUSE_URL: 'http://ch:8123',
      CLICKHOUSE_USER: 'u',
      CLICKHOUSE_PASSWORD: 'p',
    })
    expect(c.clickhouse).toEqual({ url: 'http://ch:8123', username: 'u', password: 'p' })
    expect(c.cluster).toBeUndefined()
    expect(
      loadConfig({ ...dev, CLICKHOUSE_URL: 'http://ch:8123', CLICKHOUSE_CLUSTER: 'rtcpulse' }).cluster,
    ).toBe('rtcpulse')
  })

  it.each([
    [{ PORT: '70000' }, /PORT="70000" is invalid: expected an integer from 0 to 65535/],
    [{ PORT: 'abc' }, /PORT/],
    [{ LOG_LEVEL: 'loud' }, /LOG_LEVEL="loud" is invalid: expected one of fatal, error/],
    [{ CLICKHOUSE_URL: 'ch:8123' }, /CLICKHOUSE_URL="ch:8123" is invalid/],
    [{ CLICKHOUSE_URL: 'not a url' }, /CLICKHOUSE_URL/],
    [{ CLICKHOUSE_DATABASE: 'a-b' }, /CLICKHOUSE_DATABASE/],
    // chDB is one process: a cluster without a server is refused, not ignored.
    [{ CLICKHOUSE_CLUSTER: 'rtcpulse' }, /CLICKHOUSE_CLUSTER is set but CLICKHOUSE_URL is not/],
    [{ CLICKHOUSE_URL: 'http://ch:8123', CLICKHOUSE_CLUSTER: 'a b' }, /CLICKHOUSE_CLUSTER="a b" is invalid/],
    [{ TLS_CERT: '/x.pem' }, /TLS_CERT and TLS_KEY must be given together/],
    [{ RTCPULSE_DEV: 'maybe' }, /RTCPULSE_DEV="maybe" is invalid: expected true or false/],
    [{ RTCPULSE_BATCH_ROWS: '0' }, /RTCPULSE_BATCH_ROWS/],
    [{ RTCPULSE_ALLOWED_ORIGINS: 'nonsense' }, /RTCPULSE_ALLOWED_ORIGINS/],
    [{ RTCPULSE_MAX_TOKEN_TTL_S: '1d' }, /RTCPULSE_MAX_TOKEN_TTL_S="1d" is invalid: expected an integer/],
    [{ RTCPULSE_MAX_TOKEN_TTL_S: '10' }, /RTCPULSE_MAX_TOKEN_TTL_S="10" is invalid: .* from 60 to 31536000/],
    [
      { RTCPULSE_MAX_HELLO_BYTES: '65536', RTCPULSE_MAX_FRAME_BYTES: '32768' },
      /RTCPULSE_MAX_HELLO_BYTES=65536 is invalid: it must be at most RTCPULSE_MAX_FRAME_BYTES/,
    ],
    [
      { RTCPULSE_MAX_INGEST_BYTES: '4096' },
      /RTCPULSE_MAX_INGEST_BYTES=4096 is invalid: it must hold a hello and a frame/,
    ],
  ])('names the bad variable in %j', (env, message) => {
    expect(() => loadConfig({ ...dev, ...env })).toThrow(ConfigError)
    expect(() => loadConfig({ ...dev, ...env })).toThrow(message)
  })

  it('refuses to start without keys unless dev mode is explicit', () => {
    expect(() => loadConfig({})).toThrow(/RTCPULSE_KEYS is not set.*--dev/)
    expect(() => loadConfig({ RTCPULSE_KEYS: 'k1:app:short' })).toThrow(/16\+ characters/)
    const c = loadConfig({ RTCPULSE_KEYS: 'k1:demo:0123456789abcdef,k2:demo:fedcba9876543210' })
    expect(c.dev).toBe(false)
    expect(c.keys.map((k) => k.kid)).toEqual(['k1', 'k2'])
  })

  it('parses origin allow-lists per app', () => {
    const c = loadConfig({ ...dev, RTCPULSE_ALLOWED_ORIGINS: 'a=https://x.test,https://y.test;b=*' })
    expect(c.allowedOrigins.get('a')).toEqual(['https://x.test', 'https://y.test'])
    expect(c.allowedOrigins.get('b')).toEqual(['*'])
  })
})
