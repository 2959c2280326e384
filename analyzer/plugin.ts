// The analyzer inside the collector process (`rtcpulse start`, on by default with RTCPULSE_ANALYZER):
// the live scoring loop plus the API on the collector's own port, its metrics in the collector's /metrics
// (and alone at /metrics/analyzer).
import type { PluginFactory } from '../lib/plugin.ts'
import type { Store } from '../store/index.ts'
import { mountAnalyzerApi } from './api.ts'
import { loadAnalyzerConfig } from './config.ts'
import { createAnalyzer } from './scheduler.ts'

/**
 * Collector plugin. Reads its settings from the collector's environment (analyzer/config.ts) and throws
 * ConfigError on a bad one. With RTCPULSE_ANALYZER=false it does nothing (run analyzer/main.ts instead).
 */
export const analyzerPlugin: PluginFactory<Store> = ({ store, log, env, dev, analyzer: enabled }) => {
  if (!enabled) return {}
  const ac = { ...loadAnalyzerConfig(env), dev }
  const analyzer = createAnalyzer({ store, log: log.child({ component: 'analyzer' }), config: ac })
  if (!ac.dev && ac.apiKeys.length === 0) {
    log.warn('RTCPULSE_API_KEYS is not set: the analyzer API will refuse every request')
  }
  return {
    mount: (app) => mountAnalyzerApi(app, { store, config: ac, registry: analyzer.metrics.registry }),
    metrics: analyzer.metrics.registry,
    start: () => analyzer.start(),
    stop: () => analyzer.stop(),
  }
}
