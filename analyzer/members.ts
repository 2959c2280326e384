// Who scores which session when several analyzers run (inside collectors or standalone) on one store.
// Membership lives in ClickHouse itself (`analyzer_members`, store/migrations/011_analyzer_sharing.sql):
// each instance writes a heartbeat every pass; an instance whose heartbeat is older than `ttlMs` is gone.
// A session's bucket belongs to the member with the highest hash of (member, bucket) — rendezvous hashing
// (Thaler & Ravishankar, 1998) — so when a member joins or leaves only the sessions it gains or held
// move, and every member computes the same owner without talking to the others.
import { createHash } from 'node:crypto'
import type { Store } from '../store/index.ts'

/**
 * Sessions are owned by bucket, not one by one: a session's bucket is fixed at write time (the first 8
 * bytes of MD5("app\nsession") as a little-endian UInt64, modulo BUCKETS), and the members share the
 * buckets by rendezvous hashing computed here. Each analyzer then reads only its buckets, by primary key
 * (session_activity is ordered by bucket), instead of every analyzer hashing every active session
 * against every member.
 */
export const BUCKETS = 1024

/** A session's bucket in SQL, over rows with `app_id` and `session_id` (the same as bucketOf; a test holds them together). */
export const BUCKET_SQL = `reinterpretAsUInt64(MD5(concat(app_id, '\\n', session_id))) % ${BUCKETS}`

const md5u64 = (s: string): bigint => createHash('md5').update(s).digest().readBigUInt64LE(0)

/** A session's bucket, 0 to BUCKETS - 1. */
export const bucketOf = (app: string, session: string): number =>
  Number(md5u64(`${app}\n${session}`) % BigInt(BUCKETS))

/** The member owning a bucket: the highest weight MD5("member\nbucket"), or undefined without members. */
export function ownerOfBucket(members: readonly string[], bucket: number): string | undefined {
  let best: string | undefined
  let bestWeight = -1n
  for (const m of members) {
    const w = md5u64(`${m}\n${bucket}`)
    if (w > bestWeight) [best, bestWeight] = [m, w]
  }
  return best
}

/** The member owning a session, or undefined when there is no member. */
export const ownerOf = (members: readonly string[], app: string, session: string): string | undefined =>
  ownerOfBucket(members, bucketOf(app, session))

interface MemberRow {
  instance: string
  started: number
  hb: number
  leaving: number
}

const MEMBERS_SQL = `SELECT instance, toUnixTimestamp64Milli(started_at) AS started,
    toUnixTimestamp64Milli(heartbeat) AS hb, leaving
  FROM analyzer_members FINAL WHERE heartbeat >= fromUnixTimestamp64Milli({since:Int64})`

export interface MembershipOptions {
  store: Store
  /** This instance's name, unique among the analyzers on the store. */
  instance: string
  /** A member whose last heartbeat is older than this is gone, ms. */
  ttlMs: number
  /** Clock, epoch ms (every instance compares heartbeats with its own). */
  now: () => number
}

/**
 * This instance's view of the analyzers on the store. A member counts once its first heartbeat is
 * `ttlMs` old (so instances already running see a newcomer at about the moment it sees itself), except
 * when no member is that old (a cold start: every fresh one counts at once).
 */
export class Membership {
  readonly instance: string
  /** Members as of the last heartbeat(), sorted; the first one is the leader. */
  members: readonly string[] = []
  /** The buckets this instance owns as of the last heartbeat(). */
  buckets: readonly number[] = []
  private startedAt: number | undefined
  private beatAt = -Infinity

  constructor(private readonly opts: MembershipOptions) {
    this.instance = opts.instance
  }

  /** Writes this instance's heartbeat and reads the members. Returns whether they changed. Rejects with StoreError. */
  async heartbeat(): Promise<boolean> {
    const t = Math.floor(this.opts.now())
    this.startedAt ??= t
    await this.opts.store.insert('analyzer_members', [
      { instance: this.instance, started_at: this.startedAt, heartbeat: t, leaving: 0 },
    ])
    this.beatAt = t
    const rows = await this.opts.store.query<MemberRow>(MEMBERS_SQL, {
      since: Math.floor(t - this.opts.ttlMs),
    })
    const fresh = rows.filter((r) => r.leaving === 0 || r.instance === this.instance)
    const settled = fresh.filter((r) => r.started <= t - this.opts.ttlMs)
    const next = (settled.length ? settled : fresh).map((r) => r.instance).sort()
    const changed = next.join('\n') !== this.members.join('\n')
    if (changed) {
      this.members = next
      this.buckets = Array.from({ length: BUCKETS }, (_, b) => b).filter(
        (b) => ownerOfBucket(next, b) === this.instance,
      )
    }
    return changed
  }

  /** Whether this instance owns the session in the current view. */
  owns(app: string, session: string): boolean {
    return ownerOf(this.members, app, session) === this.instance
  }

  /** The leader (first member by name) reports what is the same for every instance. */
  get leader(): boolean {
    return this.members[0] === this.instance
  }

  /**
   * Whether the last heartbeat is recent enough that the others still count this instance: a pass that
   * stalled past it must not write finals, another member may own its sessions by now.
   */
  current(): boolean {
    return this.opts.now() - this.beatAt < this.opts.ttlMs
  }

  /** Marks this instance gone at once (a clean stop), so the others take its sessions next pass. */
  async leave(): Promise<void> {
    if (this.startedAt === undefined) return
    const t = Math.max(Math.floor(this.opts.now()), this.beatAt + 1)
    await this.opts.store.insert('analyzer_members', [
      { instance: this.instance, started_at: this.startedAt, heartbeat: t, leaving: 1 },
    ])
    this.members = []
    this.buckets = []
  }
}
