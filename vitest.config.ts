import { defineConfig } from 'vitest/config';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

/**
 * The longest files, longest first (measured 2026-12-03: the detection matrix ~235 s of a ~580 s
 * run). On a fresh clone vitest has no timings and starts the largest files first; the matrix
 * starting late would leave one worker idle at the end while it runs alone.
 */
const LONGEST = [
  'test/integration/detection-matrix.test.ts',
  'test/integration/pyledger-external.test.ts',
  'test/integration/verdict-evidence.test.ts',
  'test/integration/scan-range-merge.test.ts',
];

class LongestFirst extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const rank = (f: TestSpecification) => {
      const i = LONGEST.findIndex((l) => f.moduleId.endsWith(l));
      return i === -1 ? LONGEST.length : i;
    };
    const sorted = await super.sort(files);
    return sorted
      .map((f, i) => ({ f, i }))
      .sort((a, b) => rank(a.f) - rank(b.f) || a.i - b.i)
      .map((x) => x.f);
  }
}

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
    sequence: { sequencer: LongestFirst },
  },
});
