// The two ways the analyzer runs: inside the collector (analyzerPlugin, on unless RTCPULSE_ANALYZER=false)
// and as its own process (analyzer/main.ts), and its configuration errors.
import { describe, expect, it } from 'vitest'
import { ConfigError } from '../../lib/env.ts'
import { loadAnalyzerConfig } from '../../analyzer/config.ts'
import { loadStandaloneConfig, startAnalyzer } from '../../analyzer/main.ts'
import { analyzerPlugin } from '../../analyzer/plugin.ts'
import { guid, startTestCollector, testDataDir } from '../helpers/collector.ts'

describe('analyzer process', () => {
  it('serves the API and metrics standalone', async () => {
    const running = await startAnalyzer({
      RTCPULSE_DATA_DIR: testDataDir(),
      CLICKHOUSE_DATABASE: guid('main'),
      RTCPULSE_ANALYZER_PORT: '0',
      RTCPULSE_API_KEYS: 'demo:demo-key-0123456789',
      LOG_LEVEL: 'silent',
    })
    try {
      expect((await fetch(`${running.url}/healthz`)).status).toBe(200)
      expect((await fetch(`${running.url}/api/v1/sessions?app=demo`)).status).toBe(401)
      const ok = await fetch(`${running.url}/api/v1/sessions?app=demo`, {
        headers: { authorization: 'Bearer demo-key-0123456789' },
      })
      expect(await ok.json()).toEqual({ app: 'demo', limit: 100, offset: 0, sessions: [] })
      expect(await (await fetch(`${running.url}/metrics/analyzer`)).text()).toContain(
        'rtcpulse_analyzer_sessions_scored_total',
      )
      const all = await (await fetch(`${running.url}/metrics`)).text()
      expect(all).toMatch(/^# TYPE rtcpulse_analyzer_sessions_scored_total counter$/m)
      expect(all).toMatch(/^nodejs_eventloop_lag_seconds \d/m)
    } finally {
      await running.stop()
    }
  })

  it('mounts on the collector unless RTCPULSE_ANALYZER=false', async () => {
    const on = await startTestCollector({}, [analyzerPlugin])
    const off = await startTestCollector({ RTCPULSE_ANALYZER: 'false' }, [analyzerPlugin])
    try {
      expect((await fetch(`${on.url}/api/v1/sessions?app=x`)).status).toBe(200)
      expect((await fetch(`${off.url}/api/v1/sessions?app=x`)).status).toBe(404)
      // One /metrics: the collector's, the analyzer's and the process's; /metrics/analyzer has the
      // analyzer's alone, for scrape jobs that select it (dashboards/prometheus/prometheus.yml).
      const all = await (await fetch(`${on.url}/metrics`)).text()
      for (const name of [
        'rtcpulse_frames_total',
        'rtcpulse_analyzer_sessions_scored_total',
        'process_open_fds',
      ])
        expect(all).toMatch(new RegExp(`^# TYPE ${name} `, 'm'))
      const analyzer = await (await fetch(`${on.url}/metrics/analyzer`)).text()
      expect(analyzer).toMatch(/^# TYPE rtcpulse_analyzer_sessions_scored_total counter$/m)
      expect(analyzer).not.toMatch(/^# TYPE (rtcpulse_frames_total|process_open_fds) /m)
      expect(await (await fetch(`${off.url}/metrics`)).text()).not.toContain('rtcpulse_analyzer_')
    } finally {
      await on.stop()
      await off.stop()
    }
  })

  it('names the variable that is wrong', () => {
    expect(() => loadAnalyzerConfig({ RTCPULSE_ANALYZER_WINDOW_S: '2' })).toThrow(
      /RTCPULSE_ANALYZER_WINDOW_S="2" is invalid/,
    )
    expect(() => loadAnalyzerConfig({ RTCPULSE_API_KEYS: 'demo:short' })).toThrow(ConfigError)
    expect(
      loadAnalyzerConfig({ RTCPULSE_API_KEYS: 'a:0123456789abcdef,*:fedcba9876543210' }).apiKeys,
    ).toEqual([
      { app: 'a', key: '0123456789abcdef' },
      { app: '*', key: 'fedcba9876543210' },
    ])
    expect(() => loadStandaloneConfig({ RTCPULSE_ANALYZER_PORT: 'http' })).toThrow(/RTCPULSE_ANALYZER_PORT/)
    expect(() => loadStandaloneConfig({ CLICKHOUSE_URL: 'ftp://x' })).toThrow(/CLICKHOUSE_URL/)
  })
})
