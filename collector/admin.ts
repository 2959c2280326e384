// Data deletion (SECURITY.md "Privacy"): by session or by user, over HTTP for an app's own key holder
// and from the command line for an operator. Every statement is scoped by app, so one app's key can
// never reach another app's rows.
import type { Context, Hono } from 'hono'
import { HTTPException } from 'hono/http-exception'
import type { Logger } from 'pino'
import { deleteData } from '../store/index.ts'
import type { DeleteResult, DeleteScope, Store } from '../store/index.ts'
import { verifyAppSecret } from './auth.ts'
import type { Config } from './config.ts'
import { evictScope } from './deletions.ts'
import type { DeletionWatch } from './deletions.ts'
import type { Ingest } from './ingest.ts'
import type { SessionRegistry } from './registry.ts'

export interface AdminDeps {
  store: Store
  ingest: Ingest
  registry: SessionRegistry
  config: Pick<Config, 'keys'>
  log: Logger
  /** Tells every collector (collector/deletions.ts); without it, only this one's streams are closed. */
  deletions?: Pick<DeletionWatch, 'record'>
}

const ID = /^[\x21-\x7e]{1,128}$/

/**
 * Deletes a session's or a user's data: records the deletion for every collector (which then close
 * their streams of it and refuse its hellos), closes the live streams here (4003, so the SDK stops rather
 * than resending), then writes what the ingest holds, so no row lands after the DELETE. Rejects with
 * StoreError.
 */
export async function deleteScope(deps: AdminDeps, scope: DeleteScope): Promise<DeleteResult> {
  await deps.deletions?.record(scope)
  const closed = evictScope(deps.registry, scope)
  await deps.ingest.flush()
  const result = await deleteData(deps.store, scope)
  deps.log.info({ ...scope, closed, tables: result.tables.length, targets: result.targets }, 'data deleted')
  return result
}

/**
 * `DELETE /api/v1/sessions/:id?app=A` and `DELETE /api/v1/users/:id?app=A`, authorised by
 * `Authorization: Bearer <secret of one of A's RTCPULSE_KEYS>`. 401 without a valid key for A.
 */
export function mountAdmin(app: Hono, deps: AdminDeps): void {
  const scoped =
    (kind: 'session' | 'user') =>
    async (c: Context): Promise<Response> => {
      const appId = c.req.query('app') ?? ''
      const id = c.req.param('id') ?? ''
      if (!ID.test(appId) || !ID.test(id)) {
        throw new HTTPException(400, {
          message: 'expected ?app=<app id> and an id of 1-128 printable characters',
        })
      }
      if (!verifyAppSecret(c.req.header('authorization'), appId, deps.config.keys)) {
        throw new HTTPException(401, {
          message: `a key of app ${appId} is required (Authorization: Bearer …)`,
        })
      }
      const scope: DeleteScope = kind === 'session' ? { app: appId, session: id } : { app: appId, user: id }
      const result = await deleteScope(deps, scope)
      return c.json({ deleted: { app: appId, [kind]: id }, ...result })
    }
  app.delete('/api/v1/sessions/:id', scoped('session'))
  app.delete('/api/v1/users/:id', scoped('user'))
}
