// The collector's TabSeparated lines (collector/rows.ts) hold each value under its own column: the
// stream and transport lines are written out field by field, so a field out of COLUMNS order would store
// one metric in another's column without any error. Every derived row of the recordings is read back
// column by column and compared with the value derivation produced.
import { describe, expect, it } from 'vitest'
import {
  COLUMNS,
  eventLine,
  linePrefix,
  objectLine,
  peerLine,
  rawFrameLine,
  streamLine,
  transportLine,
} from '../../collector/rows.ts'
import { parseTsvLine, tsvString } from '../../store/tsv.ts'
import { deriveAll } from '../helpers/derive-series.ts'
import { loadRecorded } from '../helpers/recorded.ts'

const id = { app: 'app\t1', session: 's\\1', peer: 'p\n1', pc: 'pc1' }
const dims = { browser: 'Chrome 131', os: 'Windows', sdk_version: '0.1.0' }
const identity = { app_id: id.app, session_id: id.session, peer_id: id.peer, pc_id: id.pc }

/** What each value reads back as from a line: text, or null for NULL. */
const asText = (row: Record<string, unknown>): Record<string, string | null> =>
  Object.fromEntries(
    Object.entries(row).map(([k, v]) => [
      k,
      v === null || v === undefined ? null : String(v as string | number),
    ]),
  )

describe('collector rows', () => {
  const derived = ['sender-30s.json', 'receiver-freeze-30s.json', 'firefox/sender-30s.json'].flatMap((name) =>
    deriveAll(loadRecorded(name)),
  )

  it('writes every stream metric under its own column', () => {
    const prefix = linePrefix(id, dims)
    let n = 0
    for (const [seq, d] of derived.entries()) {
      for (const s of d.streams) {
        const line = streamLine(prefix, seq, 1_700_000_000_123, s)
        expect(line.endsWith('\n')).toBe(true)
        expect(line.split('\t')).toHaveLength(COLUMNS.stream_seconds.length)
        expect(parseTsvLine(COLUMNS.stream_seconds, line)).toEqual(
          asText({ ...identity, ...dims, seq, ts: 1_700_000_000_123, ...s }),
        )
        // The generic encoder agrees with the hand-written one.
        expect(
          objectLine(COLUMNS.stream_seconds, { ...identity, ...dims, seq, ts: 1_700_000_000_123, ...s }),
        ).toBe(line)
        n++
      }
    }
    expect(n).toBeGreaterThan(100)
  })

  it('writes every transport metric under its own column', () => {
    const prefix = linePrefix(id, dims)
    let n = 0
    for (const [seq, d] of derived.entries()) {
      if (!d.transport) continue
      const line = transportLine(prefix, seq, 5, d.transport)
      expect(line.split('\t')).toHaveLength(COLUMNS.transport_seconds.length)
      expect(parseTsvLine(COLUMNS.transport_seconds, line)).toEqual(
        asText({ ...identity, ...dims, seq, ts: 5, ...d.transport }),
      )
      n++
    }
    expect(n).toBeGreaterThan(50)
  })

  it('writes raw frames, events and peers under their columns, escaping text', () => {
    const frame = '{"t":"stats",\n\t"x":"a\\\\b"}'
    expect(parseTsvLine(COLUMNS.raw_frames, rawFrameLine(linePrefix(id), 7, 9, 'stats', 2, frame))).toEqual(
      asText({ ...identity, seq: 7, ts: 9, type: 'stats', gap: 2, frame }),
    )
    expect(
      parseTsvLine(COLUMNS.events, eventLine(linePrefix(id), 3, 4, 'custom.x\ty', '{"a":"\\n"}')),
    ).toEqual(asText({ ...identity, seq: 3, ts: 4, name: 'custom.x\ty', data: '{"a":"\\n"}' }))
    const peer = {
      app_id: id.app,
      session_id: id.session,
      peer_id: id.peer,
      user_id: 'u',
      sdk_version: '0.1.0',
      user_agent: 'Mozilla/5.0 (X11)\t',
      browser: 'Firefox 153',
      os: 'Linux',
      metadata: { "room's": 'a\\b' },
      remote_addr: '192.0.2.1',
      connected_at: 1_700_000_000_000,
    }
    const fields = parseTsvLine(COLUMNS.peers, peerLine(peer, null))
    expect(fields).toEqual({
      ...asText({ ...peer, clock_skew_ms: null }),
      metadata: "{'room's':'a\\b'}", // read back with the quoted form's escapes removed
    })
  })

  it('leaves text without special characters as it is', () => {
    const plain = 'a6f1c1d2-3b4c-4d5e-8f90-123456789abc é 😀'
    expect(tsvString(plain)).toBe(plain)
  })
})
