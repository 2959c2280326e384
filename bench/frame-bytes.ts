// Where the bytes of an SDK's steady delta frames go: per stats type and per field, JSON characters and
// the marginal cost on the wire. Input: a file written by `npm run bench -- sdk-browser --frames-dir=<dir>`
// (every frame a pc sent, one JSON text a line, `steady` before the steady state's first).
// Usage: npx tsx bench/frame-bytes.ts <dir>/current-N25-recv.jsonl [top fields, default 30] [omit]
// (`omit`, a RegExp source of field names as in `welcome.omit`: also what the frames cost without them.)
//
// The wire cost of a field is measured by leaving it out: the steady frames are compressed as the
// browser sends them (permessage-deflate, one context for the whole stream, a 4 KiB window as the
// collector asks of Chromium: collector/deflate-offer.ts, RFC 7692), once as sent and once without the
// field in every frame; the difference is what the field costs. Character counts alone mislead: a
// field name repeated in every frame compresses to almost nothing, a counter's new digits do not.
import { readFileSync } from 'node:fs'
import { constants, createDeflateRaw } from 'node:zlib'
import type { StatsFrame } from '../core/protocol.ts'

type Frame = StatsFrame | { t: 'event' | 'hello' }

/** Compressed bytes of `texts` sent one after another through one deflate context (sync flush each). */
async function deflatedBytes(texts: string[], windowBits = 12): Promise<number> {
  const z = createDeflateRaw({ windowBits, memLevel: 8 })
  let n = 0
  z.on('data', (b: Buffer) => (n += b.length))
  for (const t of texts) {
    z.write(t)
    await new Promise<void>((resolve) => z.flush(constants.Z_SYNC_FLUSH, () => resolve()))
    // RFC 7692 §7.2.1: the sender drops the flush's trailing 00 00 ff ff.
    n -= 4
  }
  z.close()
  return n
}

/** The frame without what `drop` says (per stats id and field name; field `*` drops the whole object). */
const without = (f: StatsFrame, drop: (id: string, k: string) => boolean): StatsFrame => {
  const d: StatsFrame['d'] = {}
  for (const [id, patch] of Object.entries(f.d)) {
    if (drop(id, '*')) continue
    const kept = Object.fromEntries(Object.entries(patch).filter(([k]) => !drop(id, k)))
    if (Object.keys(kept).length) d[id] = kept
  }
  return { ...f, d }
}

async function main(): Promise<void> {
  const [file, top = '30', omit] = process.argv.slice(2)
  if (!file) throw new Error('usage: npx tsx bench/frame-bytes.ts <frames.jsonl> [top]')
  const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean)
  const at = lines.indexOf('steady')
  const types = new Map<string, string>()
  const steady: StatsFrame[] = []
  lines.forEach((line, i) => {
    if (line == 'steady') return
    const f = JSON.parse(line) as Frame
    if (f.t != 'stats') return
    for (const [id, patch] of Object.entries(f.d))
      if (typeof patch.type == 'string') types.set(id, patch.type)
    if (i > at && !f.key && !f.more) steady.push(f)
  })
  if (!steady.length) throw new Error(`${file}: no steady delta frames`)
  const typeOf = (id: string): string => types.get(id) ?? '?'
  const texts = steady.map((f) => JSON.stringify(f))
  const wire = await deflatedBytes(texts)
  const chars = texts.join('').length
  const perFrame = (n: number): string => (n / steady.length).toFixed(0)
  console.log(
    `${file}: ${steady.length} steady delta frames, ${perFrame(chars)} JSON chars and ${perFrame(wire)} B deflated per frame`,
  )

  // Per type: objects in the frame, chars, and the wire cost of leaving the type's patches out.
  const byType = new Map<string, { objects: number; chars: number }>()
  const byField = new Map<string, { type: string; k: string; n: number; chars: number }>()
  for (const f of steady)
    for (const [id, patch] of Object.entries(f.d)) {
      const type = typeOf(id)
      const t = byType.get(type) ?? byType.set(type, { objects: 0, chars: 0 }).get(type)!
      t.objects++
      t.chars += JSON.stringify({ [id]: patch }).length - 1
      for (const [k, v] of Object.entries(patch)) {
        const key = `${type} ${k}`
        const e = byField.get(key) ?? byField.set(key, { type, k, n: 0, chars: 0 }).get(key)!
        e.n++
        e.chars += JSON.stringify({ [k]: v }).length - 1
      }
    }
  const objectsOf = new Map<string, number>()
  for (const type of types.values()) objectsOf.set(type, (objectsOf.get(type) ?? 0) + 1)
  console.log(
    '\ntype: objects in the state, patches per frame, chars per frame, wire B per frame if left out',
  )
  for (const [type, t] of [...byType].sort((a, b) => b[1].chars - a[1].chars)) {
    const cut =
      wire - (await deflatedBytes(steady.map((f) => JSON.stringify(without(f, (id) => typeOf(id) == type)))))
    console.log(
      `  ${type}: ${objectsOf.get(type) ?? 0}, ${(t.objects / steady.length).toFixed(1)}, ${perFrame(t.chars)}, ${perFrame(cut)}`,
    )
  }
  const envelope = steady.map((f) => JSON.stringify({ ...f, d: {} }))
  console.log(
    `  (envelope: ${perFrame(envelope.join('').length)} chars, ${perFrame(await deflatedBytes(envelope))} B alone)`,
  )
  if (omit) {
    const re = new RegExp(omit)
    const lean = await deflatedBytes(steady.map((f) => JSON.stringify(without(f, (_, k) => re.test(k)))))
    console.log(
      `  without /${omit}/: ${perFrame(lean)} B deflated per frame (${perFrame(wire - lean)} B less)`,
    )
  }

  console.log(
    `\nfield (type): objects of the type sending it per frame, chars per frame, wire B per frame if left out`,
  )
  const fields = [...byField.values()].sort((a, b) => b.chars - a.chars).slice(0, Number(top))
  for (const e of fields) {
    const cut =
      wire -
      (await deflatedBytes(
        steady.map((f) => JSON.stringify(without(f, (id, k) => k == e.k && typeOf(id) == e.type))),
      ))
    console.log(
      `  ${e.k} (${e.type}): ${(e.n / steady.length).toFixed(1)}, ${perFrame(e.chars)}, ${perFrame(cut)}`,
    )
  }
}

await main()
