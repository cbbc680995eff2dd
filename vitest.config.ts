import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/unit/**/*.test.ts', 'test/integration/**/*.test.ts', 'src/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 120_000,
    pool: 'forks',
    // Two test files at a time, also on two cores (vitest's default there is one): most of the
    // integration tests wait on faults, timers and child processes, not on the CPU (measured: a
    // full run 1039 s with one, 527 s with two, on the same busy two-core machine).
    maxWorkers: 2,
    minWorkers: 1,
  },
});
