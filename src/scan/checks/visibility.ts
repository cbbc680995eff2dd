/**
 * The visibility check (pure): from what the visibility reader saw during the run and what the
 * final scan found, which acknowledged events became readable too late (`delayed`), and the
 * distribution of the visibility lag.
 *
 * Two numbers per followed event, both from its ack (ms):
 * - lag: to the first read that found it (what a reader experienced; an upper bound, within one
 *   poll interval plus a read's round trip of the true value);
 * - proven: to the last read that did not find it (a lower bound: it was certainly not readable
 *   then). Failed reads (5xx, timeouts) prove nothing, so a reader cut off by a fault never makes
 *   an event look late. Findings and thresholds are judged on `proven`.
 * An event the reader never found is `missing` when the final scan lacks it (that check reports
 * it), else `delayed` "seen only at the final scan" when its proven lag is over the limit.
 */

import type { VisibilityEvidence, VisibilitySample } from '../../workload/visibility-reader.ts';
import type { Finding } from '../types.ts';

/** expect.visibility.max when the scenario sets none. */
export const DEFAULT_VISIBILITY_MAX_MS = 5000;

export interface VisibilityLimits {
  maxMs: number;
  p50Ms?: number;
  p99Ms?: number;
}

/** What the final scan says about the followed events the reader never found. */
export interface ScanPresence {
  /** The scan ran to the end. */
  complete: boolean;
  /** Event ids the scan reported `missing`. */
  missing: ReadonlySet<string>;
  /** Every missing finding is in `missing` (the findings list was not cut). */
  missingListed: boolean;
}

export interface FaultWindow {
  id: string;
  kind: string;
  target: string;
  startedAt?: number;
  endedAt?: number;
}

export type SampleFate =
  | 'seen'
  | 'seen-at-scan'
  | 'missing'
  /** never found by the reader, and the scan could not tell (it did not run, or its list was cut) */
  | 'unresolved'
  /** found only at the scan, but no read ever answered "not there" past the limit: proves nothing */
  | 'unproven';

export interface VisibilityPercentiles {
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export interface VisibilityJudgement {
  findings: Finding[];
  delayed: number;
  fates: Record<SampleFate, number>;
  /** Lag as read (ack to the first read that found it), of the events the reader found. */
  lag: VisibilityPercentiles;
  /** Proven lag (ack to the last read that missed it), of the events found by the reader or the scan. */
  proven: VisibilityPercentiles;
  /** How many reads failed (proved nothing). */
  readErrors: number;
  /** Why the invariant could not be judged (no event followed, every read failed, ...). */
  notChecked?: string;
}

/** Nearest-rank percentile of ascending values. */
export function percentile(sorted: readonly number[], q: number): number | null {
  if (sorted.length === 0) return null;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil(q * sorted.length) - 1));
  return sorted[i] as number;
}

function percentiles(values: number[]): VisibilityPercentiles {
  const s = [...values].sort((a, b) => a - b);
  return {
    p50: percentile(s, 0.5),
    p90: percentile(s, 0.9),
    p99: percentile(s, 0.99),
    max: s.at(-1) ?? null,
  };
}

export function provenLag(s: VisibilitySample): number {
  return s.lastAbsentAt === undefined ? 0 : Math.max(0, s.lastAbsentAt - s.ackAt);
}

const secs = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

/** Faults active at any time in [from, to] (ms on the workload clock). */
export function faultsDuring(faults: readonly FaultWindow[], from: number, to: number): string[] {
  return faults
    .filter(
      (f) =>
        f.startedAt !== undefined && f.startedAt <= to && (f.endedAt ?? Number.POSITIVE_INFINITY) >= from,
    )
    .map((f) => `${f.id} ${f.kind} ${f.target}`);
}

export function judgeVisibility(
  ev: VisibilityEvidence,
  scan: ScanPresence,
  limits: VisibilityLimits,
  faults: readonly FaultWindow[] = [],
): VisibilityJudgement {
  const fates: Record<SampleFate, number> = {
    seen: 0,
    'seen-at-scan': 0,
    missing: 0,
    unresolved: 0,
    unproven: 0,
  };
  const findings: Finding[] = [];
  const lags: number[] = [];
  const proven: number[] = [];
  let readErrors = 0;
  let answered = 0;
  for (const s of ev.samples) {
    readErrors += s.readErrors;
    if (s.reads > s.readErrors) answered++;
    const p = provenLag(s);
    if (s.seenAt !== undefined) {
      fates.seen++;
      lags.push(Math.max(0, s.seenAt - s.ackAt));
      proven.push(p);
      if (p > limits.maxMs) findings.push(delayedFinding(s, p, limits.maxMs, faults, false));
      continue;
    }
    if (scan.missing.has(s.eventId)) {
      fates.missing++;
      continue;
    }
    if (!scan.complete || !scan.missingListed) {
      fates.unresolved++;
      continue;
    }
    if (p > limits.maxMs) {
      fates['seen-at-scan']++;
      proven.push(p);
      findings.push(delayedFinding(s, p, limits.maxMs, faults, true));
    } else {
      fates.unproven++;
    }
  }
  const judgement: VisibilityJudgement = {
    findings,
    delayed: findings.length,
    fates,
    lag: percentiles(lags),
    proven: percentiles(proven),
    readErrors,
  };
  if (ev.error) judgement.notChecked = ev.error;
  else if (ev.samples.length === 0)
    judgement.notChecked = 'the visibility reader followed no event (nothing was acknowledged)';
  else if (answered === 0)
    judgement.notChecked = `every read of the visibility reader failed (${ev.samples[0]?.lastError ?? 'no answer'})`;
  return judgement;
}

function delayedFinding(
  s: VisibilitySample,
  provenMs: number,
  maxMs: number,
  faults: readonly FaultWindow[],
  atScan: boolean,
): Finding {
  const lastMiss = s.lastAbsentAt ?? s.ackAt;
  const active = faultsDuring(faults, s.ackAt, lastMiss);
  const where = atScan
    ? `seen only at the final scan (the reader gave up at ${secs(s.gaveUpAt ?? lastMiss)})`
    : `first read that found it at ${secs(s.seenAt as number)}`;
  const during = active.length ? `; fault active while it was not readable: ${active.join(', ')}` : '';
  return {
    kind: 'delayed',
    severity: 'violation',
    check: 'visibility',
    eventId: s.eventId,
    message: `acknowledged at ${secs(s.ackAt)} but still not readable ${secs(provenMs)} later (limit ${secs(maxMs)}); ${where}${during}`,
    expected: `readable within ${secs(maxMs)} of its ack`,
    found: atScan
      ? `not readable for ${secs(provenMs)}; only the final scan found it`
      : `became readable between ${secs(provenMs)} and ${secs((s.seenAt as number) - s.ackAt)} after its ack`,
    detail: {
      ackAt: s.ackAt,
      lastAbsentAt: s.lastAbsentAt,
      ...(atScan ? { seenAt: 'final scan' } : { seenAt: s.seenAt }),
      provenLagMs: Math.round(provenMs),
      ...(s.seenAt !== undefined ? { lagMs: Math.round(s.seenAt - s.ackAt) } : {}),
      reads: s.reads,
      readErrors: s.readErrors,
      faultsWhileNotReadable: active,
    },
  };
}

/** Histogram bucket upper bounds (ms); the last bucket is open. */
export const LAG_BUCKETS_MS = [10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10_000, 30_000] as const;

export function lagHistogram(values: readonly number[]): { le: number | null; count: number }[] {
  const out = [...LAG_BUCKETS_MS, null].map((le) => ({ le, count: 0 }));
  for (const v of values) {
    const i = LAG_BUCKETS_MS.findIndex((b) => v <= b);
    (out[i === -1 ? out.length - 1 : i] as { count: number }).count++;
  }
  return out;
}
