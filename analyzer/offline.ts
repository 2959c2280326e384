// Offline input: getStats() reports captured elsewhere (a webrtc-internals dump, recorded fixtures)
// become the very rows the collector would have stored, through the collector's own derivation
// (core/derive.ts), so offline and live sessions are scored by the same code and SQL.
import { parseUserAgent } from '../core/user-agent.ts'
import { deriveSecond } from '../core/derive.ts'
import type { Snapshot } from '../core/derive.ts'
import { normalizeReport } from '../core/delta.ts'
import type { Store } from '../store/index.ts'

/** One stats dictionary as getStats() returns it. */
export interface Stat {
  id: string
  type: string
  timestamp: number
  [k: string]: unknown
}

export interface OfflineEvent {
  /** Epoch ms. */
  t: number
  name: string
  data?: Record<string, unknown>
}

export interface OfflinePc {
  peer: string
  pc: string
  /** One complete report per poll, in time order. */
  reports: Stat[][]
  events?: OfflineEvent[]
}

export interface OfflinePeer {
  peer: string
  userAgent?: string
  sdk?: string
  meta?: Record<string, string>
}

export interface OfflineSession {
  app: string
  session: string
  peers: OfflinePeer[]
  pcs: OfflinePc[]
}

export interface SessionRows {
  peers: object[]
  events: object[]
  stream_seconds: object[]
  transport_seconds: object[]
}

/** The report's timestamp: that of its first object (all objects of one getStats() call share it). */
const reportTs = (report: Stat[]): number => report.reduce((t, s) => Math.max(t, s.timestamp || 0), 0)

/**
 * Rows for the store, exactly as collector/session.ts builds them: per pc, stats and events share one
 * `seq` counter in time order. Pure; never throws on odd stats (derive turns them into nulls).
 */
export function sessionRows(s: OfflineSession): SessionRows {
  const out: SessionRows = { peers: [], events: [], stream_seconds: [], transport_seconds: [] }
  const firstTs = Math.min(
    ...s.pcs
      .flatMap((p) => [...p.reports.map(reportTs), ...(p.events ?? []).map((e) => e.t)])
      .filter((t) => t > 0),
  )
  for (const p of s.peers) {
    const ua = parseUserAgent(p.userAgent ?? '')
    out.peers.push({
      app_id: s.app,
      session_id: s.session,
      peer_id: p.peer,
      user_id: '',
      sdk_version: p.sdk ?? '',
      user_agent: p.userAgent ?? '',
      browser: ua.browser,
      os: ua.os,
      metadata: p.meta ?? {},
      remote_addr: '',
      connected_at: Number.isFinite(firstTs) ? Math.round(firstTs) : 0,
    })
  }
  for (const pc of s.pcs) {
    const base = { app_id: s.app, session_id: s.session, peer_id: pc.peer, pc_id: pc.pc }
    type Item = { t: number; report?: Stat[]; event?: OfflineEvent }
    const items: Item[] = [
      ...pc.reports.map((report) => ({ t: reportTs(report), report })),
      ...(pc.events ?? []).map((event) => ({ t: event.t, event })),
    ].sort((a, b) => a.t - b.t)
    let snapshot: Snapshot | undefined
    let seq = 0
    for (const item of items) {
      seq++
      const ts = Math.round(item.t)
      if (item.event) {
        const e = item.event
        out.events.push({ ...base, seq, ts, name: e.name, data: e.data ? JSON.stringify(e.data) : '' })
        continue
      }
      const report = item.report as Stat[]
      const state = normalizeReport({ forEach: (cb) => report.forEach((st) => cb(st)) }, item.t)
      const derived = deriveSecond(state, item.t, snapshot)
      snapshot = derived.snapshot
      for (const st of derived.streams) out.stream_seconds.push({ ...base, ...st, seq, ts })
      if (derived.transport) out.transport_seconds.push({ ...base, ...derived.transport, seq, ts })
    }
  }
  return out
}

/** Writes a session's rows to the store (one insert per table). Rejects with StoreError. */
export async function storeSession(store: Store, s: OfflineSession): Promise<SessionRows> {
  const rows = sessionRows(s)
  await store.insert('peers', rows.peers)
  await store.insert('events', rows.events)
  await store.insert('stream_seconds', rows.stream_seconds)
  await store.insert('transport_seconds', rows.transport_seconds)
  return rows
}
