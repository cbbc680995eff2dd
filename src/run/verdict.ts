/**
 * The verdict, as in Jepsen: pass, fail or unknown. Finding counts (exact, never the capped list)
 * and the scenario's `expect` thresholds decide pass or fail; a run without evidence (nothing
 * acknowledged, the log unreadable, a check the scenario relies on unable to run, canaries
 * unplanted, a probe or fault that could not be carried out, an interrupted run) is unknown, never
 * a pass. Pure.
 */

import type { FindingKind } from '../scan/types.ts';
import type { Scenario } from '../scenario/schema.ts';
import { compare, formatDuration, parseComparison } from '../scenario/units.ts';
import { INVARIANTS } from '../scenario/vocabulary.ts';
import type { TamperRecord } from '../tamper/probes.ts';

export interface ThresholdResult {
  name: string;
  expected: string;
  /** null when it could not be measured (no ops, no samples, a check that did not run) */
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

/** The liveness invariant's input: see RecoveryEvidence (src/run/evidence.ts). */
export interface RecoveryInput {
  limitMs: number;
  /** ms from the last heal to the service answering health and accepting a write; undefined: it did not. */
  recoveredInMs?: number;
  /** Why it did not recover (the last health or write error). */
  reason?: string;
}

/** With workload.visibility: src/run/visibility.ts. */
export interface VisibilityInput {
  delayed: number;
  notChecked?: string;
  proven: { p50: number | null; p99: number | null };
  limits: { maxMs: number; p50Ms?: number; p99Ms?: number };
}

export interface VerdictInput {
  expect: Scenario['expect'];
  /** Findings of this run, by kind, every one counted. */
  counts: Readonly<Record<FindingKind, number>>;
  /** Findings on entries that were in the log before the run. */
  countsBefore?: Readonly<Record<FindingKind, number>>;
  ops: { attempted: number; ok: number };
  latency?: { p50: number; p99: number; max: number };
  canaries?: { planted: number; caught: number; missed: string[] };
  tamper: readonly TamperRecord[];
  /** Checks that could not run, with why (by check name: chain, ledger, ...). */
  checksNotRun: { name: string; reason: string }[];
  /** Whether the scan that judges the run ran (its invariants are not checked otherwise). */
  scanned: boolean;
  /** Other checks that did not run to the end, by check name (e.g. tamper: the probes were cut short). */
  notChecked?: Partial<Record<string, string>>;
  /** Undefined when the scenario has no fault (nothing to recover from). */
  recovery?: RecoveryInput;
  scanError?: string;
  /** The run stopped before it could scan (the stack would not come up, ...). */
  runError?: string;
  /** Faults that could not be applied or healed: what the run claims to test did not happen. */
  faultErrors?: string[];
  /** Faults applied, and those of them that had no effect (their proxy carried no traffic). */
  faultEffects?: { applied: number; noEffect: string[] };
  interrupted?: boolean;
  /** The load driver fell behind its schedule: availability and latency measure it, not the service. */
  driverBehind?: string;
  /** Undefined when the scenario follows no event (the `delayed` invariant is then not part of the run). */
  visibility?: VisibilityInput;
  /** Checks of opt-in invariants (InvariantSpec.optIn) the scenario asked for, e.g. ['clock']. */
  optInChecks?: readonly string[];
}

/** Which check produces the findings an invariant counts: a check that did not run cannot pass it. */
function notCheckedBecause(input: VerdictInput, check: string): string | undefined {
  const given = input.notChecked?.[check];
  if (given !== undefined) return given;
  if (check === 'tamper') return undefined;
  if (check === 'visibility' && input.visibility?.notChecked) return input.visibility.notChecked;
  if (!input.scanned) return 'the scan did not run';
  if (input.scanError !== undefined) return 'the log could not be read to the end';
  return input.checksNotRun.find((c) => c.name === check)?.reason;
}

export function evaluate(input: VerdictInput): { thresholds: ThresholdResult[]; verdict: Verdict } {
  const thresholds: ThresholdResult[] = [];
  const failOnBefore = input.expect.beforeRun === 'fail';
  for (const { expectKey: key, kind, check, optIn } of INVARIANTS) {
    if (optIn && !(check === 'visibility' ? input.visibility : input.optInChecks?.includes(check))) continue;
    const limit = input.expect[key];
    const reason = notCheckedBecause(input, check);
    const actual = input.counts[kind] + (failOnBefore ? (input.countsBefore?.[kind] ?? 0) : 0);
    thresholds.push({
      name: key,
      expected: `<= ${limit}`,
      actual: reason !== undefined && actual <= limit ? null : actual,
      pass: reason === undefined && actual <= limit,
      ...(reason !== undefined && actual <= limit ? { display: `not checked: ${reason}` } : {}),
    });
  }
  if (input.recovery) {
    const r = input.recovery;
    const got = r.recoveredInMs;
    thresholds.push({
      name: 'recovery',
      expected: `<= ${formatDuration(r.limitMs)}`,
      actual: got ?? `not recovered within ${formatDuration(r.limitMs)}`,
      pass: got !== undefined && got <= r.limitMs,
      display:
        got === undefined
          ? `the service did not answer its health check and accept a write within ${formatDuration(r.limitMs)} after the last fault healed${r.reason ? ` (${r.reason})` : ''}`
          : `${formatDuration(Math.round(got))}`,
    });
  }
  if (input.expect.availability) {
    const c = parseComparison(input.expect.availability);
    // Compared in percent, as written; reported as a fraction (0..1), as report.json keeps ratios.
    const percent = input.ops.attempted ? (100 * input.ops.ok) / input.ops.attempted : undefined;
    const behind = input.driverBehind;
    thresholds.push({
      name: 'availability',
      expected: input.expect.availability,
      actual: percent === undefined || behind ? null : percent / 100,
      pass: !behind && percent !== undefined && c !== undefined && compare(percent, c),
      display: behind
        ? `not checked: ${behind}${percent === undefined ? '' : ` (measured ${percent.toFixed(1)}%)`}`
        : percent === undefined
          ? 'nothing attempted'
          : `${percent.toFixed(1)}%`,
    });
  }
  for (const q of ['p50', 'p99', 'max'] as const) {
    const want = input.expect.latency?.[q];
    if (!want) continue;
    const c = parseComparison(want);
    const actual = input.latency?.[q];
    const behind = input.driverBehind;
    thresholds.push({
      name: `latency.${q}`,
      expected: want,
      actual: behind ? null : (actual ?? null),
      display: behind
        ? `not checked: ${behind}${actual === undefined ? '' : ` (measured ${formatDuration(Math.round(actual))})`}`
        : actual === undefined
          ? 'no samples'
          : undefined,
      pass: !behind && actual !== undefined && c !== undefined && compare(actual, c),
    });
  }
  thresholds.push(...visibilityThresholds(input.visibility));
  for (const p of input.tamper) {
    const ok =
      p.outcome === 'refused' ||
      (p.outcome === 'appended' && p.detection === undefined) ||
      (p.expect === 'detected' && p.detection === 'detected');
    const judged =
      p.outcome !== 'error' && (p.outcome === 'refused' || input.notChecked?.tamper === undefined);
    thresholds.push({
      name: `tamper.${p.name}`,
      expected:
        p.expect === 'refused' ? 'refused (or appended as a correction)' : 'refused, or detected by the scan',
      // A probe that could not be carried out, or whose change was never scanned, proves nothing.
      actual: !judged ? null : p.detection ? `${p.outcome}, ${p.detection}` : p.outcome,
      display:
        p.outcome === 'error'
          ? `the probe could not be carried out: ${p.detail}`
          : judged
            ? undefined
            : `${p.outcome}; not checked: ${input.notChecked?.tamper}`,
      pass: judged && ok,
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
  if (input.runError) unknown.push(`the run stopped before its end: ${input.runError}`);
  if (input.scanError) unknown.push(`the log could not be read: ${input.scanError}`);
  for (const e of input.faultErrors ?? []) unknown.push(`a fault was not carried out as planned: ${e}`);
  const fx = input.faultEffects;
  // Faults that hit nothing test nothing: the run cannot pass on them (the load went around the proxy?).
  if (fx && fx.applied > 0 && fx.noEffect.length === fx.applied)
    unknown.push(
      `no fault had an effect (${fx.noEffect.join('; ')}): is workload.target the listen address of a proxy?`,
    );
  const driverJudged = (t: ThresholdResult) =>
    input.driverBehind !== undefined && (t.name === 'availability' || t.name.startsWith('latency.'));
  if (input.driverBehind) {
    const names = thresholds.filter(driverJudged).map((t) => t.name);
    unknown.push(
      names.length ? `${input.driverBehind}; not judged: ${names.join(', ')}` : input.driverBehind,
    );
  }
  if (input.ops.ok === 0) unknown.push('no write was acknowledged: there is no evidence to judge');
  for (const c of input.checksNotRun) unknown.push(`check "${c.name}" could not run: ${c.reason}`);
  if (!input.canaries || input.canaries.planted === 0)
    unknown.push('no canary could be planted: the verifier is unchecked');

  const failed = thresholds.filter((t) => !t.pass);
  // A failed invariant is a fail even when other evidence is missing; missing evidence alone is
  // unknown. A threshold that could not be measured is missing evidence, not a violation.
  const violations = failed.filter(
    (t) => t.actual !== null && !(t.name === 'canaries' && input.canaries?.planted === 0),
  );
  for (const t of failed)
    if (t.actual === null && !driverJudged(t))
      unknown.push(
        t.display?.startsWith('not checked')
          ? `${t.name}: ${t.display}`
          : `${t.name} could not be measured: ${t.display ?? 'no data'}`,
      );
  // An interrupted run judges nothing: what did not run must not read as a violation.
  if (violations.length && !input.interrupted) {
    return {
      thresholds,
      verdict: {
        status: 'fail',
        reasons: violations.map((t) => `${t.name}: expected ${t.expected}, got ${t.display ?? t.actual}`),
      },
    };
  }
  if (unknown.length) return { thresholds, verdict: { status: 'unknown', reasons: [...new Set(unknown)] } };
  return {
    thresholds,
    verdict: { status: 'pass', reasons: ['every invariant held and every canary was caught'] },
  };
}

/** visibility.p50 / visibility.p99: the proven lag's percentiles against the scenario's limits. */
function visibilityThresholds(v: VisibilityInput | undefined): ThresholdResult[] {
  if (!v) return [];
  const out: ThresholdResult[] = [];
  for (const q of ['p50', 'p99'] as const) {
    const limit = v.limits[`${q}Ms`];
    if (limit === undefined) continue;
    const actual = v.notChecked ? null : v.proven[q];
    out.push({
      name: `visibility.${q}`,
      expected: `<= ${formatDuration(limit)}`,
      actual,
      pass: actual !== null && actual <= limit,
      ...(actual === null
        ? { display: `not checked: ${v.notChecked ?? 'no followed event was found'}` }
        : { display: `${formatDuration(Math.round(actual))} (proven lag)` }),
    });
  }
  return out;
}
