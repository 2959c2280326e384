// Guards the operator's deletion path of SECURITY.md: `rtcpulse delete --app A (--session S | --user U)`
// removes a session's or a user's rows from every table and nothing else. The data is written by a
// collector process, deleted by the CLI process, and checked here once both have exited (chDB binds one
// data folder per process).
import { execFile } from 'node:child_process'
import { mkdtempSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import { promisify } from 'node:util'
import { afterAll, describe, expect, it } from 'vitest'
import { createChdbStore } from '../../store/chdb.ts'
import { guid } from '../helpers/collector.ts'
import { startChildCollector } from '../helpers/fault-child.ts'
import type { ChildCollector } from '../helpers/fault-child.ts'
import { reportSequence } from '../helpers/reports.ts'
import { connect, helloFor, statsFrames } from '../helpers/stream-client.ts'
import { freePort } from '../helpers/ports.ts'

const ROOT = fileURLToPath(new URL('../../', import.meta.url))

let child: ChildCollector | undefined
afterAll(async () => {
  await child?.kill9()
})

describe('rtcpulse delete', () => {
  it('deletes one session, then one user, from every table and leaves the rest', async () => {
    const env = {
      RTCPULSE_DATA_DIR: mkdtempSync(join(tmpdir(), 'rtcpulse-delete-')),
      CLICKHOUSE_DATABASE: guid('del'),
    }
    child = await startChildCollector(await freePort(), env)
    const streamUrl = `${child.url.replace(/^http/, 'ws')}/v1/stream`
    const sessions: [string, string | undefined][] = [
      ['keep', 'u-keep'],
      ['gone', 'u-keep'],
      ['user-a', 'u-gone'],
      ['user-b', 'u-gone'],
    ]
    for (const [session, user] of sessions) {
      const client = await connect(streamUrl)
      client.send(helloFor(session, user ? { user } : {}))
      await client.waitFor((f) => f.t === 'welcome')
      for (const f of statsFrames('pc1', reportSequence('sender', 3))) client.send(f)
      client.send({ t: 'event', pc: 'pc1', seq: 4, ts: Date.now(), name: 'custom.x' })
      await client.waitFor((f) => f.t === 'ack' && f.seq.pc1 === 4)
      client.close()
    }
    expect(await child.stop()).toBe(0)
    child = undefined

    const run = promisify(execFile)
    const cli = (...args: string[]) =>
      run(process.execPath, ['bin/rtcpulse.js', 'delete', '--app', 'demo', ...args], {
        cwd: ROOT,
        env: { ...process.env, ...env, LOG_LEVEL: 'silent' },
      })
    const bySession = JSON.parse((await cli('--session', 'gone')).stdout) as { tables: string[] }
    expect(bySession.tables).toEqual(
      expect.arrayContaining(['raw_frames', 'events', 'stream_seconds', 'peers']),
    )
    const byUser = JSON.parse((await cli('--user', 'u-gone')).stdout) as { targets: number }
    expect(byUser.targets).toBe(2)
    await expect(cli('--session', 'x', '--user', 'y')).rejects.toThrow(/exactly one of --session/)

    const store = await createChdbStore({ dataDir: env.RTCPULSE_DATA_DIR, database: env.CLICKHOUSE_DATABASE })
    try {
      for (const table of ['raw_frames', 'events', 'stream_seconds', 'transport_seconds', 'peers']) {
        const rows = await store.query<{ session_id: string }>(
          `SELECT DISTINCT session_id FROM ${table} ORDER BY session_id`,
        )
        expect(
          rows.map((r) => r.session_id),
          table,
        ).toEqual(['keep'])
      }
    } finally {
      await store.close()
    }
  }, 60_000)
})
