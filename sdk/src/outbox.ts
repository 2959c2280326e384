// The SDK's memory of what it has produced and the server has not yet stored: per-channel sequence
// numbers, the delta encoder's previous state, and a byte-bounded queue of unacknowledged frames.
// Pure bookkeeping — no timers, no sockets — so every rule below is unit-tested directly.
//
// Per channel (a peer connection, or MONITOR_CHANNEL) it keeps a "base": the decoded stats state as of
// `done`, the highest seq that is acknowledged or was dropped. Every frame <= done is accounted for, every
// frame > done is still queued. After a reconnect, a keyframe of the base at seq `done` primes the
// collector's decoder (seq <= stored: decode only) or, when frames were dropped after the last stored one,
// is stored itself with `gap` covering the dropped run — so the frames that follow decode and never jump.
import { applyDelta, encodeDelta } from '../../core/delta.ts'
import type { StatsObject, StatsState } from '../../core/delta.ts'
import type { ChannelFrame, StatsFrame } from '../../core/protocol.ts'

interface Queued {
  pc: string
  seq: number
  /** Length of the frame's JSON text as first sent: what the byte bound counts. */
  n: number
  /**
   * The frame itself: folded into the base when it leaves the queue (no re-parse on every ack), and
   * serialised again only for a resend. Held instead of its text, so the queue costs memory once.
   */
  f: ChannelFrame
}

interface Channel {
  /** Last seq assigned. */
  seq: number
  /** State the last stats frame was encoded from (the next delta is against it). */
  prev?: StatsState
  /** Report ts of the last keyframe, for periodic keyframes. */
  keyTs: number
  /** Decoded state after every stats frame <= done. */
  base?: StatsState
  /** ts of the base (of the last accounted stats frame, else of the last accounted frame). */
  baseTs: number
  /** Highest seq acknowledged or dropped. */
  done: number
  /** Highest seq the server is known to have stored (welcome, ack, ingest response). */
  stored: number
  /** Highest seq handed to a transport. */
  sent: number
  /** The source is gone (pc removed or closed): no priming keyframe once nothing is queued. */
  ended?: boolean
}

export interface Outbox {
  /** Encodes `state` (normalizeReport of one report at `ts`) as the next stats frame of `pc` and queues it. */
  stats(pc: string, state: StatsState, ts: number): void
  /** Queues an event frame of channel `pc`. Throws if `data` cannot be serialised (no seq is used up). */
  event(pc: string, name: string, data: Record<string, unknown> | undefined, ts: number): void
  /** Marks channel `pc` finished: once its frames are stored it is no longer primed on reconnect. */
  end(pc: string): void
  /** Applies a cumulative acknowledgement (`{pc: seq}`): retires queued frames up to it. */
  ack(seqs: Record<string, number>): void
  /**
   * Starts a connection from the server's resume points (`welcome.resume`; `{}` when unknown, as over
   * HTTP): retires what is stored, then returns the frames to send in order — one priming keyframe per
   * channel that needs one, then queued frames, stopping before `maxBytes` (all when omitted).
   */
  resume(stored: Record<string, number>, maxBytes?: number): string[]
  /** Queued (unacknowledged) frames. */
  readonly size: number
  /** Set by the transport while a connection takes frames: new frames go straight to it. */
  sink?: ((text: string) => void) | undefined
  skip?: RegExp
}

/**
 * Creates an empty outbox holding at most `maxBytes` of frame JSON (the newest frame is always kept),
 * with a keyframe every `keyframeMs` of report time. `onDrop(n)` reports frames dropped to stay bounded.
 */
export function createOutbox(maxBytes: number, keyframeMs: number, onDrop: (count: number) => void): Outbox {
  const channels = new Map<string, Channel>()
  let queue: Queued[] = []
  let bytes = 0

  const channel = (pc: string): Channel => {
    let c = channels.get(pc)
    if (!c) {
      c = { seq: 0, keyTs: 0, baseTs: 0, done: 0, stored: 0, sent: 0 }
      channels.set(pc, c)
    }
    return c
  }

  // The seq is committed only once the frame serialised: app data that JSON.stringify rejects (cycles,
  // BigInt) throws here and must not leave a hole the collector would refuse as a gap.
  const push = (f: ChannelFrame, c: Channel): void => {
    const text = JSON.stringify(f)
    c.seq = f.seq
    // An event's data belongs to the app, which may change it later: keep the copy that was sent.
    queue.push({
      pc: f.pc,
      seq: f.seq,
      n: text.length,
      f: f.t == 'stats' ? f : (JSON.parse(text) as ChannelFrame),
    })
    bytes += text.length
    if (box.sink) {
      c.sent = f.seq
      box.sink(text)
    }
    let n = 0
    for (; bytes > maxBytes && queue.length > 1; n++) retire(queue.shift() as Queued)
    if (n) onDrop(n)
  }

  // A frame leaves the queue (acked or dropped): stats fold into the base.
  const retire = (q: Queued): void => {
    const c = channel(q.pc)
    bytes -= q.n
    c.done = q.seq
    const f = q.f
    if (f.t === 'stats') {
      c.base = applyDelta(c.base ?? new Map<string, StatsObject>(), f)
      c.baseTs = f.ts
    } else if (!c.base) c.baseTs = f.ts
  }

  const box: Outbox = {
    get size() {
      return queue.length
    },

    stats(pc, state, ts) {
      const c = channel(pc)
      const key = !c.prev || ts - c.keyTs >= keyframeMs
      const e = encodeDelta(key ? undefined : c.prev, state)
      if (key) c.keyTs = ts
      c.prev = state
      // Absent optional fields are left undefined: JSON.stringify omits them.
      push(
        { t: 'stats', pc, seq: c.seq + 1, ts, key: key || undefined, d: e.d, rm: e.rm[0] ? e.rm : undefined },
        c,
      )
    },

    event(pc, name, data, ts) {
      const c = channel(pc)
      push({ t: 'event', pc, seq: c.seq + 1, ts, name, data }, c)
    },

    end(pc) {
      channel(pc).ended = true
    },

    ack(seqs) {
      for (const [pc, c] of channels) c.stored = Math.max(c.stored, seqs[pc] ?? 0)
      queue = queue.filter((q) => {
        if (q.seq > channel(q.pc).stored) return true
        retire(q)
        return false
      })
    },

    resume(stored, max = Infinity) {
      for (const [pc, c] of channels) {
        const s = stored[pc] ?? 0
        // The server holds seqs of this channel that we never sent: another monitor used the same
        // (app, session, peer, pc) before (a page reload). Continue after its frames instead of having
        // ours discarded as duplicates.
        if (s > c.done && s > c.sent) {
          const shift = s - c.done
          c.seq += shift
          c.done = c.stored = c.sent = s
          for (const q of queue) if (q.pc === pc) q.f.seq = q.seq += shift
        }
      }
      box.ack(stored)
      const out: string[] = []
      let n = 0
      for (const [pc, c] of channels) {
        const s = c.stored
        // Nothing to prime: no stats yet and no gap, or a finished channel with every frame accounted for.
        if ((!c.base && c.done <= s) || (c.ended && c.done >= c.seq)) continue
        const f: StatsFrame = {
          t: 'stats',
          pc,
          seq: c.done,
          ts: c.baseTs,
          key: true,
          d: Object.fromEntries(c.base ?? []),
          gap: c.done > s + 1 ? c.done - s - 1 : undefined,
        }
        const text = JSON.stringify(f)
        out.push(text)
        n += text.length
      }
      for (const q of queue) {
        if ((n += q.n) > max && out.length) break
        out.push(JSON.stringify(q.f))
        const c = channel(q.pc)
        if (q.seq > c.sent) c.sent = q.seq
      }
      return out
    },
  }
  return box
}
