// Synchronous inflation on a kept zlib context: permessage-deflate (RFC 7692) messages inflated on the
// main thread, with no hand-off to libuv's pool.
//
// Node's public zlib API offers a kept context only asynchronously (each write a pool round trip) and
// synchronous inflation only on a fresh context (`inflateRawSync`, which closes it afterwards), so a
// message of a socket that keeps its context (the SDK's deltas share most keys with the frame before)
// cannot be inflated synchronously through it. The round trip is the cost, not the inflating: at 1,000
// messages/s on one core it was 75 µs of CPU per message against ~10 µs of inflating (bench/RESULTS.md,
// issue 14). So this calls the zlib handle's own `writeSync` — the call Node's `processChunkSync` makes
// in a loop, on the handle every zlib stream holds — without the close that follows it there.
//
// Internals are used only when they have the expected shape (`supportsSyncInflate`); otherwise callers
// keep the asynchronous path.
import { constants, createInflateRaw } from 'node:zlib'
import type { InflateRaw } from 'node:zlib'

interface ZlibHandle {
  writeSync(
    flush: number,
    input: Uint8Array,
    inOff: number,
    inLen: number,
    out: Uint8Array,
    outOff: number,
    outLen: number,
  ): void
}

interface ZlibInternals {
  _handle: ZlibHandle | null
  /** [avail_out, avail_in] after the last write (Node's zlib.js `_writeState`). */
  _writeState: Uint32Array
}

// One scratch output buffer for the whole process: inflation is synchronous, so no two messages share it
// at once. 16 KiB (zlib's chunk in Node) holds a typical frame (~2 KiB) in one call; longer output loops,
// and a deflate bomb is stopped at most one chunk past the limit (SECURITY.md).
const scratch = Buffer.allocUnsafe(16 * 1024)

/** A kept inflate context for one socket; `windowBits` is the negotiated client window (8–15). */
export function createSyncInflater(windowBits: number): InflateRaw {
  // chunkSize: the stream's own output buffer is never used here, so keep it minimal (Node's default
  // is 16 KiB per stream, 160 MiB over 10,000 sockets).
  const z = createInflateRaw({ windowBits, chunkSize: constants.Z_MIN_CHUNK })
  // A zlib error destroys the stream, which then emits 'error' on the next tick: it is read from
  // `errored` at once (inflateSync), and this listener keeps the event from being unhandled.
  z.on('error', () => {})
  return z
}

/** Whether this Node's zlib streams have the internals inflateSync uses. */
export function supportsSyncInflate(): boolean {
  try {
    const z = createSyncInflater(15) as unknown as ZlibInternals & InflateRaw
    const ok = typeof z._handle?.writeSync === 'function' && z._writeState instanceof Uint32Array
    z.close()
    return ok
  } catch {
    return false
  }
}

export type SyncInflateResult =
  /** `ended`: the data held a final deflate block and input past it, which the context cannot take. */
  | { ok: true; data: Buffer; ended: boolean }
  | { ok: false; tooBig: true }
  | { ok: false; tooBig: false; error: Error }

/**
 * Inflates `input` (a message's deflate data, RFC 7692 trailer included) on `z`'s kept context with
 * Z_SYNC_FLUSH. Stops as soon as the output passes `max` bytes (0: no limit): a deflate bomb costs at
 * most the limit plus one scratch buffer. After an error or `tooBig` the context is unusable: close it.
 * Never throws.
 */
export function inflateSync(z: InflateRaw, input: Uint8Array, max: number): SyncInflateResult {
  const zi = z as unknown as ZlibInternals & InflateRaw
  const state = zi._writeState
  let inOff = 0
  let inLen = input.length
  let total = 0
  let first: Buffer | undefined
  let rest: Buffer[] | undefined
  for (;;) {
    const handle = zi._handle
    if (!handle) return { ok: false, tooBig: false, error: z.errored ?? new Error('inflater is closed') }
    try {
      handle.writeSync(constants.Z_SYNC_FLUSH, input, inOff, inLen, scratch, 0, scratch.length)
    } catch (err) {
      return { ok: false, tooBig: false, error: err as Error }
    }
    // zlib reports errors (corrupt data) through the stream, which destroys itself before returning.
    if (z.errored || !zi._handle) {
      return { ok: false, tooBig: false, error: z.errored ?? new Error('inflater is closed') }
    }
    const availOut = state[0] as number
    const availIn = state[1] as number
    const have = scratch.length - availOut
    if (have > 0) {
      total += have
      if (max > 0 && total > max) return { ok: false, tooBig: true }
      const out = Buffer.allocUnsafe(have)
      scratch.copy(out, 0, 0, have)
      if (!first) first = out
      else (rest ??= []).push(out)
    }
    inOff += inLen - availIn
    inLen = availIn
    // Output space left over: zlib has consumed the input and flushed all it could — or stopped at the
    // end of a final block with input left (Node's processCallback ends the stream then; so do we).
    if (availOut !== 0) break
  }
  const data = !first ? Buffer.alloc(0) : rest ? Buffer.concat([first, ...rest], total) : first
  return { ok: true, data, ended: inLen > 0 }
}
