// ws's own permessage-deflate inflate, the fallback when collector/inflate.ts cannot install its one-trip
// replacement (another ws version): the collector's lowered pre-hello message limit must hold there too.
// Each test file runs in its own process (vitest.config.ts), so ws stays unpatched here.
import { expect, it } from 'vitest'
import { installOneTripInflate, keepWsInflate } from '../../collector/inflate.ts'
import { messageLimitCases } from '../helpers/message-limit-case.ts'

keepWsInflate()

it('keeps ws inflating its own way', () => {
  expect(installOneTripInflate()).toEqual({ installed: false, reason: 'ws inflate kept on purpose' })
})

messageLimitCases("ws's own inflate")
