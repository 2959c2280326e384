// Simulcast: one outbound video source (one `mid`) sends up to three encodings, each its own
// outbound-rtp object with its own SSRC and `rid` (webrtc-stats §7.9; RFC 8853). Behind an SFU each
// receiver gets one of them; the best-served receivers get the highest layer the sender keeps active.
// So the source's row each second is that layer's row: its SSRC (a loopback or P2P receiver of that layer
// pairs with it), size, rate, frame rate, QP, loss and key frames, keyed by the source's first layer's
// stats id so the source stays one stream across layer switches. Summing the layers (score_version < 5)
// judged three encodings' bits against one frame size and turned a layer switched on or off into a step
// in the bitrate; the source's total send rate stays in transport_seconds.send_bps. Pure.
import type { StreamMetrics } from './derive.ts'

// stream_seconds.layers is a UInt8 (store/migrations/013_simulcast_layers.sql).
const MAX_LAYERS = 0xff

const pixels = (s: StreamMetrics): number => s.width * s.height

/** Whether layer `a` beats layer `b` as the source's top layer: active first, then larger, then faster. */
function above(a: StreamMetrics, b: StreamMetrics): boolean {
  if (a.active !== b.active) return a.active > b.active
  if (pixels(a) !== pixels(b)) return pixels(a) > pixels(b)
  return (a.bitrate_bps ?? 0) > (b.bitrate_bps ?? 0)
}

/**
 * Replaces the layers of each outbound video source (rows with the same non-empty `mid`) by one row: the
 * top active layer's (else the largest layer's), with the first layer's `stream_id` and `layers` = the
 * number of layers that sent this second. Other rows pass through in place. Never throws.
 */
export function mergeSimulcast(streams: StreamMetrics[]): StreamMetrics[] {
  const groups = new Map<string, StreamMetrics[]>()
  for (const s of streams) {
    if (s.direction !== 'outbound' || s.kind !== 'video' || !s.mid) continue
    const g = groups.get(s.mid)
    if (g) g.push(s)
    else groups.set(s.mid, [s])
  }
  if (![...groups.values()].some((g) => g.length > 1)) return streams
  const out: StreamMetrics[] = []
  for (const s of streams) {
    const g = s.direction === 'outbound' && s.kind === 'video' && s.mid ? groups.get(s.mid) : undefined
    if (!g || g.length === 1) {
      out.push(s)
      continue
    }
    if (g[0] !== s) continue
    let top = s
    for (const l of g) if (above(l, top)) top = l
    const layers = Math.min(
      MAX_LAYERS,
      g.reduce((n, l) => n + l.active, 0),
    )
    out.push({ ...top, stream_id: s.stream_id, layers })
  }
  return out
}
