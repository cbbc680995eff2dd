import { stripVTControlCharacters } from 'node:util';
import { Chalk } from 'chalk';
import { afterEach, describe, expect, it, vi } from 'vitest';
import type { RunEvent } from '../../../src/report/events.ts';
import {
  createJsonLines,
  createPlainLog,
  createQuietSink,
  createTerminalSink,
  createTtyView,
  progressBar,
  renderSummary,
} from '../../../src/report/terminal/index.ts';
import { fixtureReport, passingReport } from '../../helpers/report-fixture.ts';

const ESCAPE = /\u001b\[/;

function fakeStream(isTTY: boolean, columns = 160) {
  const chunks: string[] = [];
  return { chunks, text: () => chunks.join(''), write: (s: string) => chunks.push(s), isTTY, columns };
}

/** A short run as `run` emits it: start, workload with a fault, tamper, a finding, the end. */
function events(): RunEvent[] {
  const report = fixtureReport();
  const stats = (t: number, ok: number, errors: number): RunEvent => ({
    type: 'stats',
    at: 3000 + (t + 1) * 1000,
    t,
    ok,
    errors,
    indeterminate: 0,
    p50: 3.2,
    p99: 41,
    totals: { attempted: (t + 1) * 400, ok: (t + 1) * ok, fail: errors * (t + 1), indeterminate: 0 },
  });
  return [
    {
      type: 'run-started',
      at: 0,
      runId: 'R1',
      scenario: 'db-downtime',
      seed: 42,
      workloadMs: 60_000,
      runtime: 'local',
    },
    { type: 'phase-changed', at: 0, phase: 'stack-up' },
    { type: 'phase-changed', at: 3000, phase: 'workload' },
    stats(0, 398, 0),
    {
      type: 'fault-applied',
      at: 13_004,
      fault: { id: 'f1', kind: 'db-down', target: 'db', plannedFor: 8000 },
    },
    stats(10, 12, 380),
    { type: 'fault-healed', at: 21_120, faultId: 'f1' },
    { type: 'phase-changed', at: 63_000, phase: 'tamper' },
    { type: 'tamper-probed', at: 63_200, probe: report.tamper[1] as never },
    { type: 'phase-changed', at: 64_000, phase: 'scan' },
    { type: 'scan-progress', at: 65_000, entries: 9000, total: 17_711 },
    ...report.findings.slice(0, 6).map((finding): RunEvent => ({ type: 'finding', at: 70_000, finding })),
    {
      type: 'run-finished',
      at: 72_500,
      report,
      reportDir: 'reports/db-downtime-20261121T230000Z',
      exitCode: 1,
    },
  ];
}

afterEach(() => {
  vi.useRealTimers();
});

describe('TTY live view', () => {
  it('redraws phase, elapsed/total, progress bar, rates and active faults in place', () => {
    let now = 1_000_000;
    const stream = fakeStream(true);
    const view = createTtyView({ stream, color: new Chalk({ level: 1 }), now: () => now, refreshMs: 60_000 });
    const evs = events();
    for (const ev of evs.slice(0, 5)) view.handle(ev); // through fault-applied at 13.004 s
    now += 14_500; // wall clock: 14.5 s into the run, 11.5 s into the workload
    const frame = view.frame().map(stripVTControlCharacters);
    expect(frame[0]).toMatch(/▸ workload\s+00:11 \/ 01:00\s+█{5}░{19}\s+19%/);
    expect(frame[1]).toContain('writes 398/s');
    expect(frame[2]).toMatch(/faults: db-down db 6\.5s left/);

    view.handle(evs[5] as RunEvent); // stats in the outage
    expect(view.frame().map(stripVTControlCharacters)[1]).toMatch(/writes 12\/s\s+errors 380\/s/);
    view.handle(evs[6] as RunEvent);
    expect(view.frame().map(stripVTControlCharacters)[2]).toContain('faults: none active');

    const out = stream.text();
    expect(out).toContain('\u001b[?25l'); // cursor hidden while drawing
    expect(out).toMatch(/\u001b\[\d+F\u001b\[J/); // moves up over the last frame and erases it
    expect(stripVTControlCharacters(out)).toMatch(/00:13 fault on\s+f1 db-down db for 8s/); // printed above the live lines
    view.close();
    expect(stream.text().endsWith('\u001b[?25h')).toBe(true);
  });

  it('stays readable on a terminal of unknown or zero width (80 columns assumed)', () => {
    for (const columns of [0, undefined, Number.NaN, 5]) {
      const stream = { ...fakeStream(true), columns };
      const view = createTtyView({ stream, color: new Chalk({ level: 1 }), refreshMs: 60_000 });
      const evs = events();
      for (const ev of evs.slice(0, 6)) view.handle(ev);
      const frame = view.frame().map(stripVTControlCharacters);
      expect(frame[0], String(columns)).toMatch(/^▸ workload\s+\d\d:\d\d \/ 01:00/);
      expect(frame[1]).toMatch(/^ {2}writes \d+\/s/);
      for (const line of frame) expect(line.length).toBeLessThanOrEqual(80);
      for (const ev of evs.slice(6)) view.handle(ev);
      view.close();
      expect(stripVTControlCharacters(stream.text())).toMatch(/│ missing\s+│ FAIL/);
    }
  });

  it('ends with the summary table and the report path, and caps findings it prints', () => {
    const stream = fakeStream(true);
    const view = createTtyView({ stream, color: new Chalk({ level: 1 }), refreshMs: 60_000 });
    for (const ev of events()) view.handle(ev);
    const plain = stripVTControlCharacters(stream.text());
    expect(plain).toContain('further missing findings are in the report');
    expect(plain.match(/finding missing/g)).toHaveLength(3);
    expect(plain).toMatch(/│ missing\s+│ FAIL\s+│ 64 missing findings \(allowed 0\)/);
    expect(plain).toContain('report: reports/db-downtime-20261121T230000Z/report.html');
    expect(plain).toMatch(
      /│ tamper\.delete-triggers-off │ PASS\s+│ expected refused, or detected by the scan, actual accepted, detected/,
    );
    expect(stream.text()).toContain('\u001b[31m'); // red on a colour terminal
    expect(stream.text().endsWith('\u001b[?25h')).toBe(true);
  });

  it('redraws about four times a second while the run goes on', () => {
    vi.useFakeTimers();
    const stream = fakeStream(true);
    const view = createTtyView({ stream, color: new Chalk({ level: 0 }) });
    view.handle(events()[0] as RunEvent);
    const before = stream.chunks.length;
    vi.advanceTimersByTime(1000);
    const frames = stream.chunks.slice(before).filter((c) => c.includes('▸')).length;
    expect(frames).toBeGreaterThanOrEqual(3);
    expect(frames).toBeLessThanOrEqual(5);
    view.close();
    const after = stream.chunks.length;
    vi.advanceTimersByTime(1000);
    expect(stream.chunks.length).toBe(after); // closed: no more redraws
  });

  it('never draws a line wider than the terminal', () => {
    const stream = fakeStream(true, 40);
    const view = createTtyView({ stream, color: new Chalk({ level: 1 }), refreshMs: 60_000 });
    for (const ev of events().slice(0, 6)) view.handle(ev);
    for (const line of view.frame()) expect(stripVTControlCharacters(line).length).toBeLessThan(40);
    view.close();
  });
});

describe('plain CI log', () => {
  it('prints timestamped lines with no escape codes, progress every 5 s, then the summary', () => {
    const stream = fakeStream(false);
    const sink = createPlainLog({ stream, now: () => new Date('2026-11-21T23:00:05.000Z') });
    const evs = events();
    const more: RunEvent[] = Array.from({ length: 10 }, (_, t) => ({
      ...(evs[3] as Extract<RunEvent, { type: 'stats' }>),
      t,
    }));
    for (const ev of [...evs.slice(0, 3), ...more, ...evs.slice(4)]) sink.handle(ev);
    sink.close();
    const out = stream.text();
    expect(out).not.toMatch(ESCAPE);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(
      /^2026-11-21T23:00:05\.000Z db-downtime: run R1, seed 42, workload 01:00, local runtime$/,
    );
    expect(lines.filter((l) => l.includes(' progress ')).length).toBe(2); // t=4 and t=9 of ten seconds
    expect(out).toContain('2026-11-21T23:00:05.000Z tamper delete-triggers-off (sql): accepted DELETE 1');
    expect(out).toContain('2026-11-21T23:00:05.000Z finished: fail, exit code 1');
    expect(out).toContain('report: reports/db-downtime-20261121T230000Z/report.html');
  });

  it('is what createTerminalSink picks off a TTY, even when colour is forced', () => {
    const stream = fakeStream(false);
    const sink = createTerminalSink({ stream, color: new Chalk({ level: 3 }) });
    for (const ev of events()) sink.handle(ev);
    sink.close();
    expect(stream.text()).not.toMatch(ESCAPE);
    expect(stream.text()).toMatch(/^\d{4}-\d\d-\d\dT/);
  });
});

describe('--json and --quiet', () => {
  it('prints one JSON object per event, the last with verdict, exit code and invariants', () => {
    const stream = fakeStream(true);
    const sink = createJsonLines({ stream });
    for (const ev of events()) sink.handle(ev);
    const lines = stream
      .text()
      .trimEnd()
      .split('\n')
      .map((l) => JSON.parse(l));
    expect(lines).toHaveLength(events().length);
    expect(lines[0]).toMatchObject({ type: 'run-started', runId: 'R1' });
    const last = lines.at(-1);
    expect(last).toMatchObject({
      type: 'run-finished',
      exitCode: 1,
      verdict: { status: 'fail' },
      reportDir: expect.any(String),
    });
    expect(last.invariants).toContainEqual({ kind: 'missing', status: 'fail', count: 64, allowed: 0 });
    expect(stream.text()).not.toMatch(ESCAPE);
  });

  it('quiet prints only the verdict and the report path', () => {
    const stream = fakeStream(true);
    const sink = createQuietSink({ stream });
    for (const ev of events()) sink.handle(ev);
    const out = stream.text();
    expect(out.split('\n')[0]).toMatch(/^FAIL {2}db-downtime/);
    expect(out).toContain('report: reports/db-downtime-20261121T230000Z/report.html');
    expect(out).not.toContain('│');
    expect(out).not.toMatch(ESCAPE);
  });
});

describe('renderSummary', () => {
  it('shows every invariant with pass/fail, the verdict and the report path', () => {
    const plain = renderSummary(passingReport(), { color: new Chalk({ level: 0 }), reportDir: 'reports/x/' });
    expect(plain).not.toMatch(ESCAPE);
    for (const k of [
      'missing',
      'partial',
      'broken-chain',
      'duplicate',
      'unexpected',
      'rollback',
      'tamper-undetected',
      'canaries',
      'availability',
      'latency.p99',
    ])
      expect(plain).toMatch(new RegExp(`│ ${k.replace('.', '\\.')}\\s+│ PASS`));
    expect(plain).toMatch(/\nPASS {2}db-downtime {2}0 violation\(s\)/);
    expect(plain.trimEnd().endsWith('report: reports/x/report.html')).toBe(true);
    const coloured = renderSummary(fixtureReport(), { color: new Chalk({ level: 1 }) });
    expect(coloured).toContain('\u001b[32mPASS');
    expect(coloured).toContain('\u001b[31m\u001b[1mFAIL');
  });

  it('marks an interrupted run and the checks it never reached', () => {
    const r = passingReport();
    r.interrupted = true;
    r.scan = null;
    r.canaries = null;
    r.verdict = { status: 'unknown', reasons: ['the run was interrupted before it finished'] };
    const plain = renderSummary(r, { color: new Chalk({ level: 0 }) });
    expect(plain).toMatch(/│ missing\s+│ NOT CHECKED │ the run stopped before the scan\s+│/);
    expect(plain).toMatch(/\nUNKNOWN \(interrupted, partial report\) {2}db-downtime/);
  });

  it('draws a progress bar of the given width', () => {
    expect(progressBar(0, 10)).toBe('░'.repeat(10));
    expect(progressBar(0.5, 10)).toBe('█'.repeat(5) + '░'.repeat(5));
    expect(progressBar(2, 4)).toBe('████');
  });
});
