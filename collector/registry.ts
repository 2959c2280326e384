// What the collector knows about the peers it is serving, across connections: the one live stream of
// each (app, session, peer), and the writes still in flight for it. Invariant 1 (DESIGN.md) needs both:
// a reconnecting SDK must be told a resume point that counts every frame its previous connection got
// in, so `welcome` waits for those writes, and the old connection (half-open, or the same peer opened
// twice) is closed first so that it cannot add frames behind the new one's back.

export interface Identity {
  app: string
  session: string
  peer: string
}

/** A live stream as the registry sees it. */
export interface Attached {
  readonly identity: Identity
  readonly user: string | undefined
  /** The monitor instance's random id from its hello (undefined for SDKs that send none). */
  readonly instance: string | undefined
  /** Resolves true if the client proves it is alive (a pong or a frame) within `timeoutMs`. */
  probe(timeoutMs: number): Promise<boolean>
  /** Closes the stream with `code` (the session stops acking and takes no more frames). */
  evict(code: number, reason: string): void
}

export const identityKey = (id: Identity): string => `${id.app}\u0000${id.session}\u0000${id.peer}`

export class SessionRegistry {
  private readonly live = new Map<string, Attached>()
  private readonly inflight = new Map<string, Promise<void>>()

  /** Makes `conn` the live stream of its identity; an older one is closed with 1008 (superseded). */
  attach(conn: Attached): void {
    const key = identityKey(conn.identity)
    const old = this.live.get(key)
    this.live.set(key, conn)
    if (old && old !== conn) old.evict(1008, 'superseded by a newer connection of the same peer')
  }

  /**
   * Who may hold `conn`'s identity (sdk/PROTOCOL.md "Peer identity"). The same monitor instance
   * reconnecting takes over its stale stream; another instance (or an SDK that sends no instance id)
   * gets it only if the live stream fails a liveness probe of `probeMs`, which is then closed (1001).
   * Resolves 'in_use' when refused; with `attach` false (HTTP batches) it only checks.
   */
  async claim(conn: Attached, probeMs: number, attach = true): Promise<'ok' | 'in_use'> {
    const key = identityKey(conn.identity)
    for (;;) {
      const old = this.live.get(key)
      if (!old || old === conn || (old.instance !== undefined && old.instance === conn.instance)) break
      if (await old.probe(probeMs)) {
        // Still the live one after the probe: the newcomer is another tab, or someone else.
        if (this.live.get(key) === old) return 'in_use'
        continue
      }
      if (this.live.get(key) === old) {
        old.evict(1001, 'no answer to a liveness probe; replaced by another instance')
        this.live.delete(key)
      }
    }
    if (attach) this.attach(conn)
    return 'ok'
  }

  /** Forgets `conn` if it is still the live stream of its identity. */
  detach(conn: Attached): void {
    const key = identityKey(conn.identity)
    if (this.live.get(key) === conn) this.live.delete(key)
  }

  /** Records a write for `id`. Batches are written in order, so the latest write covers the earlier ones. */
  track(id: Identity, write: Promise<void>, key = identityKey(id)): void {
    // Frames of one batch share its promise: register once per batch and identity, not per frame.
    if (this.inflight.get(key) === write) return
    this.inflight.set(key, write)
    const done = (): void => {
      if (this.inflight.get(key) === write) this.inflight.delete(key)
    }
    write.then(done, done)
  }

  /** Resolves true once every write recorded for `id` so far has settled, false after `timeoutMs`. */
  async settled(id: Identity, timeoutMs: number): Promise<boolean> {
    const write = this.inflight.get(identityKey(id))
    if (!write) return true
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), timeoutMs)))
    const done = write.then(
      () => true,
      () => true,
    )
    try {
      return await Promise.race([done, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  /** Closes every live stream matching `pred` with `code`; returns how many. */
  evictWhere(pred: (conn: Attached) => boolean, code: number, reason: string): number {
    let n = 0
    for (const conn of [...this.live.values()]) {
      if (!pred(conn)) continue
      conn.evict(code, reason)
      this.detach(conn)
      n++
    }
    return n
  }

  /** Live streams (one per identity). */
  get size(): number {
    return this.live.size
  }
}
