// The per-socket message limit, changed while a connection lives: small until the hello is accepted,
// `maxFrameBytes` after. ws takes one `maxPayload` per server; it reads the limit from two fields on every
// frame and every inflated chunk (lib/receiver.js for a frame's length and a message's total,
// lib/permessage-deflate.js `inflateOnData` for inflated bytes), so setting both fields applies the new
// limit from the next message on, to the one-trip inflate (collector/inflate.ts) and to ws's own alike.
import type { WebSocket } from 'ws'

interface WsInternals {
  _receiver?: { _maxPayload?: unknown } | null
  _extensions?: Record<string, { _maxPayload?: unknown } | undefined>
}

/**
 * Sets the largest message (bytes, after inflation) `ws` accepts from its next message on; larger closes
 * with 1009. Returns false, changing nothing, when ws's internals are not the ones this was written for.
 */
export function setMessageLimit(ws: WebSocket, bytes: number): boolean {
  const w = ws as unknown as WsInternals
  const receiver = w._receiver
  const deflate = w._extensions?.['permessage-deflate']
  if (!receiver || typeof receiver._maxPayload !== 'number') return false
  if (deflate && typeof deflate._maxPayload !== 'number') return false
  receiver._maxPayload = bytes
  if (deflate) deflate._maxPayload = bytes
  return true
}
