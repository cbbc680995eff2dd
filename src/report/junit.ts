/**
 * junit.xml: one <testsuite> per scenario, one <testcase> per invariant, per threshold that is
 * not a finding count, the verifier's canaries and the verdict. Failures carry the finding
 * summary and evidence, which is what Jenkins, GitLab and GitHub test reporters display.
 */
import { create } from 'xmlbuilder2';
import {
  activeFaultsOf,
  canaryResult,
  formatThresholdActual,
  invariantResults,
  otherThresholds,
  thresholdStatus,
} from './invariants.ts';
import type { RenderOptions } from './json.ts';
import type { Report, ReportFinding } from './model.ts';
import { redactDeep, redactSecrets } from './redact.ts';

type XMLBuilder = ReturnType<typeof create>;

/** Evidence lines per failure: CI test reporters show the message and the start of the body. */
export const JUNIT_EVIDENCE_LINES = 20;

type CaseResult =
  | { kind: 'pass' }
  | { kind: 'failure' | 'error'; message: string; type: string; body: string }
  | { kind: 'skipped'; message: string };

export interface JunitCase {
  classname: string;
  name: string;
  result: CaseResult;
}

function evidence(f: ReportFinding): string {
  const parts = [
    f.eventId !== undefined ? `event ${f.eventId}` : undefined,
    f.seq !== undefined ? `seq ${f.seq}` : undefined,
    f.expected !== undefined ? `expected ${f.expected}` : undefined,
    f.found !== undefined ? `found ${f.found}` : undefined,
  ].filter(Boolean);
  const faults = activeFaultsOf(f);
  const story = f.story
    ? ` (${f.story.text})`
    : faults.length
      ? ` (faults active: ${faults.join('; ')})`
      : '';
  return `- ${f.message}${parts.length ? ` [${parts.join(', ')}]` : ''}${story}`;
}

/** The testcases of one report, in the order they appear in junit.xml. */
export function junitCases(r: Report): JunitCase[] {
  const suite = r.scenario.name;
  const cases: JunitCase[] = [];
  for (const i of invariantResults(r)) {
    const name = `${i.spec.kind}: ${i.spec.title}`;
    const classname = `${suite}.invariants`;
    if (i.status === 'pass') cases.push({ classname, name, result: { kind: 'pass' } });
    else if (i.status === 'skipped')
      cases.push({ classname, name, result: { kind: 'skipped', message: i.summary } });
    else {
      const shown = i.findings.slice(0, JUNIT_EVIDENCE_LINES).map(evidence);
      if (i.findings.length > shown.length)
        shown.push(`... and ${i.findings.length - shown.length} more in report.json`);
      cases.push({
        classname,
        name,
        result: { kind: 'failure', type: i.spec.kind, message: i.summary, body: shown.join('\n') },
      });
    }
  }
  const canary = canaryResult(r);
  const canaryName = 'canaries: the verifier flags every planted defect';
  cases.push({
    classname: `${suite}.invariants`,
    name: canaryName,
    result:
      canary.status === 'pass'
        ? { kind: 'pass' }
        : canary.status === 'skipped'
          ? { kind: 'skipped', message: 'the canary self-check did not run' }
          : { kind: 'failure', type: 'canaries', message: canary.summary, body: canary.summary },
  });
  for (const t of otherThresholds(r)) {
    const message = `${t.name}: expected ${t.expected}, actual ${formatThresholdActual(t)}`;
    cases.push({
      classname: `${suite}.thresholds`,
      name: `${t.name} ${t.expected}`,
      result:
        thresholdStatus(t) === 'pass'
          ? { kind: 'pass' }
          : thresholdStatus(t) === 'skipped'
            ? { kind: 'skipped', message }
            : { kind: 'failure', type: 'threshold', message, body: message },
    });
  }
  const reasons = r.verdict.reasons.join('\n');
  const verdictName = r.interrupted ? 'verdict (run interrupted)' : 'verdict';
  cases.push({
    classname: `${suite}.run`,
    name: verdictName,
    result:
      r.verdict.status === 'pass' && !r.interrupted
        ? { kind: 'pass' }
        : r.verdict.status === 'fail'
          ? {
              kind: 'failure',
              type: 'verdict',
              message: `verdict: fail; ${r.verdict.reasons[0] ?? ''}`.trim(),
              body: reasons,
            }
          : {
              kind: 'error',
              type: r.interrupted ? 'interrupted' : 'inconclusive',
              message: r.interrupted
                ? 'the run was interrupted: the report is partial'
                : `verdict: unknown (no evidence); ${r.verdict.reasons[0] ?? ''}`.trim(),
              body: reasons,
            },
  });
  return cases;
}

function addSuite(
  root: XMLBuilder,
  r: Report,
): { tests: number; failures: number; errors: number; skipped: number } {
  const cases = junitCases(r);
  const n = (k: CaseResult['kind']) => cases.filter((c) => c.result.kind === k).length;
  const totals = { tests: cases.length, failures: n('failure'), errors: n('error'), skipped: n('skipped') };
  const suite = root.ele('testsuite', {
    name: r.scenario.name,
    tests: totals.tests,
    failures: totals.failures,
    errors: totals.errors,
    skipped: totals.skipped,
    time: (r.timings.durationMs / 1000).toFixed(3),
    timestamp: r.timings.startedAt.replace(/Z$/, ''),
  });
  const props = suite.ele('properties');
  const prop = (name: string, value: unknown) => props.ele('property', { name, value: String(value) });
  prop('seed', r.seed);
  prop('runId', r.runId);
  prop('runtime', r.runtime.kind);
  prop('verdict', r.verdict.status);
  prop('interrupted', r.interrupted);
  if (r.scenario.file) prop('scenario', r.scenario.file);
  const flaws = (r.scenario.asRun as { stack?: { flaws?: unknown } }).stack?.flaws;
  prop('flaws', Array.isArray(flaws) && flaws.length ? flaws.join(',') : 'none');
  if (r.overview) prop('subject', r.overview.subject);
  for (const c of cases) {
    const tc = suite.ele('testcase', { classname: c.classname, name: c.name, time: '0' });
    const res = c.result;
    if (res.kind === 'skipped') tc.ele('skipped', { message: res.message });
    else if (res.kind === 'failure' || res.kind === 'error')
      tc.ele(res.kind, { message: res.message, type: res.type }).txt(res.body);
  }
  return totals;
}

/** junit.xml for one report, or the combined file of a multi-scenario run. */
export function renderJunit(reports: Report | Report[], opts: RenderOptions = {}): string {
  const list = (Array.isArray(reports) ? reports : [reports]).map((r) => redactDeep(r, opts.secrets));
  const doc = create({ version: '1.0', encoding: 'UTF-8' });
  const root = doc.ele('testsuites', { name: 'auditchaos' });
  const sum = { tests: 0, failures: 0, errors: 0, skipped: 0 };
  for (const r of list) {
    const t = addSuite(root, r);
    sum.tests += t.tests;
    sum.failures += t.failures;
    sum.errors += t.errors;
    sum.skipped += t.skipped;
  }
  const time = list.reduce((s, r) => s + r.timings.durationMs, 0) / 1000;
  root.att({
    ...Object.fromEntries(Object.entries(sum).map(([k, v]) => [k, String(v)])),
    time: time.toFixed(3),
  });
  return redactSecrets(`${doc.end({ prettyPrint: true })}\n`, opts.secrets);
}
