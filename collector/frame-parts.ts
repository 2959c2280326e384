// Joins the parts of a stats frame the SDK cut up (sdk/PROTOCOL.md "Parts"): a frame whose JSON would
// near the frame limit — a keyframe of a pc with a hundred remote streams, the priming keyframe of a
// resume — is sent as consecutive frames of one channel and seq, each holding some of its stats objects,
// all but the last marked `more: 1`. The last part's envelope (ts, key, rm, gap) with every part's `d` is
// the frame as it was before it was cut, so the seq checks, decoding, storage and acks after this never
// see a part. One joiner per connection (a stream, or one ingest request).
import type { ChannelFrame, StatsFrame, StatsPatch } from '../core/protocol.ts'
import type { ErrorCode } from '../core/protocol.ts'

/** A validated frame with its JSON text and the values validation left out (see parseClientFrame). */
export interface Received {
  frame: ChannelFrame
  text: string
  dropped?: string | undefined
}

interface Pending {
  seq: number
  d: Record<string, StatsPatch>
  bytes: number
  dropped?: string | undefined
}

/**
 * Creates the joiner of one connection; parts of one frame may hold `maxBytes` of JSON together.
 * `join(r)` returns `r` itself when it is no part (the common case, at the cost of a Map lookup), nothing
 * while the parts of a frame arrive, and the whole frame (its text serialised anew) at the last part.
 * Parts that cannot be joined are discarded and reported through `fail`: too large together
 * (`frame_too_large`), or cut short by another seq of their channel (`seq_gap`, the frame is incomplete);
 * the frame that cut them short is then handled as usual. Never throws.
 */
export function createFrameParts(
  maxBytes: number,
  fail: (code: ErrorCode, message: string, frame: { pc: string; seq: number }) => void,
): (r: Received) => Received | undefined {
  const pending = new Map<string, Pending>()
  return (r) => {
    const f = r.frame
    if (f.t !== 'stats') return r
    let p = pending.get(f.pc)
    if (!p && !f.more) return r
    if (p && p.seq !== f.seq) {
      pending.delete(f.pc)
      fail('seq_gap', `parts of seq ${p.seq} ended without their last part`, { pc: f.pc, seq: p.seq })
      p = undefined
      if (!f.more) return r
    }
    if (!p) pending.set(f.pc, (p = { seq: f.seq, d: {}, bytes: 0 }))
    if (!f.more) pending.delete(f.pc)
    // Over the bound, the frame is refused once and its remaining parts are swallowed.
    if (p.bytes > maxBytes) return undefined
    if ((p.bytes += r.text.length) > maxBytes) {
      p.d = {}
      fail('frame_too_large', `parts of seq ${f.seq} are over ${maxBytes} bytes together`, f)
      return undefined
    }
    Object.assign(p.d, f.d)
    p.dropped ??= r.dropped
    if (f.more) return undefined
    const frame: StatsFrame = { ...f, d: p.d }
    return { frame, text: JSON.stringify(frame), dropped: p.dropped }
  }
}
