import { defineConfig } from 'vitest/config'

// Each test file runs in its own forked process: chDB binds one data directory per process.
export default defineConfig({
  test: {
    pool: 'forks',
    include: ['test/**/*.test.ts', 'sdk/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    maxWorkers: 2,
  },
})
