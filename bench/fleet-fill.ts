// Fills a store with a realistic fleet for the dashboard benchmark (issue 16): `days` days of
// `perDay` ten-minute sessions spread over each day, in three apps, from Chrome, Firefox and Safari on
// five OSes, with VP8/VP9/H264/AV1 video, a share of degraded calls (loss, RTT, freezes), a share of
// failed ones (20 s, ICE failed) and relayed ones, and connection events; then `scoreDays` days of
// analyzer scores and issues. Per-second series come from `templates` sessions the collector's own
// derivation produced (storage.ts), copied in SQL with per-row variation; every copy goes through the
// INSERT path, so the materialized views roll them up as they would at ingest. The copies name source
// columns with their table (`tpl_stream.ts`): a bare name would mean the REPLACE alias of that name. Scores come from the
// real analyzer run on 100 sessions (one per attribute class), copied with shifted times.
import { analyzeSessions } from '../analyzer/analyze.ts'
import { storeAnalyses } from '../analyzer/persist.ts'
import type { Store } from '../store/index.ts'
import { loadRecording } from './frames.ts'
import { sessionRows } from './storage.ts'

export const DAY_MS = 86_400_000
const SESSION_MS = 600_000
/** Sessions fall in 100 classes (n % 100): app, browser, OS, codec, degraded, failed, relayed. */
const CLASSES = 100

export interface FleetShape {
  days: number
  perDay: number
  scoreDays: number
  templates: number
  /** Sessions per INSERT … SELECT (bounds memory). */
  chunk: number
}

export interface Fleet {
  /** Start of day 0 of the per-second data, ms; session (d, n) starts at t0 + d·day + n·day/perDay. */
  t0: number
  shape: FleetShape
  sessionId: (d: number, n: number) => string
}

// Attribute expressions of session number `n` (SQL), all functions of its class c = n % 100.
const C = (n: string): string => `(${n} % ${CLASSES})`
const attrs = (n: string): Record<string, string> => {
  const c = C(n)
  const browser = `multiIf(${c} % 10 < 6, 'Chrome 131', ${c} % 10 < 8, 'Firefox 133', 'Safari 18')`
  return {
    app_id: `multiIf(${c} < 60, 'meet', ${c} < 90, 'classroom', 'support')`,
    browser,
    os: `multiIf(${c} % 10 < 6, ['Windows', 'macOS', 'Linux', 'Android'][1 + intDiv(${c}, 10) % 4],
                 ${c} % 10 < 8, ['Windows', 'Linux', 'macOS'][1 + intDiv(${c}, 10) % 3],
                 ['macOS', 'iOS'][1 + intDiv(${c}, 10) % 2])`,
    sdk_version: `if(${c} % 3 = 0, '0.1.0', '0.2.0')`,
    video_codec: `multiIf(${c} % 10 < 6, ['VP8', 'VP9', 'H264', 'AV1'][1 + intDiv(${c}, 10) % 4],
                          ${c} % 10 < 8, ['VP8', 'H264'][1 + intDiv(${c}, 10) % 2], 'H264')`,
    degraded: `(${c} % 7 = 3)`, // 15 of 100
    failed: `(${c} % 20 = 11)`, // 5 of 100
    relayed: `(${c} % 10 = 9)`,
    ua: `multiIf(${c} % 10 < 6, 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
                 ${c} % 10 < 8, 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
                 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_6) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/18.0 Safari/605.1.15')`,
  }
}

/** Creates the template tables and fills them with `templates` derived sessions, times from 0. */
async function templates(store: Store, count: number): Promise<void> {
  const recs = { sender: loadRecording('sender'), receiver: loadRecording('receiver') }
  for (const t of ['stream', 'transport'])
    await store.exec(
      `CREATE TABLE IF NOT EXISTS tpl_${t} AS ${t}_seconds ENGINE = MergeTree ORDER BY tuple()`,
    )
  for (let i = 0; i < count; i++) {
    const rows = sessionRows(i, SESSION_MS / 1000, recs)
    const start = Math.min(...rows.stream_seconds.map((r) => (r as { ts: number }).ts))
    const rebase = (r: object): object => ({
      ...r,
      session_id: `tpl-${i}`,
      ts: (r as { ts: number }).ts - start,
    })
    await store.insert('tpl_stream', rows.stream_seconds.map(rebase))
    await store.insert('tpl_transport', rows.transport_seconds.map(rebase))
  }
}

const vary = (c: string): string => `${c} * (0.8 + 0.4 * randCanonical())`

/** Fills per-second rows, peers and events of sessions [n0, n1) of day d. */
async function fillChunk(store: Store, f: Fleet, d: number, n0: number, n1: number): Promise<void> {
  const { perDay, templates: G } = f.shape
  const a = attrs('n')
  const start = `(${f.t0 + d * DAY_MS} + intDiv(n * ${DAY_MS}, ${perDay}))`
  const id = `concat('s${d}-', toString(n))`
  const ts = `fromUnixTimestamp64Milli(toUnixTimestamp64Milli(ts) + ${start}, 'UTC')`
  // The same peer id on per-second rows, peers and events (the old fleet queries joined on it).
  const peer = `concat('user-', toString(n % 100000))`
  const keep = (t: string): string => `(NOT ${a.failed} OR toUnixTimestamp64Milli(${t}.ts) < 20000)`
  for (let g = 0; g < G; g++) {
    const ns = `arrayFilter(x -> x % ${G} = ${g}, range(${n0}, ${n1}))`
    await store.exec(
      `INSERT INTO stream_seconds SELECT * REPLACE (
         ${a.app_id} AS app_id, ${id} AS session_id, ${peer} AS peer_id, ${a.browser} AS browser, ${a.os} AS os,
         ${a.sdk_version} AS sdk_version, ${ts} AS ts,
         if(kind = 'video', ${a.video_codec}, codec) AS codec,
         ${vary('bitrate_bps')} * if(${a.degraded}, 0.5, 1) AS bitrate_bps,
         if(${a.degraded} AND direction = 'inbound', least(1, coalesce(loss_ratio, 0) + 0.03 + 0.05 * randCanonical()), loss_ratio) AS loss_ratio,
         ${vary('jitter_ms')} * if(${a.degraded}, 4, 1) AS jitter_ms,
         ${vary('rtt_ms')} * if(${a.degraded}, 4, 1) + if(${a.degraded}, 250, 0) AS rtt_ms,
         fps * if(${a.degraded}, 0.6, 1) AS fps,
         if(${a.degraded} AND kind = 'video' AND direction = 'inbound', least(1, coalesce(frozen_share, 0) + if(randCanonical() < 0.1, 0.8, 0)), frozen_share) AS frozen_share)
       FROM tpl_stream ARRAY JOIN ${ns} AS n
       WHERE tpl_stream.session_id = 'tpl-${g}' AND ${keep('tpl_stream')}`,
    )
    await store.exec(
      `INSERT INTO transport_seconds SELECT * REPLACE (
         ${a.app_id} AS app_id, ${id} AS session_id, ${peer} AS peer_id, ${a.browser} AS browser, ${a.os} AS os,
         ${a.sdk_version} AS sdk_version, ${ts} AS ts,
         ${vary('rtt_ms')} * if(${a.degraded}, 4, 1) + if(${a.degraded}, 250, 0) AS rtt_ms,
         if(${a.relayed}, 'relay', local_type) AS local_type)
       FROM tpl_transport ARRAY JOIN ${ns} AS n
       WHERE tpl_transport.session_id = 'tpl-${g}' AND ${keep('tpl_transport')}`,
    )
  }
  const nums = `(SELECT number AS n FROM numbers(${n0}, ${n1 - n0}))`
  await store.exec(
    `INSERT INTO peers (app_id, session_id, peer_id, user_id, sdk_version, user_agent, browser, os, metadata,
       remote_addr, connected_at) SELECT ${a.app_id}, ${id}, ${peer}, '', ${a.sdk_version}, ${a.ua}, ${a.browser},
       ${a.os}, map('room', toString(n % 50)), '', fromUnixTimestamp64Milli(${start}, 'UTC') FROM ${nums}`,
  )
  // Connection events: connecting, connected, a track each way; failed sessions fail after 20 s.
  await store.exec(
    `INSERT INTO events (app_id, session_id, peer_id, pc_id, seq, ts, name, data) SELECT ${a.app_id}, ${id}, ${peer}, 'pc1', 100000 + e,
       fromUnixTimestamp64Milli(${start} + [0, 800, 1000, 1200, 20000][e + 1], 'UTC'),
       ['connectionstatechange', 'connectionstatechange', 'track', 'track', 'iceconnectionstatechange'][e + 1],
       ['{"state":"connecting"}', '{"state":"connected"}', '{"kind":"audio"}', '{"kind":"video"}', '{"state":"failed"}'][e + 1]
     FROM ${nums} ARRAY JOIN range(if(${a.failed}, 5, 4)) AS e`,
  )
}

/** Scores the 100 class sessions of day 0 with the real analyzer, then copies them to every score day. */
async function fillScores(store: Store, f: Fleet): Promise<void> {
  const { perDay, days, scoreDays } = f.shape
  for (const app of ['meet', 'classroom', 'support']) {
    const ids = Array.from({ length: CLASSES }, (_, n) => n)
      .filter((n) => (n < 60 ? 'meet' : n < 90 ? 'classroom' : 'support') === app)
      .map((n) => f.sessionId(0, n))
    const results = await analyzeSessions(store, app, ids, { expectedFps: 30, final: true, batchSize: 100 })
    await storeAnalyses(store, results)
  }
  // Copies: session (d, n) gets the scores of class session (0, n % 100), shifted by their start gap.
  const first = days - scoreDays
  for (let d = first; d < days; d++) {
    const shift = `(intDiv((n - n % ${CLASSES}) * ${DAY_MS}, ${perDay}) + ${d * DAY_MS})`
    const when = (c: string): string =>
      `fromUnixTimestamp64Milli(toUnixTimestamp64Milli(${c}) + ${shift}, 'UTC') AS ${c}`
    // Day 0's first 100 sessions are the scored ones themselves.
    const from = (table: string): string =>
      `FROM ${table} ARRAY JOIN arrayMap(k -> k * ${CLASSES} + toUInt64(substring(${table}.session_id, 4)),
         range(${d === 0 ? 1 : 0}, ${Math.ceil(perDay / CLASSES)})) AS n
       WHERE startsWith(${table}.session_id, 's0-') AND n < ${perDay}`
    const sid = `concat('s${d}-', toString(n)) AS session_id`
    await store.exec(`INSERT INTO scores SELECT * REPLACE (${sid},
        ${['scored_at', 'window_start', 'window_end', 'started_at', 'ended_at'].map(when).join(', ')},
        overall * (0.95 + 0.1 * randCanonical()) AS overall) ${from('scores')}`)
    await store.exec(`INSERT INTO stream_scores SELECT * REPLACE (${sid},
        ${['scored_at', 'started_at', 'ended_at'].map(when).join(', ')}) ${from('stream_scores')}`)
    await store.exec(`INSERT INTO issues SELECT * REPLACE (${sid},
        ${['scored_at', 'start', 'end'].map(when).join(', ')}) ${from('issues')}`)
  }
}

/** Where the sessions of a fleet of `shape` filled at `now` are (fillFleet places them so). */
export function fleetOf(shape: FleetShape, now: number): Fleet {
  const t0 = Math.floor((now - shape.days * DAY_MS - SESSION_MS) / 60_000) * 60_000
  return { t0, shape, sessionId: (d, n) => `s${d}-${n}` }
}

/** Fills the store; `progress` hears each finished step. Returns where the sessions are. */
export async function fillFleet(
  store: Store,
  shape: FleetShape,
  now: number,
  progress: (msg: string) => void,
): Promise<Fleet> {
  const f = fleetOf(shape, now)
  await templates(store, shape.templates)
  for (let d = 0; d < shape.days; d++) {
    const t = performance.now()
    for (let n0 = 0; n0 < shape.perDay; n0 += shape.chunk)
      await fillChunk(store, f, d, n0, Math.min(shape.perDay, n0 + shape.chunk))
    progress(`day ${d + 1}/${shape.days} filled in ${Math.round((performance.now() - t) / 1000)} s`)
  }
  const t = performance.now()
  await fillScores(store, f)
  progress(`${shape.scoreDays} days of scores in ${Math.round((performance.now() - t) / 1000)} s`)
  return f
}
