// The ingest gate bounds the memory of bodies read before their hello is authenticated (SECURITY.md):
// reservations never exceed the budget, waiters are served in order, a full queue refuses at once.
import { describe, expect, it } from 'vitest'
import { Gate } from '../../collector/gate.ts'

describe('Gate', () => {
  it('admits small reservations side by side and queues what does not fit', async () => {
    const g = new Gate(100, 10)
    const admitted: string[] = []
    for (let i = 0; i < 20; i++) expect(await g.acquire(5)).toBe(true)
    const big = g.acquire(50).then(() => admitted.push('big'))
    const small = g.acquire(1).then(() => admitted.push('small'))
    await Promise.resolve()
    expect(admitted).toEqual([])
    for (let i = 0; i < 20; i++) g.release(5)
    await Promise.all([big, small])
    // In arrival order: the small one does not overtake the big one that waited first.
    expect(admitted).toEqual(['big', 'small'])
  })

  it('caps a reservation at the budget and refuses at once when the queue is full', async () => {
    const g = new Gate(10, 1)
    expect(await g.acquire(1e9)).toBe(true)
    const waiting = g.acquire(1)
    expect(await g.acquire(1)).toBe(false)
    g.release(1e9)
    expect(await waiting).toBe(true)
  })
})
