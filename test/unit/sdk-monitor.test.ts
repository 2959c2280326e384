// Invariant 3 (DESIGN.md): the SDK never hurts the app. After createMonitor returns nothing throws into
// the app, a slow getStats() is skipped rather than queued, closed connections stop being polled, the kill
// switch and sampling make the monitor inert, and wrapGlobal patches RTCPeerConnection once, keeping
// `instanceof` and static methods. The peer connections here are FAKES (an EventTarget with a scripted
// getStats) because a real one cannot be made slow or closed at an exact tick; the collector side is the
// in-memory one of sdk-fake-collector.ts. Real peers run in test/integration and test/e2e.
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'
import { createMonitor, sampled } from '../../sdk/src/index.ts'
import type { MonitorError, MonitorOptions } from '../../sdk/src/index.ts'
import type { EventFrame } from '../../core/protocol.ts'
import { MemoryCollector } from '../helpers/sdk-fake-collector.ts'
import { asReport, reportSequences } from '../helpers/sdk-fixtures.ts'

const reports = reportSequences().find((s) => s.reports.length > 10)?.reports ?? []

class FakePeerConnection extends EventTarget {
  connectionState: RTCPeerConnectionState = 'new'
  iceConnectionState: RTCIceConnectionState = 'new'
  iceGatheringState: RTCIceGatheringState = 'new'
  signalingState: RTCSignalingState = 'stable'
  calls = 0
  /** ms each getStats() takes. */
  delay = 0
  static generateCertificate(): string {
    return 'certificate'
  }
  getStats(): Promise<unknown> {
    const r = reports[this.calls++ % reports.length] ?? []
    return new Promise((resolve) => setTimeout(() => resolve(asReport(r)), this.delay))
  }
  setState(state: RTCPeerConnectionState): void {
    this.connectionState = state
    this.dispatchEvent(new Event('connectionstatechange'))
  }
}
const asPc = (pc: FakePeerConnection): RTCPeerConnection => pc as unknown as RTCPeerConnection

let server: MemoryCollector
let errors: MonitorError[]
const options = (extra: Partial<MonitorOptions> = {}): MonitorOptions => ({
  url: 'https://collector.test',
  app: 'a',
  session: 's1',
  peer: 'p',
  WebSocket: server.WebSocket,
  onError: (e) => errors.push(e),
  ...extra,
})
const tick = async (ms: number): Promise<void> => {
  await vi.advanceTimersByTimeAsync(ms)
}
/** close() waits for acks (up to 5 s of timers): let the fake clock run while it does. */
const closeAll = async (...monitors: { close(): Promise<void> }[]): Promise<void> => {
  const closing = Promise.all(monitors.map((m) => m.close()))
  await tick(6000)
  await closing
}
const events = (pc: string): EventFrame[] =>
  server.stored(pc).flatMap((f) => (f.type === 'event' ? [JSON.parse(f.text) as EventFrame] : []))

beforeEach(() => {
  vi.useFakeTimers()
  server = new MemoryCollector()
  vi.stubGlobal('fetch', server.fetch)
  errors = []
})
afterEach(() => {
  vi.useRealTimers()
  vi.unstubAllGlobals()
})

describe('sampled', () => {
  it('gives the same answer for the same session id, every time', () => {
    for (const id of ['a', 'session-42', 'b7f0c1e2-0000-4000-8000-123456789abc']) {
      const first = sampled(id, 0.5)
      for (let i = 0; i < 5; i++) expect(sampled(id, 0.5)).toBe(first)
    }
  })

  it('samples about the given share of sessions, also for ids sharing a prefix', () => {
    for (const make of [(i: number) => `session-${i}`, (i: number) => `room-7-user-${i % 100}-${i >> 7}`]) {
      const n = 20_000
      let hits = 0
      for (let i = 0; i < n; i++) if (sampled(make(i), 0.3)) hits++
      expect(hits / n).toBeGreaterThan(0.28)
      expect(hits / n).toBeLessThan(0.32)
    }
  })

  it('keeps a session sampled when the rate goes up, and takes none at 0 and all at 1', () => {
    for (let i = 0; i < 1000; i++) {
      const id = `s${i}`
      if (sampled(id, 0.2)) expect(sampled(id, 0.5)).toBe(true)
      expect(sampled(id, 0)).toBe(false)
      expect(sampled(id, 1)).toBe(true)
    }
  })
})

describe('createMonitor', () => {
  it('throws a TypeError naming what to fix for invalid options', () => {
    expect(() => createMonitor({ ...options(), url: 'collector.test' })).toThrow(/url/)
    expect(() => createMonitor({ ...options(), session: '' })).toThrow(TypeError)
    expect(() => createMonitor({ ...options(), intervalMs: 10 })).toThrow(/intervalMs/)
  })

  it('does nothing at all when disabled or not sampled', async () => {
    for (const extra of [{ enabled: false }, { sampleRate: 0 }]) {
      const monitor = createMonitor(options(extra))
      const pc = new FakePeerConnection()
      expect(monitor.active).toBe(false)
      expect(monitor.add(asPc(pc)).id).toBe('')
      monitor.event('x')
      monitor.wrapGlobal()
      await tick(5000)
      await closeAll(monitor)
      expect(pc.calls).toBe(0)
    }
    expect(server.sockets).toHaveLength(0)
  })

  it('never throws into the app after creation, and reports instead', async () => {
    const monitor = createMonitor(
      options({
        onError: () => {
          throw new Error('the app handler fails too')
        },
      }),
    )
    const cyclic: Record<string, unknown> = {}
    cyclic.self = cyclic
    expect(() => monitor.event('bad', cyclic)).not.toThrow()
    expect(() => monitor.add(null as unknown as RTCPeerConnection)).not.toThrow()
    const broken = {
      getStats: () => Promise.reject(new Error('boom')),
      addEventListener() {},
      connectionState: 'new',
    }
    expect(() => monitor.add(broken as unknown as RTCPeerConnection)).not.toThrow()
    await tick(3000)
    await expect(closeAll(monitor)).resolves.toBeUndefined()
  })

  it('reports a failing getStats and keeps polling', async () => {
    const monitor = createMonitor(options())
    const broken = new FakePeerConnection()
    broken.getStats = () => Promise.reject(new Error('boom'))
    monitor.add(asPc(broken))
    await tick(4500)
    await closeAll(monitor)
    expect(errors.map((e) => e.code)).toEqual(Array(5).fill('getstats_failed'))
    expect(errors[0]?.message).toBe('pc1 Error: boom')
  })

  it('polls every intervalMs and skips a tick while getStats is still pending', async () => {
    const monitor = createMonitor(options({ intervalMs: 1000 }))
    const fast = new FakePeerConnection()
    const slow = new FakePeerConnection()
    slow.delay = 2500
    monitor.add(asPc(fast), { label: 'fast' })
    monitor.add(asPc(slow), { label: 'slow' })
    await tick(9_900)
    expect(fast.calls).toBe(10)
    // Started at 0, 3000, 6000, 9000: the ticks at 1000, 2000, 4000, … found the previous call pending.
    expect(slow.calls).toBe(4)
    await closeAll(monitor)
    expect(server.stored('fast').map((f) => f.seq)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10])
    expect(errors).toEqual([])
  })

  it('records state changes with all four states, and stops polling a closed connection', async () => {
    const monitor = createMonitor(options())
    const pc = new FakePeerConnection()
    const handle = monitor.add(asPc(pc), { label: 'main' })
    expect(handle.id).toBe('main')
    expect(monitor.add(asPc(pc))).toBe(handle)
    await tick(1500)
    pc.setState('connected')
    await tick(1000)
    // close() fires no event in browsers; the next tick notices.
    pc.connectionState = 'closed'
    const calls = pc.calls
    await tick(5000)
    expect(pc.calls).toBe(calls)
    await closeAll(monitor)
    const names = events('main').map((e) => e.name)
    expect(names).toEqual(['connectionstatechange', 'closed'])
    expect(events('main')[0]?.data).toEqual({
      connectionState: 'connected',
      iceConnectionState: 'new',
      iceGatheringState: 'new',
      signalingState: 'stable',
    })
  })

  it('records app events on the monitor channel and gives pcs unique ids', async () => {
    const monitor = createMonitor(options())
    const ids = [
      monitor.add(asPc(new FakePeerConnection())).id,
      monitor.add(asPc(new FakePeerConnection())).id,
    ]
    ids.push(monitor.add(asPc(new FakePeerConnection()), { label: 'pc1' }).id)
    ids.push(monitor.add(asPc(new FakePeerConnection()), { label: 'screen share' }).id)
    ids.push(monitor.add(asPc(new FakePeerConnection()), { label: 'screen share' }).id)
    monitor.event('joined', { room: 'r1' })
    await tick(100)
    await closeAll(monitor)
    expect(ids).toEqual(['pc1', 'pc2', 'pc13', 'screenshare', 'screenshare4'])
    // close() says bye last: the collector's analyzer finalises the session without waiting for it to idle.
    expect(events('_').map((e) => [e.name, e.data])).toEqual([
      ['custom.joined', { room: 'r1' }],
      ['bye', undefined],
    ])
  })

  it('says bye when the page goes away (pagehide), and records visibility changes as they are', async () => {
    // The window and document as EventTargets (Node has neither); sendBeacon is absent, so frames go by socket.
    const win = new EventTarget()
    const doc = Object.assign(new EventTarget(), { visibilityState: 'visible' })
    vi.stubGlobal('addEventListener', win.addEventListener.bind(win))
    vi.stubGlobal('removeEventListener', win.removeEventListener.bind(win))
    vi.stubGlobal('document', doc)
    const monitor = createMonitor(options())
    await tick(100)
    doc.visibilityState = 'hidden'
    doc.dispatchEvent(new Event('visibilitychange'))
    win.dispatchEvent(new Event('pagehide'))
    await tick(100)
    expect(events('_').map((e) => [e.name, e.data])).toEqual([
      ['visibilitychange', { state: 'hidden' }],
      ['bye', { state: 'hidden' }],
    ])
    await closeAll(monitor)
  })

  it('wraps RTCPeerConnection once for every monitor, keeping instanceof and static methods', async () => {
    vi.stubGlobal('RTCPeerConnection', FakePeerConnection)
    const failure = Object.assign(new Error('Permission denied'), { name: 'NotAllowedError' })
    const mediaDevices = { getUserMedia: () => Promise.reject(failure) }
    vi.stubGlobal('navigator', { mediaDevices })
    const a = createMonitor(options({ peer: 'a' }))
    const b = createMonitor(options({ peer: 'b' }))
    a.wrapGlobal()
    a.wrapGlobal()
    b.wrapGlobal()
    const Wrapped = globalThis.RTCPeerConnection as unknown as typeof FakePeerConnection
    expect(Object.getPrototypeOf(Wrapped)).toBe(FakePeerConnection)
    const pc = new Wrapped()
    expect(pc).toBeInstanceOf(FakePeerConnection)
    expect(pc).toBeInstanceOf(Wrapped)
    expect(Wrapped.generateCertificate()).toBe('certificate')
    await expect(mediaDevices.getUserMedia()).rejects.toBe(failure)
    await tick(1500)
    // Both monitors poll the same pc: one getStats each per interval (plus the first at once).
    expect(pc.calls).toBe(4)
    await closeAll(a, b)

    const gum = events('_').filter((e) => e.name === 'getUserMedia.error')
    expect(gum.map((e) => e.data)).toEqual([
      { name: 'NotAllowedError', message: 'Permission denied' },
      { name: 'NotAllowedError', message: 'Permission denied' },
    ])
  })
})
