// The one-round-trip inflate, the collector's fallback where Node's zlib lacks the internals of the
// synchronous one: the same cases as ws's own inflate (test/helpers/inflate-case.ts).
import { expect, it } from 'vitest'
import { installOneTripInflate, keepOneTripInflate } from '../../collector/inflate.ts'
import { inflateCases } from '../helpers/inflate-case.ts'
import { messageLimitCases } from '../helpers/message-limit-case.ts'

keepOneTripInflate()

it('installs the one-trip inflate when asked to', () => {
  expect(installOneTripInflate()).toEqual({ installed: true, mode: 'one-trip' })
})

inflateCases('one-round-trip inflate')
messageLimitCases('the one-trip inflate')
