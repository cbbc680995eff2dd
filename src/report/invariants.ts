/**
 * What every renderer shows the same way: each invariant's result, the other thresholds, and
 * small formatters. Derived from a Report only, so md, html, junit and the terminal agree.
 */
import {
  INVARIANTS,
  type InvariantSpec,
  type Report,
  type ReportFinding,
  type ThresholdResult,
} from './model.ts';
import { type FindingGroup, groupByFault } from './story.ts';

export type CheckStatus = 'pass' | 'fail' | 'skipped';

export interface InvariantResult {
  spec: InvariantSpec;
  status: CheckStatus;
  count: number;
  allowed: number;
  /** One line a person reads: "3 missing findings (allowed 0)", or "not checked: why". */
  summary: string;
  /** For tables whose result column already says NOT CHECKED: the summary, or just why. */
  detail: string;
  findings: ReportFinding[];
}

export function invariantResults(report: Report): InvariantResult[] {
  // An opt-in invariant (the clock checks) is a row only where the run judged it.
  const judged = INVARIANTS.filter(
    (spec) => !spec.optIn || report.thresholds.some((t) => t.name === spec.expectKey),
  );
  return judged.map((spec) => {
    const findings = report.findings.filter((f) => f.kind === spec.kind);
    const threshold = report.thresholds.find((t) => t.name === spec.expectKey);
    const allowedNum = threshold ? Number(threshold.expected.replace(/^[<=>\s]+/, '')) : 0;
    const allowed = Number.isFinite(allowedNum) ? allowedNum : 0;
    const count = typeof threshold?.actual === 'number' ? threshold.actual : findings.length;
    const notRun = report.scan === null ? 'the run stopped before the scan' : undefined;
    const check = report.scan?.checksRun.find((c) => c.name === spec.check);
    const skipped = (reason: string): InvariantResult => ({
      spec,
      status: 'skipped',
      count,
      allowed,
      summary: `not checked: ${reason}`,
      detail: reason,
      findings,
    });
    if (notRun !== undefined || (check !== undefined && !check.ran))
      return skipped(notRun ?? check?.reason ?? 'the check could not run');
    // Not measured (an interrupted run, the scan after the probes cut short): never a FAIL row.
    if (threshold !== undefined && threshold.actual === null)
      return skipped((threshold.note ?? 'not measured').replace(/^not checked: /, ''));
    const pass = threshold ? threshold.pass : count <= allowed;
    const noun = count === 1 ? 'finding' : 'findings';
    const summary = `${count} ${spec.kind} ${noun} (allowed ${allowed})`;
    return { spec, status: pass ? 'pass' : 'fail', count, allowed, summary, detail: summary, findings };
  });
}

/** Thresholds that are not finding counts (availability, latency.*): the invariants cover those. */
export function otherThresholds(report: Report): ThresholdResult[] {
  const keys = new Set<string>(INVARIANTS.map((i) => i.expectKey));
  return report.thresholds.filter((t) => !keys.has(t.name));
}

export interface CanaryResult {
  status: CheckStatus;
  summary: string;
}

export function canaryResult(report: Report): CanaryResult {
  const c = report.canaries;
  if (c === null) return { status: 'skipped', summary: 'not run' };
  const summary = `canaries caught: ${c.caught}/${c.planted}${c.missed.length ? ` (missed: ${c.missed.join(', ')})` : ''}`;
  return { status: c.planted > 0 && c.caught === c.planted ? 'pass' : 'fail', summary };
}

/** A threshold that could not be measured (actual null while not passing) is not checked, not failed. */
export function thresholdStatus(t: ThresholdResult): CheckStatus {
  if (t.pass) return 'pass';
  return t.actual === null ? 'skipped' : 'fail';
}

export function formatThresholdActual(t: ThresholdResult): string {
  if (t.actual === null) return t.note ?? 'not measured';
  if (typeof t.actual === 'string') return t.note ?? t.actual;
  if (t.name === 'availability') return formatPercent(t.actual);
  if (t.name.startsWith('latency') || t.name.startsWith('visibility.') || t.name === 'recovery')
    return formatMs(t.actual);
  return String(t.actual);
}

/** What a fault's proxy carried while it was active, as the fault tables show it. */
export function faultEffectText(f: Report['faults'][number]): string {
  if (f.noEffect) return `had no effect: ${f.noEffect}`;
  if (f.effect === undefined) return '';
  if (f.effect === 'unknown') return 'unknown (the proxy has no traffic counters)';
  if ('packets' in f.effect) {
    const acted = Object.entries(f.effect.acted).map(([k, n]) => `${formatCount(n)} ${k}`);
    if (f.effect.retransmitted !== undefined)
      acted.push(`${formatCount(f.effect.retransmitted)} TCP segments retransmitted by the target`);
    return `${formatCount(f.effect.packets)} packets${acted.length ? ` (${acted.join(', ')})` : ''}`;
  }
  const bytes = `${formatCount(f.effect.bytes)} bytes`;
  return f.effect.connections === null ? bytes : `${formatCount(f.effect.connections)} connections, ${bytes}`;
}

export function formatMs(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  if (v >= 10_000) return `${Number((v / 1000).toFixed(1))}s`;
  if (v >= 1000) return `${Number((v / 1000).toFixed(2))}s`;
  if (v >= 100) return `${Math.round(v)}ms`;
  return `${Number(v.toFixed(1))}ms`;
}

export function formatPercent(v: number | null | undefined): string {
  if (v === null || v === undefined) return '-';
  return `${Number((v * 100).toFixed(2))}%`;
}

/** A phase as a sentence's item: its name and how long it took (`stack-up 3.2 s`). */
export function formatPhase(p: { name: string; durationMs: number }): string {
  return `${p.name} ${formatLength(p.durationMs)}`;
}

/** How long something took: `12 ms`, `3.2 s`, `02:05`. */
export function formatLength(ms: number): string {
  const d = Math.max(0, ms);
  return d < 100 ? `${Math.round(d)} ms` : d < 60_000 ? `${(d / 1000).toFixed(1)} s` : formatClock(d);
}

/** mm:ss (or h:mm:ss) of a duration in ms. */
export function formatClock(ms: number): string {
  // Before the workload started (stack up, proxies): shown as a countdown, -00:03.
  if (ms <= -1000) return `-${formatClock(-ms)}`;
  const total = Math.max(0, Math.floor(ms / 1000));
  const h = Math.floor(total / 3600);
  const m = Math.floor((total % 3600) / 60);
  const s = total % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(s).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export function formatCount(n: number): string {
  return n.toLocaleString('en-US');
}

/** The faults active when a finding's op ran, as the finding's evidence lists them. */
export function activeFaultsOf(f: ReportFinding): string[] {
  const v = f.detail?.activeFaults;
  if (!Array.isArray(v)) return [];
  return v.map((x) =>
    typeof x === 'string'
      ? x
      : x && typeof x === 'object'
        ? [
            (x as Record<string, unknown>).id,
            (x as Record<string, unknown>).kind,
            (x as Record<string, unknown>).target,
          ]
            .filter((p) => p !== undefined)
            .join(' ')
        : String(x),
  );
}

/**
 * The findings as md and html show them: this run's grouped by the fault each sits nearest to
 * (src/report/story.ts), violations first within a group; findings on entries that were in the log
 * before the run apart.
 */
export function findingSections(report: Report): {
  groups: FindingGroup<ReportFinding>[];
  before: ReportFinding[];
} {
  const rank = (f: ReportFinding) => (f.severity === 'violation' ? 0 : f.severity === 'warning' ? 1 : 2);
  const now = report.findings.filter((f) => !f.preexisting).sort((a, b) => rank(a) - rank(b));
  return {
    groups: groupByFault(now, report.faults),
    before: report.findings.filter((f) => f.preexisting),
  };
}

/** This run's violations, counted exactly (the findings list may be cut at its cap). */
export function violationCount(report: Report): number {
  const counts = report.scan?.counts;
  if (!counts) return report.findings.filter((f) => f.severity === 'violation' && !f.preexisting).length;
  return INVARIANTS.reduce((n, i) => n + (counts[i.kind] ?? 0), 0);
}

/** The workload's numbers as one table row, shared by the md and html renderers. */
export const WORKLOAD_COLUMNS = [
  'attempted',
  'acknowledged',
  'failed',
  'indeterminate',
  'not sent (driver)',
  'availability',
  'p50',
  'p90',
  'p99',
  'max',
];
export function workloadRow(r: Report): string[] {
  return [
    formatCount(r.ops.attempted),
    formatCount(r.ops.ok),
    formatCount(r.ops.fail),
    formatCount(r.ops.indeterminate),
    r.driver ? formatCount(r.driver.notSent) : '-',
    formatPercent(r.ops.availability),
    formatMs(r.latency.p50),
    formatMs(r.latency.p90),
    formatMs(r.latency.p99),
    formatMs(r.latency.max),
  ];
}

/** The load driver's health as a sentence; undefined when no workload ran. */
export function driverSentence(r: Report): string | undefined {
  const d = r.driver;
  if (!d) return undefined;
  const lag = `event-loop lag p99 ${formatMs(d.loopLagP99Ms)}`;
  return d.fellBehind
    ? `${d.reason ?? 'the load driver fell behind'} (${lag}): availability and latency are the driver's, not the service's`
    : `the load driver kept up: ${formatCount(d.notSent)} not sent, ${lag}`;
}

export function verdictHeadline(report: Report): string {
  const s = report.verdict.status;
  const word = s === 'pass' ? 'PASS' : s === 'fail' ? 'FAIL' : 'UNKNOWN';
  return `${word}${report.interrupted ? ' (interrupted, partial report)' : ''}`;
}
