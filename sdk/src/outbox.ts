// The SDK's memory of what it has produced and the server has not yet stored: per-channel sequence
// numbers, the delta encoder's previous state, and a byte-bounded queue of unacknowledged frames.
// Pure bookkeeping — no timers, no sockets — so every rule below is unit-tested directly.
//
// Per channel (a peer connection, or MONITOR_CHANNEL) it keeps a "base": the decoded stats state as of
// `done`, the highest seq that is acknowledged or was dropped. Every frame <= done is accounted for, every
// frame > done is still queued. After a reconnect, a keyframe of the base at seq `done` primes the
// collector's decoder (seq <= stored: decode only) or, when frames were dropped after the last stored one,
// is stored itself with `gap` covering the dropped run — so the frames that follow decode and never jump.
import { applyDelta, encodeReport } from '../../core/delta.ts'
import type { KeyedReport, StatsObject, StatsState } from '../../core/delta.ts'
import type { ChannelFrame, StatsFrame, StatsPatch } from '../../core/protocol.ts'

interface Queued {
  /** Length of the frame's JSON text as first sent: what the byte bound counts. */
  n: number
  /**
   * The frame itself (its `pc` and `seq` are the queue's keys): folded into the base when it leaves the
   * queue (no re-parse on every ack), and serialised again only for a resend. Held instead of its text,
   * so the queue costs memory once.
   */
  f: ChannelFrame
}

interface Channel {
  /** Last seq assigned. */
  last: number
  /** State the last stats frame was encoded from (the next delta is against it). */
  prev?: StatsState
  /** The field filter `prev` was read with. */
  skip?: RegExp | undefined
  /** Report ts of the last keyframe, for periodic keyframes. */
  keyTs?: number
  /** Decoded state after every stats frame <= done. */
  base?: StatsState
  /** ts of the base (of the last accounted stats frame, else of the last accounted frame). */
  baseTs?: number
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
  /**
   * Reads `report` (a getStats() result, or a StatsState) at `ts` (default: its first object's timestamp),
   * encodes it as the next stats frame of `pc` and queues it.
   */
  stats(pc: string, report: KeyedReport, ts?: number): void
  /**
   * Queues an event frame of channel `pc` at `ts` (default now). Throws if `data` cannot be serialised (no
   * seq is used up). A function property: callers may hold it unbound.
   */
  event: (pc: string, name: string, data?: Record<string, unknown>, ts?: number) => void
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
  /** Set by the transport while a connection takes frames: new frames go straight to it, in parts. */
  sink?: ((texts: string[]) => void) | undefined
  skip?: RegExp
}

/**
 * The JSON texts that carry frame `f`: itself, or, for a stats frame longer than `cut` characters, its
 * stats objects dealt round-robin into parts of about `cut` each, every part but the last marked `more`
 * (sdk/PROTOCOL.md "Parts"). Throws if `f` cannot be serialised.
 */
export function frameTexts(f: ChannelFrame, cut = 1 << 16): string[] {
  const all = JSON.stringify(f)
  const k = Math.ceil(all.length / cut)
  const parts: StatsFrame['d'][] = []
  if (k > 1 && f.t == 'stats')
    Object.keys(f.d).map((id, i) => ((parts[i % k] ??= {})[id] = f.d[id] as StatsPatch))
  return parts[1] ? parts.map((d, i) => JSON.stringify({ ...f, d, more: parts[i + 1] && 1 })) : [all]
}

/**
 * Creates an empty outbox holding the last 2 minutes of frames, or more while they fit in 1 MiB of frame
 * JSON, and never more than `maxBytes` (the newest frame is always kept), with a keyframe every
 * `keyframeMs` of report time. `onDrop(n)` reports frames dropped to stay bounded.
 */
export function createOutbox(maxBytes: number, keyframeMs: number, onDrop: (count: number) => void): Outbox {
  const channels = new Map<string, Channel>()
  let queue: Queued[] = []
  let bytes = 0

  const channel = (pc: string): Channel =>
    channels.get(pc) ?? (channels.set(pc, { last: 0, done: 0, stored: 0, sent: 0 }).get(pc) as Channel)

  // The seq is committed only once the frame serialised: app data that JSON.stringify rejects (cycles,
  // BigInt) throws here and must not leave a hole the collector would refuse as a gap.
  // `f.seq` is a placeholder: the channel's next seq is set here.
  const push = (f: ChannelFrame): void => {
    const c = channel(f.pc)
    f.seq = c.last + 1
    const texts = frameTexts(f)
    let n = texts.join().length
    c.last++
    // An event's data belongs to the app, which may change it later: keep the copy that was sent.
    queue.push({ n, f: f.t == 'stats' ? f : (JSON.parse(texts[0] as string) as ChannelFrame) })
    bytes += n
    if (box.sink) {
      c.sent = f.seq
      box.sink(texts)
    }
    // Sized in time within a byte ceiling: once the queue holds 1 MiB, frames over 2 minutes older than
    // this one go; at `maxBytes`, any oldest frame (sdk/PROTOCOL.md "Acknowledgement and resume").
    n = 0
    for (; queue[1] && (bytes > maxBytes || (bytes > 1 << 20 && queue[0]!.f.ts < f.ts - 12e4)); n++)
      retire(queue.shift() as Queued)
    if (n) onDrop(n)
  }

  // A frame leaves the queue (acked or dropped): stats fold into the base.
  const retire = (q: Queued): void => {
    const f = q.f
    const c = channel(f.pc)
    bytes -= q.n
    c.done = f.seq
    if (f.t == 'stats') {
      c.base = applyDelta(c.base ?? new Map<string, StatsObject>(), f)
      c.baseTs = f.ts
    } else if (!c.base) c.baseTs = f.ts
  }

  const box: Outbox = {
    get size() {
      return queue.length
    },

    stats(pc, report, at) {
      const c = channel(pc)
      // A new filter (a welcome's omit) may drop fields that did not change: every field is looked at again.
      const [d, rm, state, ts] = encodeReport(report, c.prev, box.skip, at, c.skip != (c.skip = box.skip))
      const key = !c.prev || ts - c.keyTs! >= keyframeMs
      c.prev = state
      if (key) c.keyTs = ts
      // Absent optional fields are left undefined: JSON.stringify omits them. A keyframe reads the report
      // again, from nothing: its objects are its own, not the encoder's (which it goes on changing).
      push({
        t: 'stats',
        pc,
        seq: 0,
        ts,
        key: key || undefined,
        d: key ? encodeReport(report, undefined, c.skip, ts)[0] : d,
        rm: !key && rm[0] ? rm : undefined,
      })
    },

    event: (pc, name, data, ts = Date.now()) => push({ t: 'event', pc, seq: 0, ts, name, data }),

    end(pc) {
      channel(pc).ended = true
    },

    ack(seqs) {
      for (const [pc, c] of channels) c.stored = Math.max(c.stored, seqs[pc] ?? 0)
      queue = queue.filter((q) => {
        if (q.f.seq > channel(q.f.pc).stored) return true
        retire(q)
        return false
      })
    },

    resume(stored, max) {
      for (const [pc, c] of channels) {
        const s = stored[pc] ?? 0
        // The server holds seqs of this channel that we never sent: another monitor used the same
        // (app, session, peer, pc) before (a page reload). Continue after its frames instead of having
        // ours discarded as duplicates.
        if (s > c.done && s > c.sent) {
          const shift = s - c.done
          c.last += shift
          c.done = c.stored = c.sent = s
          for (const q of queue) if (q.f.pc == pc) q.f.seq += shift
        }
      }
      box.ack(stored)
      const out: string[] = []
      let n = 0
      for (const [pc, c] of channels) {
        const s = c.stored
        // Nothing to prime: no stats yet and no gap, or a finished channel with every frame accounted for.
        if ((!c.base && c.done <= s) || (c.ended && c.done >= c.last)) continue
        const f: StatsFrame = {
          t: 'stats',
          pc,
          seq: c.done,
          ts: c.baseTs!,
          key: true,
          d: Object.fromEntries(c.base ?? []),
          gap: c.done > s + 1 ? c.done - s - 1 : undefined,
        }
        const texts = frameTexts(f)
        out.push(...texts)
        n += texts.join().length
      }
      for (const { n: m, f } of queue) {
        // Without `max`, the comparison with undefined is false: no bound.
        if ((n += m) > max! && out.length) break
        out.push(...frameTexts(f))
        const c = channel(f.pc)
        if (f.seq > c.sent) c.sent = f.seq
      }
      return out
    },
  }
  return box
}
