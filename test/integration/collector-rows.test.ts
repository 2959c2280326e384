// Guards the collector's insert format (collector/rows.ts): every row the collector derives, written as a
// TabSeparated line, is stored exactly as the same row written as a JSONEachRow object (the format it
// replaced), on the real embedded store. Derived rows come from recorded calls (freezes included) and a
// Firefox recording; identities and event payloads carry hostile strings.
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import {
  COLUMNS,
  eventLine,
  linePrefix,
  rawFrameLine,
  streamLine,
  transportLine,
} from '../../collector/rows.ts'
import type { Store } from '../../store/index.ts'
import { openStore } from '../../store/open.ts'
import { deriveAll } from '../helpers/derive-series.ts'
import { guid, testDataDir } from '../helpers/collector.ts'
import { loadRecorded } from '../helpers/recorded.ts'

const HOSTILE = 'a\tb\nc\\d\\N\r\'"é😀'

let store: Store
beforeAll(async () => {
  store = await openStore({ dataDir: testDataDir(), database: guid('rows'), clickhouse: undefined })
})
afterAll(async () => {
  await store.close()
})

/** Rows of `table` for `app`, all columns but app_id, in key order. */
async function read(table: string, app: string): Promise<Record<string, unknown>[]> {
  const order = table === 'stream_seconds' ? 'pc_id, stream_id, seq' : 'pc_id, seq'
  return store.query(
    `SELECT * EXCEPT app_id, toUnixTimestamp64Milli(ts) AS ms FROM ${table} WHERE app_id = {app:String} ORDER BY ${order}`,
    { app },
  )
}

describe('collector rows as TabSeparated', () => {
  it('stores every derived row exactly as its JSONEachRow twin', async () => {
    const json = guid('json')
    const tsv = guid('tsv')
    const dims = { browser: `Chrome ${HOSTILE}`, os: 'Linux', sdk_version: '0.1.0' }
    const recordings = ['sender-30s.json', 'receiver-freeze-30s.json', 'firefox/receiver-30s.json']
    const lines: Record<string, string[]> = { stream_seconds: [], transport_seconds: [], raw_frames: [] }
    const objects: Record<string, object[]> = { stream_seconds: [], transport_seconds: [], raw_frames: [] }
    let streams = 0
    for (const [i, name] of recordings.entries()) {
      const pc = `pc${i}${HOSTILE}`
      const id = { session: `s${HOSTILE}`, peer: HOSTILE, pc }
      const base = (app: string): object => ({
        app_id: app,
        session_id: id.session,
        peer_id: id.peer,
        pc_id: pc,
      })
      const prefix = linePrefix({ ...id, app: tsv }, dims)
      const rawPrefix = linePrefix({ ...id, app: tsv })
      let seq = 0
      for (const d of deriveAll(loadRecorded(name))) {
        seq++
        const ts = Date.now() - 60_000 + seq * 1000
        for (const s of d.streams) {
          lines.stream_seconds?.push(streamLine(prefix, seq, ts, s))
          objects.stream_seconds?.push({ ...base(json), ...dims, ...s, seq, ts })
          streams++
        }
        if (d.transport) {
          lines.transport_seconds?.push(transportLine(prefix, seq, ts, d.transport))
          objects.transport_seconds?.push({ ...base(json), ...dims, ...d.transport, seq, ts })
        }
        const frame = `{"t":"stats","note":"${HOSTILE.replace(/\\/g, '\\\\')}"}\n\t`
        lines.raw_frames?.push(rawFrameLine(rawPrefix, seq, ts, 'stats', seq % 3, frame))
        objects.raw_frames?.push({ ...base(json), seq, ts, type: 'stats', gap: seq % 3, frame })
      }
    }
    expect(streams).toBeGreaterThan(100)
    for (const table of Object.keys(lines)) {
      const columns = COLUMNS[table as keyof typeof COLUMNS]
      await store.insert(table, objects[table] ?? [])
      await store.insert(table, { format: 'TabSeparated', columns, lines: lines[table] ?? [] })
      const fromJson = await read(table, json)
      expect(fromJson.length).toBe(lines[table]?.length)
      expect(await read(table, tsv)).toEqual(fromJson)
    }
  })

  it('stores events with hostile names and payloads exactly', async () => {
    const app = guid('ev')
    const id = { app, session: HOSTILE, peer: 'p', pc: '~monitor' }
    const data = JSON.stringify({ message: HOSTILE, nested: { k: [1, 'x\ty'] } })
    await store.insert('events', {
      format: 'TabSeparated',
      columns: COLUMNS.events,
      lines: [eventLine(linePrefix(id), 1, Date.now(), `custom.${HOSTILE}`, data)],
    })
    const [row] = await store.query<Record<string, unknown>>(
      'SELECT session_id, name, data FROM events WHERE app_id = {app:String}',
      { app },
    )
    expect(row).toEqual({ session_id: HOSTILE, name: `custom.${HOSTILE}`, data })
  })
})
