// Deletions that reach every collector (SECURITY.md "Privacy"). Collectors share only the store, so a
// DELETE served by one of them is written to the `deletions` table (store/migrations/008_deletions.sql)
// and every collector reads that table every `pollMs`: it closes its live streams of the deleted scope
// (4003, so the SDK stops rather than resends), deletes again what those streams wrote after the first
// DELETE, and refuses the scope's hellos for as long as the record lives (a day).
import type { Logger } from 'pino'
import { deleteData } from '../store/index.ts'
import type { DeleteScope, Store } from '../store/index.ts'
import type { Ingest } from './ingest.ts'
import type { SessionRegistry } from './registry.ts'

// How long a deleted scope is refused: the table's TTL. Polls read this window only.
const HOLD_MS = 86_400_000

export interface DeletionWatch {
  /** True if the session, or the user when given, of `app` was deleted within the last day. */
  deleted(app: string, session: string, user: string | undefined): boolean
  /** Writes the record of a deletion (every collector will act on it) and refuses the scope here at once. */
  record(scope: DeleteScope): Promise<void>
  /** Stops polling. */
  close(): void
}

export interface DeletionDeps {
  store: Store
  ingest: Ingest
  registry: SessionRegistry
  log: Logger
  pollMs: number
}

const keyOf = (app: string, kind: 'session' | 'user', id: string): string => `${app}\u0000${kind}\u0000${id}`
const scopeKey = (s: DeleteScope): string =>
  'session' in s ? keyOf(s.app, 'session', s.session) : keyOf(s.app, 'user', s.user)

/** Closes the live streams of `scope` with 4003; returns how many. */
export function evictScope(registry: SessionRegistry, scope: DeleteScope): number {
  return registry.evictWhere(
    (c) =>
      c.identity.app === scope.app &&
      ('session' in scope ? c.identity.session === scope.session : c.user === scope.user),
    4003,
    'data deleted',
  )
}

/** Writes the record of a deletion to the store (for `rtcpulse delete`, which runs no watch). Rejects with StoreError. */
export async function recordDeletion(store: Store, scope: DeleteScope): Promise<void> {
  const [kind, id] = 'session' in scope ? ['session', scope.session] : ['user', scope.user]
  await store.insert('deletions', [{ app_id: scope.app, scope: kind, id, deleted_at: Date.now() }])
}

/** Starts polling the deletions table. The first poll runs at once; poll failures are logged and retried. */
export function createDeletionWatch(deps: DeletionDeps): DeletionWatch {
  const { store, ingest, registry, log } = deps
  // Scopes known deleted (key → deleted_at ms); those seen by a poll have been acted on here.
  let known = new Map<string, number>()
  let polling = false

  const act = async (scope: DeleteScope): Promise<void> => {
    if (evictScope(registry, scope) === 0) return
    // Streams held here may have written after the DELETE that another collector served: store what the
    // ingest holds, then delete again (idempotent).
    await ingest.flush()
    await deleteData(store, scope)
    log.info(scope, 'streams of deleted data closed and their late rows deleted')
  }

  const poll = async (): Promise<void> => {
    if (polling) return
    polling = true
    try {
      const rows = await store.query<{ app_id: string; scope: 'session' | 'user'; id: string; at: number }>(
        `SELECT app_id, scope, id, toUnixTimestamp64Milli(deleted_at) AS at FROM deletions
         WHERE deleted_at > now64(3) - INTERVAL 1 DAY`,
      )
      const next = new Map<string, number>()
      const fresh: DeleteScope[] = []
      for (const r of rows) {
        const key = keyOf(r.app_id, r.scope, r.id)
        if (!known.has(key) && !next.has(key))
          fresh.push(r.scope === 'session' ? { app: r.app_id, session: r.id } : { app: r.app_id, user: r.id })
        next.set(key, Number(r.at))
      }
      // Keep local records the store does not show yet (written here, not yet visible).
      const now = Date.now()
      for (const [key, at] of known) if (!next.has(key) && now - at < HOLD_MS) next.set(key, at)
      known = next
      for (const scope of fresh) await act(scope)
    } catch (err) {
      log.warn({ err }, 'cannot read deletions; retrying at the next poll')
    } finally {
      polling = false
    }
  }

  const timer = setInterval(() => void poll(), deps.pollMs)
  timer.unref()
  void poll()

  return {
    deleted(app, session, user) {
      const fresh = (key: string): boolean => {
        const at = known.get(key)
        return at !== undefined && Date.now() - at < HOLD_MS
      }
      return fresh(keyOf(app, 'session', session)) || (user !== undefined && fresh(keyOf(app, 'user', user)))
    },
    async record(scope) {
      known.set(scopeKey(scope), Date.now())
      await recordDeletion(store, scope)
    },
    close: () => clearInterval(timer),
  }
}
