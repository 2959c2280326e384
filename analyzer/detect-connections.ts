// Detectors over a peer connection: RTT and relay use (transport rows), inbound silence (its inbound
// streams) and ICE disconnections and failures (connection-state events). Pure.
import { SECOND, issue, persistentEpisodes, r1, runs, spanOf, stats } from './episodes.ts'
import type { Issue, StateEvent, StreamSeries, TransportSecond, TransportSeries } from './episodes.ts'
import { CRITICAL_RTT_MS, HIGH_RTT_MS, NO_MEDIA_S } from './thresholds.ts'

/** Connection-level issues of one pc: RTT, relay use (transport rows) and inbound silence (streams). */
export function pcIssues(
  tr: TransportSeries | undefined,
  inbound: StreamSeries[],
  pc: { peer: string; pc: string },
): Issue[] {
  const out: Issue[] = []
  if (tr) {
    const rows = tr.rows
    for (const e of persistentEpisodes(rows, (r) => (r.rtt_ms ?? 0) > HIGH_RTT_MS)) {
      const v = stats(e.hits.map((i) => (rows[i] as TransportSecond).rtt_ms as number))
      out.push(
        issue(
          pc,
          'high_rtt',
          v.mean >= CRITICAL_RTT_MS ? 'critical' : 'warning',
          (rows[e.from] as TransportSecond).t,
          (rows[e.to] as TransportSecond).t,
          {
            seconds: e.hits.length,
            mean_rtt_ms: r1(v.mean),
            max_rtt_ms: r1(v.max),
          },
          `RTT above ${HIGH_RTT_MS} ms in ${e.hits.length} s (mean ${Math.round(v.mean)} ms, max ${Math.round(v.max)} ms)`,
        ),
      )
    }
    for (const tcp of [false, true]) {
      const isTcp = (r: TransportSecond): boolean => r.relay_protocol === 'tcp' || r.relay_protocol === 'tls'
      for (const e of runs(rows, (r) => r.local_type === 'relay' && isTcp(r) === tcp, 5 * SECOND)) {
        const proto = (rows[e.to] as TransportSecond).relay_protocol || 'udp'
        out.push(
          issue(
            pc,
            tcp ? 'tcp_relay' : 'relay',
            tcp ? 'warning' : 'info',
            (rows[e.from] as TransportSecond).t,
            (rows[e.to] as TransportSecond).t,
            {
              seconds: e.hits.length,
            },
            tcp
              ? `media relayed through TURN over ${proto.toUpperCase()} for ${e.hits.length} s (adds delay, loss turns into stalls)`
              : `media relayed through TURN over UDP for ${e.hits.length} s`,
          ),
        )
      }
    }
  }
  if (inbound.length > 0) {
    // Per second: silent when every inbound stream existing then reported a second without packets.
    const streams = inbound.map((s) => ({
      span: spanOf(s),
      silent: new Set(s.rows.filter((r) => r.active === 0).map((r) => Math.round(r.t / SECOND))),
    }))
    const candidates = new Set(streams.flatMap((s) => [...s.silent]))
    const seconds = [...candidates]
      .filter((k) =>
        streams.every(
          (s) => s.silent.has(k) || k * SECOND < s.span.start - 500 || k * SECOND > s.span.end + 500,
        ),
      )
      .sort((a, b) => a - b)
      .map((k) => ({ t: k * SECOND, silent: true }))
    for (const e of runs(seconds, (r) => r.silent, SECOND)) {
      if (e.hits.length < NO_MEDIA_S) continue
      out.push(
        issue(
          pc,
          'no_inbound_media',
          'critical',
          (seconds[e.from] as { t: number }).t,
          (seconds[e.to] as { t: number }).t,
          {
            seconds: e.hits.length,
            streams: inbound.length,
          },
          `no media packets received on any of ${inbound.length} inbound stream(s) for ${e.hits.length} s`,
        ),
      )
    }
  }
  return out
}

const STATE_NAMES = new Set(['connectionstatechange', 'iceconnectionstatechange'])
/** The SDK's event name without a namespace prefix (`pc.connectionstatechange` → `connectionstatechange`). */
const baseName = (name: string): string => name.slice(name.lastIndexOf('.') + 1).toLowerCase()

/**
 * ICE disconnections and failures from connection-state events: an episode runs from `disconnected` or
 * `failed` to the next `connected`/`completed` (or `closed`, or the end of the range). When a pc reports
 * both connectionstatechange and iceconnectionstatechange, only the former is used (it includes DTLS).
 */
export function iceIssues(events: readonly StateEvent[], end: number): Issue[] {
  const byPc = new Map<string, StateEvent[]>()
  for (const e of events) {
    if (!STATE_NAMES.has(baseName(e.name))) continue
    const k = `${e.peer}\n${e.pc}`
    const list = byPc.get(k) ?? []
    list.push(e)
    byPc.set(k, list)
  }
  const out: Issue[] = []
  for (const list of byPc.values()) {
    const hasConn = list.some((e) => baseName(e.name) === 'connectionstatechange')
    const use = list.filter(
      (e) => baseName(e.name) === (hasConn ? 'connectionstatechange' : 'iceconnectionstatechange'),
    )
    use.sort((a, b) => a.t - b.t)
    let open: { ev: StateEvent; type: 'ice_disconnect' | 'ice_failure' } | undefined
    const close = (t: number, how: string): void => {
      if (!open) return
      const dur = Math.max(0, t - open.ev.t) / SECOND
      const recovered = how === 'connected' ? 1 : 0
      const failure = open.type === 'ice_failure'
      out.push(
        issue(
          open.ev,
          open.type,
          failure || !recovered ? 'critical' : 'warning',
          open.ev.t,
          t,
          {
            duration_s: r1(dur),
            recovered,
          },
          `${failure ? 'connection failed' : 'connection lost'}${recovered ? `, recovered after ${r1(dur)} s` : how === 'closed' ? ', then closed' : ', not recovered'}`,
        ),
      )
      open = undefined
    }
    for (const e of use) {
      const st = e.state.toLowerCase()
      if (st === 'connected' || st === 'completed') close(e.t, 'connected')
      else if (st === 'closed') close(e.t, 'closed')
      else if (st === 'disconnected' && !open) open = { ev: e, type: 'ice_disconnect' }
      else if (st === 'failed') {
        // disconnected → failed is one episode that became a failure.
        if (open) open.type = 'ice_failure'
        else open = { ev: e, type: 'ice_failure' }
      }
    }
    close(Math.max(end, open?.ev.t ?? 0), 'end')
  }
  return out
}
