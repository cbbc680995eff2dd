/**
 * Issue 13 (interrupts, checked through the binary: SIGINT during the tamper phase): a threshold
 * that was not measured (actual null) is a NOT CHECKED row in the terminal summary, markdown and
 * JUnit, never "FAIL ... 0 findings (allowed 0)".
 */
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import { invariantResults } from '../../../src/report/invariants.ts';
import { renderJunit } from '../../../src/report/junit.ts';
import { renderSummary } from '../../../src/report/terminal/summary.ts';
import { fixtureReport } from '../../helpers/report-fixture.ts';

function interruptedDuringTamper() {
  const r = fixtureReport();
  r.findings = r.findings.filter((f) => f.kind !== 'tamper-undetected');
  r.thresholds = r.thresholds.map((t) =>
    t.name === 'tamperUndetected'
      ? {
          ...t,
          actual: null,
          pass: false,
          note: 'not checked: the scan after the tamper probes did not run to the end',
        }
      : t,
  );
  return r;
}

describe('not-measured thresholds (issue 13, SIGINT during tamper)', () => {
  it('tamper-undetected with actual null: skipped, not fail, in invariants, summary and junit', () => {
    const r = interruptedDuringTamper();
    const row = invariantResults(r).find((i) => i.spec.kind === 'tamper-undetected');
    expect(row?.status).toBe('skipped');
    expect(row?.summary).toMatch(/not checked: the scan after the tamper probes/);
    const summary = renderSummary(r, { color: new Chalk({ level: 0 }) });
    expect(summary).not.toMatch(/tamper-undetected\s*│\s*FAIL/);
    expect(summary).toMatch(/tamper-undetected\s*│\s*NOT CHECKED/);
    const junit = renderJunit(r);
    expect(junit).not.toMatch(/<failure[^>]*type="tamper-undetected"/);
  });
});
