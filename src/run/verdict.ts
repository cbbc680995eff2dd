/**
 * The verdict, as in Jepsen: pass, fail or unknown. Findings and the scenario's `expect` thresholds
 * decide pass or fail; a run without evidence (nothing acknowledged, the log unreadable, a check the
 * scenario relies on unable to run, canaries unplanted, an interrupted run) is unknown, never a pass.
 * Pure.
 */

import type { Finding, FindingKind } from '../scan/types.ts';
import type { Scenario } from '../scenario/schema.ts';
import { compare, parseComparison } from '../scenario/units.ts';
import { INVARIANTS } from '../scenario/vocabulary.ts';
import type { TamperRecord } from '../tamper/probes.ts';

export interface ThresholdResult {
  name: string;
  expected: string;
  /** null when it could not be measured (no ops, no samples) */
  actual: number | string | null;
  pass: boolean;
  /** How to show `actual` in a sentence, when the number alone would mislead (a ratio). */
  display?: string;
}

export type VerdictStatus = 'pass' | 'fail' | 'unknown';

export interface Verdict {
  status: VerdictStatus;
  reasons: string[];
}

export interface VerdictInput {
  expect: Scenario['expect'];
  findings: readonly Finding[];
  ops: { attempted: number; ok: number };
  latency?: { p50: number; p99: number; max: number };
  canaries?: { planted: number; caught: number; missed: string[] };
  tamper: readonly TamperRecord[];
  /** Checks that could not run, with why. */
  checksNotRun: { name: string; reason: string }[];
  scanError?: string;
  /** The run stopped before it could scan (the stack would not come up, ...). */
  runError?: string;
  interrupted?: boolean;
}

export function evaluate(input: VerdictInput): { thresholds: ThresholdResult[]; verdict: Verdict } {
  const thresholds: ThresholdResult[] = [];
  const count = (k: FindingKind) => input.findings.filter((f) => f.kind === k).length;
  for (const { expectKey: key, kind } of INVARIANTS) {
    const limit = input.expect[key];
    const actual = count(kind);
    thresholds.push({ name: key, expected: `<= ${limit}`, actual, pass: actual <= limit });
  }
  if (input.expect.availability) {
    const c = parseComparison(input.expect.availability);
    // Compared in percent, as written; reported as a fraction (0..1), as report.json keeps ratios.
    const percent = input.ops.attempted ? (100 * input.ops.ok) / input.ops.attempted : undefined;
    thresholds.push({
      name: 'availability',
      expected: input.expect.availability,
      actual: percent === undefined ? null : percent / 100,
      pass: percent !== undefined && c !== undefined && compare(percent, c),
      display: percent === undefined ? 'nothing attempted' : `${percent.toFixed(1)}%`,
    });
  }
  for (const q of ['p50', 'p99', 'max'] as const) {
    const want = input.expect.latency?.[q];
    if (!want) continue;
    const c = parseComparison(want);
    const actual = input.latency?.[q];
    thresholds.push({
      name: `latency.${q}`,
      expected: want,
      actual: actual ?? null,
      display: actual === undefined ? 'no samples' : undefined,
      pass: actual !== undefined && c !== undefined && compare(actual, c),
    });
  }
  for (const p of input.tamper) {
    const ok =
      p.outcome === 'refused' ||
      (p.outcome === 'appended' && p.detection === undefined) ||
      (p.expect === 'detected' && p.detection === 'detected');
    thresholds.push({
      name: `tamper.${p.name}`,
      expected:
        p.expect === 'refused' ? 'refused (or appended as a correction)' : 'refused, or detected by the scan',
      actual:
        p.outcome === 'error'
          ? `error: ${p.detail}`
          : p.detection
            ? `${p.outcome}, ${p.detection}`
            : p.outcome,
      pass: p.outcome !== 'error' && ok,
    });
  }
  if (input.canaries) {
    thresholds.push({
      name: 'canaries',
      expected: `${input.canaries.planted}/${input.canaries.planted} caught`,
      actual: `${input.canaries.caught}/${input.canaries.planted}`,
      pass: input.canaries.planted > 0 && input.canaries.caught === input.canaries.planted,
    });
  }

  const unknown: string[] = [];
  if (input.interrupted) unknown.push('the run was interrupted before it finished');
  if (input.runError) unknown.push(`the run stopped before the scan: ${input.runError}`);
  if (input.scanError) unknown.push(`the log could not be read: ${input.scanError}`);
  if (input.ops.ok === 0) unknown.push('no write was acknowledged: there is no evidence to judge');
  for (const c of input.checksNotRun) unknown.push(`check "${c.name}" could not run: ${c.reason}`);
  if (!input.canaries || input.canaries.planted === 0)
    unknown.push('no canary could be planted: the verifier is unchecked');
  if (input.tamper.some((p) => p.outcome === 'error'))
    unknown.push('a tamper probe could not be carried out');

  const failed = thresholds.filter((t) => !t.pass);
  // A failed invariant is a fail even when other evidence is missing; missing evidence alone is unknown.
  // A threshold that could not be measured (nothing attempted, no latency sample) is missing
  // evidence, not a violation.
  const violations = failed.filter(
    (t) => t.actual !== null && !(t.name === 'canaries' && input.canaries?.planted === 0),
  );
  for (const t of failed)
    if (t.actual === null) unknown.push(`${t.name} could not be measured: ${t.display ?? 'no data'}`);
  if (violations.length && !input.interrupted) {
    return {
      thresholds,
      verdict: {
        status: 'fail',
        reasons: violations.map((t) => `${t.name}: expected ${t.expected}, got ${t.display ?? t.actual}`),
      },
    };
  }
  if (unknown.length) return { thresholds, verdict: { status: 'unknown', reasons: unknown } };
  return {
    thresholds,
    verdict: { status: 'pass', reasons: ['every invariant held and every canary was caught'] },
  };
}
