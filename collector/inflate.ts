// permessage-deflate inflation on the main thread with the socket's kept context (collector/inflate-sync.ts),
// or, where this Node's zlib lacks the internals for it, in one libuv pool round trip per message instead
// of ws's three.
//
// Synchronous (issue 14): a message of ~2 KiB inflates in a few µs, while each pool round trip costs a
// hand-off to another thread and back, which on a collector pinned to one core is a context switch each
// way: 42 → 20–25 µs of CPU per message at 2,000 messages/s (`npm run bench -- hotpath`, bench/RESULTS.md).
// A message is at most the socket's payload limit, so the main thread is never held for long; the answer
// to ws is still given asynchronously (a microtask), as ws's receiver expects.
//
// The one-trip inflate:
// ws (lib/permessage-deflate.js, `_decompress`) inflates a message by writing the data, writing the
// RFC 7692 trailer and flushing: three writes, each a hand-off to the libuv pool and back. Under load the
// hand-offs, not the inflating, are the cost: the collector's main thread spent a quarter of its samples
// queueing them (bench/RESULTS.md). Written as one chunk with Z_SYNC_FLUSH as the stream's flush mode,
// the same bytes inflate in one trip: 145 → 62 µs of CPU per message at 1,000 messages/s (`npm run bench
// -- hotpath`). Everything else is ws's own behaviour: one inflater per socket with the context kept
// between messages (reset on `client_no_context_takeover`), the negotiated window, the payload limit
// (1009) and corrupt data (1007). Like ws's `inflateOnData`, the limit is checked on every inflated chunk:
// the moment a message's inflated bytes cross it, the inflater is closed and the message refused, so a
// deflate bomb (a few hundred KiB on the wire, gigabytes inflated) costs at most the limit plus one
// zlib chunk (16 KiB), never the whole inflated message.
//
// ws offers no hook for this, so the method is replaced on ws's PerMessageDeflate prototype. The
// replacement is installed only on the ws version it was written against (checked by shape and version);
// on any other, ws keeps its own and the collector logs that it did.
import { createRequire } from 'node:module'
import { dirname, join } from 'node:path'
import { constants, createInflateRaw } from 'node:zlib'
import type { InflateRaw } from 'node:zlib'
import { createSyncInflater, inflateSync, supportsSyncInflate } from './inflate-sync.ts'

type Callback = (err: Error | null, data?: Buffer) => void

interface PerMessageDeflate {
  _inflate: InflateRaw | null
  _isServer: boolean
  _maxPayload: number
  _options: { zlibInflateOptions?: object }
  params: Record<string, unknown>
  _decompress(data: Buffer, fin: boolean, callback: Callback): void
}

const TRAILER = Buffer.from([0x00, 0x00, 0xff, 0xff])

/** The window the peer compresses with: the negotiated `<endpoint>_max_window_bits`, else zlib's default. */
function windowBits(pmd: PerMessageDeflate, endpoint: string): number {
  const bits = pmd.params[`${endpoint}_max_window_bits`]
  return typeof bits === 'number' ? bits : constants.Z_DEFAULT_WINDOWBITS
}

/** ws's own error for a message past the payload limit: the socket closes with 1009. */
function tooBigError(kStatusCode: symbol): RangeError {
  return Object.assign(new RangeError('Max payload size exceeded'), {
    code: 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH',
    [kStatusCode]: 1009,
  })
}

/** Per-inflater state of the message being inflated (one at a time per socket: ws serialises them). */
interface Pending {
  chunks: Buffer[]
  length: number
  /** The socket's payload limit when the message started (0: none); read once, as ws does per message. */
  max: number
  error: Error | undefined
  /** Answers ws once, whichever comes first: the write's callback or a zlib error. */
  finish: () => void
}
const pending = new WeakMap<InflateRaw, Pending>()

function onData(this: InflateRaw, chunk: Buffer): void {
  const p = pending.get(this)
  if (!p || p.error) return
  p.length += chunk.length
  if (p.max > 0 && p.length > p.max) {
    // Over the limit: drop what was inflated and answer now; finish() closes the inflater, so zlib
    // stops at this chunk instead of inflating the rest of the message (ws's inflateOnData resets it).
    p.chunks = []
    p.finish()
    return
  }
  p.chunks.push(chunk)
}

function onError(this: InflateRaw, err: Error): void {
  const p = pending.get(this)
  if (!p) return
  p.error ??= err
  p.finish()
}

export type InflatePatch =
  { installed: true; mode: 'sync' | 'one-trip' } | { installed: false; reason: string }

let result: InflatePatch | undefined
let forceOneTrip = false

/** Keeps ws's own inflate in this process (benchmarks measure the two side by side). Call before install. */
export function keepWsInflate(): void {
  result ??= { installed: false, reason: 'ws inflate kept on purpose' }
}

/** Uses the one-round-trip inflate even where the synchronous one works (tests, benchmarks). Call before install. */
export function keepOneTripInflate(): void {
  forceOneTrip = true
}

/**
 * Installs the collector's inflate into ws, once per process: synchronous on a kept context where this
 * Node allows it, else one pool round trip per message. Never throws.
 */
export function installOneTripInflate(): InflatePatch {
  if (result) return result
  try {
    const require = createRequire(import.meta.url)
    // ws exports only its entry point; the internals are loaded by path, so they are the very modules
    // (same cache entries) the server uses.
    const wsDir = dirname(require.resolve('ws'))
    const version = (require(join(wsDir, 'package.json')) as { version: string }).version
    const { kStatusCode } = require(join(wsDir, 'lib', 'constants.js')) as { kStatusCode: symbol }
    const PMD = require(join(wsDir, 'lib', 'permessage-deflate.js')) as { prototype: PerMessageDeflate }
    if (!/^8\./.test(version)) return (result = { installed: false, reason: `ws ${version} is not 8.x` })
    if (typeof PMD.prototype._decompress !== 'function' || typeof kStatusCode !== 'symbol') {
      return (result = { installed: false, reason: `ws ${version} has no _decompress to replace` })
    }
    if (!forceOneTrip && supportsSyncInflate()) {
      PMD.prototype._decompress = syncDecompress(kStatusCode)
      return (result = { installed: true, mode: 'sync' })
    }
    PMD.prototype._decompress = function decompress(data, fin, callback) {
      const endpoint = this._isServer ? 'client' : 'server'
      let inflate = this._inflate
      if (!inflate) {
        inflate = createInflateRaw({
          ...this._options.zlibInflateOptions,
          windowBits: windowBits(this, endpoint),
          flush: constants.Z_SYNC_FLUSH,
        })
        inflate.on('data', onData)
        inflate.on('error', onError)
        this._inflate = inflate
      }
      const z = inflate
      let answered = false
      const p: Pending = {
        chunks: [],
        length: 0,
        max: this._maxPayload,
        error: undefined,
        finish: () => {},
      }
      p.finish = () => {
        if (answered) return
        answered = true
        // ws's cleanup() closed the inflater while it worked (the socket went away): report, don't use it.
        if (this._inflate !== z) {
          callback(new Error('the inflate stream was closed while data was being processed'))
          return
        }
        if (!p.error && p.max > 0 && p.length > p.max) {
          p.error = tooBigError(kStatusCode)
        }
        if (p.error) {
          const err = p.error as Error & { [kStatusCode]?: number }
          err[kStatusCode] ??= 1007
          pending.delete(z)
          z.close()
          this._inflate = null
          callback(err)
          return
        }
        const out = p.chunks.length === 1 ? (p.chunks[0] as Buffer) : Buffer.concat(p.chunks, p.length)
        if (z.readableEnded) {
          z.close()
          this._inflate = null
        } else if (fin && this.params[`${endpoint}_no_context_takeover`]) {
          z.reset()
        }
        callback(null, out)
      }
      pending.set(z, p)
      z.write(fin ? Buffer.concat([data, TRAILER]) : data, (err) => {
        if (err) p.error ??= err
        p.finish()
      })
    }
    return (result = { installed: true, mode: 'one-trip' })
  } catch (err) {
    return (result = { installed: false, reason: (err as Error).message })
  }
}

/**
 * ws's `_decompress` inflating synchronously on the socket's kept context (collector/inflate-sync.ts),
 * with ws's own outcomes: the message, 1009 past the payload limit (checked as zlib produces output, so
 * a deflate bomb stops at the limit), 1007 with zlib's error on corrupt data. The callback runs in a
 * microtask: ws's receiver, which called this from its parsing loop, must see the message as pending
 * first (a synchronous answer would re-enter the loop and complete the socket write twice).
 */
function syncDecompress(kStatusCode: symbol): PerMessageDeflate['_decompress'] {
  return function decompress(this: PerMessageDeflate, data, fin, callback) {
    const endpoint = this._isServer ? 'client' : 'server'
    let z = this._inflate
    if (!z) {
      z = createSyncInflater(windowBits(this, endpoint))
      this._inflate = z
    }
    const res = inflateSync(z, fin ? Buffer.concat([data, TRAILER]) : data, this._maxPayload)
    if (!res.ok) {
      z.close()
      this._inflate = null
      const err = res.tooBig ? tooBigError(kStatusCode) : Object.assign(res.error, { [kStatusCode]: 1007 })
      queueMicrotask(() => callback(err))
      return
    }
    if (res.ended) {
      z.close()
      this._inflate = null
    } else if (fin && this.params[`${endpoint}_no_context_takeover`]) z.reset()
    const out = res.data
    queueMicrotask(() => callback(null, out))
  }
}
