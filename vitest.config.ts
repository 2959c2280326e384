import { defineConfig } from 'vitest/config'

// Suites that run real-time media, browsers, child processes or timed faults. They measure what a call
// really did, so they must not starve each other of CPU on a 2-core machine: they run one file at a
// time, after the fast suites.
const realtime = [
  'test/integration/wrtc-call.test.ts',
  'test/integration/sdk-wrtc.test.ts',
  'test/integration/sdk-resilience.test.ts',
  'test/integration/analyzer-wrtc.test.ts',
  'test/integration/analyzer-failed.test.ts',
  'test/integration/faults-*.test.ts',
  'test/integration/security-amplification.test.ts',
  'test/integration/package-install.test.ts',
  'test/fuzz/**/*.test.ts',
  'test/e2e/**/*.test.ts',
]

// Every file runs in its own forked process: chDB binds one data directory per process.
export default defineConfig({
  test: {
    pool: 'forks',
    testTimeout: 30_000,
    hookTimeout: 60_000,
    projects: [
      {
        extends: true,
        test: {
          name: 'fast',
          include: ['test/**/*.test.ts', 'sdk/**/*.test.ts'],
          exclude: realtime,
          maxWorkers: 2,
          sequence: { groupOrder: 0 },
        },
      },
      {
        extends: true,
        test: {
          name: 'realtime',
          include: realtime,
          maxWorkers: 1,
          fileParallelism: false,
          sequence: { groupOrder: 1 },
        },
      },
    ],
  },
})
