// The collector's own Prometheus metrics (served at /metrics).
import { Registry } from '../lib/metrics.ts'
import type { Counter, Gauge } from '../lib/metrics.ts'

export interface CollectorMetrics {
  registry: Registry
  connections: Gauge
  connectionsTotal: Counter
  frames: Counter
  bytes: Counter
  rejected: Counter
  duplicates: Counter
  closes: Counter
  implausible: Counter
}

/** Creates the registry; `pending` reports frames accepted but not yet stored (acks pending). */
export function createCollectorMetrics(registry = new Registry()): CollectorMetrics {
  return {
    registry,
    connections: registry.gauge('rtcpulse_connections', 'Open stream connections'),
    connectionsTotal: registry.counter('rtcpulse_connections_total', 'Stream connections accepted'),
    frames: registry.counter('rtcpulse_frames_total', 'Frames accepted for storage, by type', ['type']),
    bytes: registry.counter('rtcpulse_received_bytes_total', 'Bytes of frames received'),
    rejected: registry.counter('rtcpulse_rejected_frames_total', 'Frames or connections refused, by reason', [
      'reason',
    ]),
    duplicates: registry.counter('rtcpulse_duplicate_frames_total', 'Resent frames that were already stored'),
    closes: registry.counter('rtcpulse_closes_total', 'Connections closed by the collector, by code', [
      'code',
    ]),
    implausible: registry.counter(
      'rtcpulse_implausible_values_total',
      'Derived values beyond physical bounds, stored as null, by metric (core/plausible.ts)',
      ['metric'],
    ),
  }
}
