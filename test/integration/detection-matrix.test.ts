/**
 * The detection matrix: each flaw mode of the reference service against a shipped scenario that
 * should catch it (with the finding kind one would expect), and the correct service against every
 * shipped scenario (which must pass), on the local runtime, at a shortened clock. Prints the
 * matrix; any wrong cell fails the test.
 */
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunSink } from '../../src/report/events.ts';
import { runScenario } from '../../src/run/run-scenario.ts';
import type { FindingKind, FlawMode } from '../../src/scenario/vocabulary.ts';
import { createStack } from '../../src/stack/factory.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { scaled, shiftedPorts as shifted, shipped } from '../helpers/scenarios.ts';

const SCALE = Number(process.env.AUDITCHAOS_MATRIX_SCALE ?? 0.5);
const silent: RunSink = { handle() {}, close() {} };

interface Cell {
  scenario: string;
  flaw: FlawMode | 'correct';
  seed?: number;
  /** For a flaw: the finding kinds that count as catching it. */
  expectKinds?: FindingKind[];
  /** For a flaw that loses no entry (a dead service): the failed threshold that catches it. */
  expectThresholds?: string[];
  /**
   * Flaws that show only when a cut lands inside one commit's window (between the INSERT and the
   * COMMIT reaching the server) are probabilistic by nature; such a cell gets a second run.
   */
  attempts?: number;
}

const FLAW_CELLS: Cell[] = [
  { flaw: 'ack-before-commit', scenario: 'flapping-link', expectKinds: ['missing'], attempts: 4 },
  { flaw: 'async-commit', scenario: 'db-downtime', expectKinds: ['missing'] },
  { flaw: 'no-idempotency', scenario: 'asymmetric-partition', expectKinds: ['duplicate'] },
  { flaw: 'unlocked-append', scenario: 'quickstart', expectKinds: ['broken-chain'] },
  { flaw: 'truncate-payload', scenario: 'quickstart', expectKinds: ['partial'] },
  { flaw: 'mutable', scenario: 'tamper-probes', expectKinds: ['tamper-detected', 'tamper-undetected'] },
  { flaw: 'api-delete', scenario: 'tamper-probes', expectKinds: ['tamper-detected', 'tamper-undetected'] },
  { flaw: 'stale-head-cache', scenario: 'flapping-link', expectKinds: ['broken-chain'], attempts: 4 },
  { flaw: 'crash-on-db-error', scenario: 'db-downtime', expectThresholds: ['recovery'] },
  { flaw: 'late-visible', scenario: 'visibility-lag', expectKinds: ['delayed'] },
  { flaw: 'app-clock', scenario: 'clock-step', expectKinds: ['clock-backwards', 'ts-outside-window'] },
];

interface Outcome {
  cell: Cell;
  verdict: string;
  kinds: FindingKind[];
  ok: boolean;
  note: string;
}

const outcomes: Outcome[] = [];

async function runCell(cell: Cell, portOffset: number, reportsRoot: string): Promise<Outcome> {
  const loaded = await shipped(cell.scenario);
  const scenario = shifted(scaled(loaded.scenario, SCALE), portOffset);
  scenario.stack = { ...scenario.stack, flaws: cell.flaw === 'correct' ? [] : [cell.flaw] };
  const r = await runScenario({
    loaded: { ...loaded, scenario },
    seed: cell.seed,
    runtime: 'local',
    reportsRoot,
    signal: new AbortController().signal,
    sink: silent,
    ports: {
      chooseRuntime: async () => ({ kind: 'local', why: 'the detection matrix runs locally' }),
      createStack,
    },
  });
  const violations = r.report.findings.filter(
    (f) => f.severity === 'violation' || f.kind === 'tamper-detected',
  );
  const kinds = [...new Set(violations.map((f) => f.kind))].sort();
  const verdict = r.report.verdict.status;
  if (cell.flaw === 'correct') {
    const ok = verdict === 'pass' && violations.filter((f) => f.kind !== 'tamper-detected').length === 0;
    return {
      cell,
      verdict,
      kinds,
      ok,
      note: ok ? 'passed' : `expected pass: ${r.report.verdict.reasons.join('; ')}`,
    };
  }
  const failedThresholds = r.report.thresholds.filter((t) => !t.pass && t.actual !== null).map((t) => t.name);
  const caught =
    verdict === 'fail' &&
    (kinds.some((k) => cell.expectKinds?.includes(k)) ||
      failedThresholds.some((t) => cell.expectThresholds?.includes(t)));
  return {
    cell,
    verdict,
    kinds,
    ok: caught,
    note: caught
      ? `caught (${[...kinds, ...failedThresholds].join(', ')})`
      : `NOT caught: ${verdict} ${kinds.join(', ')} ${r.report.verdict.reasons.join('; ')}`,
  };
}

/** Two runs side by side (ports shifted apart): the cells wait on faults more than on CPU. */
async function runAll(cells: Cell[], reportsRoot: string): Promise<Outcome[]> {
  const queue = [...cells];
  const out: Outcome[] = [];
  const lane = async (offset: number) => {
    for (let c = queue.shift(); c; c = queue.shift()) {
      let o = await runCell(c, offset, reportsRoot);
      // A run the harness could not judge because its own load driver fell behind (a loaded CI
      // machine) says nothing of the service: it is run again, at most twice; still unjudged fails.
      const unjudged = (x: Outcome) => x.verdict === 'unknown' && /the load driver fell behind/.test(x.note);
      for (let a = 1, extra = 0; !o.ok && (a < (c.attempts ?? 1) || (unjudged(o) && extra++ < 2)); a++) {
        const again = await runCell(c, offset, reportsRoot);
        o = { ...again, note: `${again.note} (attempt ${a + 1}; first: ${o.note})` };
      }
      out.push(o);
    }
  };
  await Promise.all([lane(1000), lane(2000)]);
  return out;
}

describe('detection matrix (local runtime)', () => {
  let reportsRoot: string;

  afterAll(() => {
    const scenarios = [...new Set(outcomes.map((o) => o.cell.scenario))].sort();
    const columns = ['correct', ...FLAW_CELLS.map((c) => c.flaw)];
    const width = Math.max(...scenarios.map((s) => s.length), 8);
    const lines = [`${'scenario'.padEnd(width)} | ${columns.join(' | ')}`];
    for (const s of scenarios) {
      const cells = columns.map((col) => {
        const os = outcomes.filter((o) => o.cell.scenario === s && o.cell.flaw === col);
        const text =
          os.length === 0
            ? '-'
            : os.every((o) => o.ok)
              ? col === 'correct'
                ? `passed x${os.length}`
                : 'caught'
              : 'WRONG';
        return text.padEnd(col.length);
      });
      lines.push(`${s.padEnd(width)} | ${cells.join(' | ')}`);
    }
    console.log(`\ndetection matrix (time scale ${SCALE}; '-' = not run):\n${lines.join('\n')}\n`);
    for (const o of outcomes.filter((x) => !x.ok))
      console.log(`WRONG ${o.cell.scenario} x ${o.cell.flaw}: ${o.note}`);
  });

  it('catches every flaw mode with the finding kind it stands for, and the correct service passes every shipped scenario', async () => {
    reportsRoot = await mkdtemp(path.join(tmpdir(), 'auditchaos-matrix-'));
    const names = (await readdir(path.join(REPO_ROOT, 'scenarios')))
      .filter((f) => f.endsWith('.yml'))
      .map((f) => f.replace(/\.yml$/, ''));
    const correct: Cell[] = names.map((scenario) => ({ scenario, flaw: 'correct' }));
    // The correct service over 5 different seeds: zero findings each time.
    for (const seed of [101, 202, 303, 404]) correct.push({ scenario: 'quickstart', flaw: 'correct', seed });
    outcomes.push(...(await runAll([...FLAW_CELLS, ...correct], reportsRoot)));
    const wrong = outcomes
      .filter((o) => !o.ok)
      .map(
        (o) => `${o.cell.scenario} x ${o.cell.flaw}${o.cell.seed ? ` (seed ${o.cell.seed})` : ''}: ${o.note}`,
      );
    expect(wrong).toEqual([]);
    expect(outcomes.length).toBe(FLAW_CELLS.length + names.length + 4);
  }, 1_200_000);
});
