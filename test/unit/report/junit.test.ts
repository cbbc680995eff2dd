import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderJunit } from '../../../src/report/junit.ts';
import { INVARIANTS as ALL_INVARIANTS, type Report } from '../../../src/report/model.ts';

// Opt-in invariants (delayed, the clock checks) have a row only in runs that check them; these fixtures do not.
const INVARIANTS = ALL_INVARIANTS.filter((i) => !i.optIn);

import { writeIndex, writeReport } from '../../../src/report/write.ts';
import { fixtureReport, passingReport } from '../../helpers/report-fixture.ts';

interface TestCase {
  '@_classname': string;
  '@_name': string;
  failure?: { '@_message': string; '@_type': string; '#text'?: string };
  error?: { '@_message': string; '@_type': string };
  skipped?: { '@_message': string } | '';
}
interface Suite {
  '@_name': string;
  '@_tests': string;
  '@_failures': string;
  '@_errors': string;
  '@_skipped': string;
  testcase: TestCase[];
}

const parser = new XMLParser({
  ignoreAttributes: false,
  isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
});
const parse = (xml: string) => parser.parse(xml) as { testsuites: { testsuite: Suite[]; '@_tests': string } };

/** The test cases a report.json implies, independently of the renderer's own helpers. */
function expectedCases(r: Report) {
  const countThresholds = new Set<string>(INVARIANTS.map((i) => i.expectKey));
  return {
    // Opt-in invariants (the clock checks) are cases only where the run judged them.
    invariants: INVARIANTS.filter((i) => !i.optIn || r.thresholds.some((t) => t.name === i.expectKey)).map(
      (i) => i.kind,
    ),
    thresholds: r.thresholds.filter((t) => !countThresholds.has(t.name)).map((t) => t.name),
    failingInvariants: INVARIANTS.filter((i) => {
      const t = r.thresholds.find((x) => x.name === i.expectKey);
      return t ? !t.pass : r.findings.some((f) => f.kind === i.kind);
    }).map((i) => i.kind),
    failingThresholds: r.thresholds.filter((t) => !countThresholds.has(t.name) && !t.pass).map((t) => t.name),
  };
}

describe('junit.xml', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-junit-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  it('has one testcase per invariant and per threshold, failing exactly where report.json fails', async () => {
    const r = fixtureReport();
    r.thresholds.push({ name: 'latency.p50', expected: '< 2ms', actual: 3.6, pass: false });
    await writeReport(dir, r);
    const json = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8')) as Report;
    const doc = parse(await readFile(path.join(dir, 'junit.xml'), 'utf8'));
    expect(doc.testsuites.testsuite).toHaveLength(1);
    const suite = doc.testsuites.testsuite[0] as Suite;
    expect(suite['@_name']).toBe(json.scenario.name);
    const exp = expectedCases(json);

    const inv = suite.testcase.filter((c) => c['@_classname'] === `${json.scenario.name}.invariants`);
    const kindOf = (c: TestCase) => c['@_name'].split(':')[0];
    expect(inv.map(kindOf)).toEqual([...exp.invariants, 'canaries']);
    expect(inv.filter((c) => c.failure).map(kindOf)).toEqual(exp.failingInvariants);
    expect(exp.failingInvariants).toEqual(['missing', 'partial', 'broken-chain']);

    const thr = suite.testcase.filter((c) => c['@_classname'] === `${json.scenario.name}.thresholds`);
    expect(thr.map((c) => c['@_name'].split(' ')[0])).toEqual(exp.thresholds);
    expect(thr.filter((c) => c.failure).map((c) => c['@_name'].split(' ')[0])).toEqual(exp.failingThresholds);

    // failures carry the finding summary and evidence
    const missing = inv.find((c) => kindOf(c) === 'missing');
    expect(missing?.failure?.['@_message']).toBe('64 missing findings (allowed 0)');
    const firstMissing = json.findings.find((f) => f.kind === 'missing');
    expect(missing?.failure?.['#text']).toContain(firstMissing?.eventId);
    expect(missing?.failure?.['#text']).toContain('acked at 9.81 s, 190 ms before f1 db-down kill (db)');
    // properties carry the flaws, seed and runtime (issue 14)
    const props = Object.fromEntries(
      (
        suite as unknown as { properties: { property: { '@_name': string; '@_value': string }[] } }
      ).properties.property.map((p) => [p['@_name'], p['@_value']]),
    );
    expect(props).toMatchObject({ seed: '42', runtime: 'local', flaws: 'async-commit' });
    expect(missing?.failure?.['#text']).toMatch(/and 44 more in report.json/);

    // the verdict is its own testcase, and the counts on the suite add up
    const verdict = suite.testcase.find((c) => c['@_classname'] === `${json.scenario.name}.run`);
    expect(verdict?.failure?.['@_message']).toMatch(/^verdict: fail; 64 acknowledged events/);
    const failures = suite.testcase.filter((c) => c.failure).length;
    expect(Number(suite['@_failures'])).toBe(failures);
    expect(Number(suite['@_tests'])).toBe(suite.testcase.length);
    expect(failures).toBe(exp.failingInvariants.length + exp.failingThresholds.length + 1);
  });

  it('passes everything on a clean run', () => {
    const suite = parse(renderJunit(passingReport())).testsuites.testsuite[0] as Suite;
    expect(suite.testcase.filter((c) => c.failure || c.error || c.skipped !== undefined)).toEqual([]);
    expect(suite['@_failures']).toBe('0');
  });

  it('marks checks that could not run as skipped, and an unknown verdict as an error', () => {
    const r = passingReport();
    r.verdict = { status: 'unknown', reasons: ['no write was acknowledged'] };
    r.checkpoints = { count: 0, verified: 0 };
    r.scan = {
      ...(r.scan as NonNullable<Report['scan']>),
      checksRun: [{ name: 'checkpoint', ran: false, reason: 'checkpoints are off' }],
    };
    r.canaries = null;
    const suite = parse(renderJunit(r)).testsuites.testsuite[0] as Suite;
    const skipped = suite.testcase.filter((c) => c.skipped !== undefined);
    expect(skipped.map((c) => c['@_name'].split(':')[0])).toEqual(['rollback', 'canaries']);
    expect(suite.testcase.find((c) => c['@_name'] === 'verdict')?.error?.['@_type']).toBe('inconclusive');
    expect(suite['@_errors']).toBe('1');
    expect(suite['@_skipped']).toBe('2');
  });

  it('reports an interrupted run as an error, with every invariant skipped when the scan never ran', () => {
    const r = passingReport();
    r.interrupted = true;
    r.scan = null;
    r.verdict = { status: 'unknown', reasons: ['interrupted before the scan'] };
    const suite = parse(renderJunit(r)).testsuites.testsuite[0] as Suite;
    const run = suite.testcase.find((c) => c['@_classname'].endsWith('.run'));
    expect(run?.['@_name']).toBe('verdict (run interrupted)');
    expect(run?.error?.['@_type']).toBe('interrupted');
    expect(
      suite.testcase.filter((c) => c['@_classname'].endsWith('.invariants') && c.skipped !== undefined),
    ).toHaveLength(INVARIANTS.filter((i) => !i.optIn).length);
  });

  it('escapes what it carries: a finding message with markup stays text', () => {
    const r = fixtureReport();
    (r.findings[0] as { message: string }).message = 'bad <payload> & "quotes" ]]>';
    const xml = renderJunit(r);
    const suite = parse(xml).testsuites.testsuite[0] as Suite;
    expect(suite.testcase[0]?.failure?.['#text']).toContain('bad <payload> & "quotes" ]]>');
  });

  it('combines several scenarios into one file with one testsuite each (writeIndex)', async () => {
    const a = fixtureReport();
    const b = passingReport();
    b.scenario = { ...b.scenario, name: 'quickstart' };
    await writeReport(path.join(dir, 'a'), a);
    await writeReport(path.join(dir, 'b'), b);
    const files = await writeIndex(dir, [
      { report: a, dir: path.join(dir, 'a') },
      { report: b, dir: path.join(dir, 'b') },
    ]);
    expect(files).toEqual(['index.html', 'junit.xml']);
    const doc = parse(await readFile(path.join(dir, 'junit.xml'), 'utf8'));
    expect(doc.testsuites.testsuite.map((s) => s['@_name'])).toEqual(['db-downtime', 'quickstart']);
    const total = doc.testsuites.testsuite.reduce((n, s) => n + s.testcase.length, 0);
    expect(Number(doc.testsuites['@_tests'])).toBe(total);
    const index = await readFile(path.join(dir, 'index.html'), 'utf8');
    expect(index).toContain('href="a/report.html"');
    expect(index).toContain('href="b/report.html"');
    expect(index).toMatch(/class="verdict v-fail"/);
  });
});
