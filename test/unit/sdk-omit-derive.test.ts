// Guards the collector's default field filter (VERBOSE_FIELDS, sent as `welcome.omit`): leaving those
// fields out must not change one derived value. Each real report series goes through the SDK's outbox
// twice, with every field and with the default filter, each frame as JSON; the collector's decode
// (parts joined, applyDelta, then deriveSecond, as collector/session.ts does) must give the same rows,
// second by second.
import { describe, expect, it } from 'vitest'
import { applyDelta } from '../../core/delta.ts'
import type { StatsState } from '../../core/delta.ts'
import { deriveSecond } from '../../core/derive.ts'
import type { Derived, Snapshot } from '../../core/derive.ts'
import { VERBOSE_FIELDS } from '../../core/protocol.ts'
import type { StatsFrame } from '../../core/protocol.ts'
import { createFrameParts } from '../../collector/frame-parts.ts'
import { createOutbox } from '../../sdk/src/outbox.ts'
import { loadRecorded } from '../helpers/recorded.ts'
import { sfuReports } from '../helpers/sfu-reports.ts'

type Stat = { id: string; timestamp?: number; [k: string]: unknown }

const END = 1_900_000_000_000
const OMIT = new RegExp(VERBOSE_FIELDS)

/** The frames the SDK sends for `reports` with filter `omit`, and what the collector derives from them. */
function sendAndDerive(reports: Stat[][], omit?: RegExp): { texts: string[]; derived: Derived[] } {
  const texts: string[] = []
  const box = createOutbox(Infinity, Infinity, () => {})
  box.sink = (t) => texts.push(...t)
  if (omit) box.skip = omit
  for (const r of reports) box.stats('pc1', new Map(r.map((s) => [s.id, s])))
  const join = createFrameParts(Infinity, (code) => expect.fail(code))
  const state: StatsState = new Map()
  let snap: Snapshot | undefined
  const derived: Derived[] = []
  for (const text of texts) {
    const frame = join({ frame: JSON.parse(text) as StatsFrame, text })?.frame as StatsFrame | undefined
    if (!frame) continue
    const d = deriveSecond(applyDelta(state, frame), frame.ts, snap)
    snap = d.snapshot
    derived.push(d)
  }
  return { texts, derived }
}

const series: [string, () => Stat[][]][] = [
  ['libwebrtc sender', () => loadRecorded('sender-30s.json', END)],
  ['libwebrtc receiver', () => loadRecorded('receiver-30s.json', END)],
  ['libwebrtc receiver with freezes', () => loadRecorded('receiver-freeze-30s.json', END)],
  ['Firefox sender', () => loadRecorded('firefox/sender-30s.json', END)],
  ['Firefox receiver', () => loadRecorded('firefox/receiver-30s.json', END)],
  ['receiving pc of 25 remote participants', () => sfuReports(25, 10)],
]

describe('the default field filter', () => {
  for (const [name, load] of series) {
    it(`changes no derived value of the ${name}, and leaves fields out`, () => {
      const reports = load()
      const full = sendAndDerive(reports)
      const lean = sendAndDerive(reports, OMIT)
      // The series has fields the filter names, or the comparison proves nothing.
      const names = new Set(reports.flatMap((r) => r.flatMap((s) => Object.keys(s))))
      expect([...names].filter((k) => OMIT.test(k)).length).toBeGreaterThan(3)
      expect(lean.derived.length).toBe(reports.length)
      expect(lean.derived.map((d) => [d.streams, d.transport, d.implausible])).toEqual(
        full.derived.map((d) => [d.streams, d.transport, d.implausible]),
      )
      expect(lean.derived.flatMap((d) => d.streams).length).toBeGreaterThan(reports.length)
      for (const text of lean.texts)
        for (const k of names) if (OMIT.test(k)) expect(text).not.toContain(`"${k}"`)
      expect(lean.texts.join().length).toBeLessThan(full.texts.join().length)
    })
  }

  it('keeps every field derivation reads (a field the filter would wrongly name)', () => {
    // Read by core/derive.ts; names that look like the verbose ones but are not.
    for (const k of [
      'totalPausesDuration',
      'totalFreezesDuration',
      'totalRoundTripTime',
      'roundTripTimeMeasurements',
      'totalSamplesReceived',
      'jitterBufferDelay',
      'jitterBufferEmittedCount',
      'framesDecoded',
      'framesSent',
      'framesEncoded',
      'framesDropped',
      'framesPerSecond',
      'currentRoundTripTime',
      'responsesReceived',
      'totalInterruptionDuration',
    ])
      expect(OMIT.test(k), k).toBe(false)
  })
})
