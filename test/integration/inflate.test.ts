// The collector's synchronous inflate (collector/inflate-sync.ts), installed into ws as the collector
// does, against ws's own behaviour (test/helpers/inflate-case.ts) and the per-socket message limit.
// Each test file runs in its own process (vitest.config.ts), so the mode chosen here is this file's.
import { expect, it } from 'vitest'
import { installOneTripInflate } from '../../collector/inflate.ts'
import { inflateCases } from '../helpers/inflate-case.ts'
import { messageLimitCases } from '../helpers/message-limit-case.ts'

it('installs the synchronous inflate on this Node', () => {
  expect(installOneTripInflate()).toEqual({ installed: true, mode: 'sync' })
})

inflateCases('synchronous inflate')
messageLimitCases('the synchronous inflate')
