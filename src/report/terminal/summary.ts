/** The end-of-run summary: a table of invariants with pass/fail colour, the verdict, the report path. */
import type { ChalkInstance } from 'chalk';
import Table from 'cli-table3';
import {
  type CheckStatus,
  canaryResult,
  formatClock,
  formatCount,
  formatPercent,
  formatThresholdActual,
  invariantResults,
  otherThresholds,
  thresholdStatus,
  verdictHeadline,
  violationCount,
} from '../invariants.ts';
import type { Report } from '../model.ts';
import { redactSecrets } from '../redact.ts';
import { visible } from '../visible.ts';

export interface SummaryOptions {
  color: ChalkInstance;
  /** The report folder; the summary points at report.html inside it. */
  reportDir?: string;
  secrets?: readonly string[];
  /** Table width limit; the detail column wraps inside it. */
  columns?: number;
}

export function renderSummary(report: Report, opts: SummaryOptions): string {
  const c = opts.color;
  const mark: Record<CheckStatus, string> = {
    pass: c.green('PASS'),
    fail: c.red.bold('FAIL'),
    skipped: c.yellow('NOT CHECKED'),
  };
  const rows: [string, CheckStatus, string][] = invariantResults(report).map((i) => [
    i.spec.kind,
    i.status,
    i.detail,
  ]);
  const canary = canaryResult(report);
  rows.push(['canaries', canary.status, canary.summary]);
  for (const t of otherThresholds(report))
    rows.push([
      t.name,
      thresholdStatus(t),
      t.actual === null && t.pass
        ? `expected ${t.expected}`
        : `expected ${t.expected}, actual ${formatThresholdActual(t)}`,
    ]);
  // the detail column takes what the terminal has left (pseudo-terminals may report 0 columns)
  const columns = opts.columns && opts.columns >= 40 ? opts.columns : 100;
  const nameWidth = Math.max(9, ...rows.map((r) => r[0].length)) + 2;
  const resultWidth = Math.max(...rows.map((r) => (r[1] === 'skipped' ? 11 : 6))) + 2;
  const detailWidth = Math.max(30, Math.min(90, columns - nameWidth - resultWidth - 4));
  const table = new Table({
    head: ['invariant', 'result', 'detail'],
    style: { head: [], border: [], compact: true },
    colWidths: [nameWidth, resultWidth, detailWidth],
    wordWrap: true,
  });
  for (const [name, status, detail] of rows) table.push([name, mark[status], detail]);

  const s = report.verdict.status;
  const paint = s === 'pass' ? c.green.bold : s === 'fail' ? c.red.bold : c.yellow.bold;
  const violations = violationCount(report);
  const lines = [
    table.toString(),
    '',
    `${paint(verdictHeadline(report))}  ${c.bold(report.scenario.name)}  ${c.dim(
      `${violations} violation(s) · availability ${formatPercent(report.ops.availability)} · ` +
        `${formatCount(report.ops.ok)}/${formatCount(report.ops.attempted)} acknowledged · ${formatClock(report.timings.durationMs)} · seed ${report.seed}`,
    )}`,
    ...(report.overview ? [c.dim(`  ${report.overview.subject}`)] : []),
    ...(report.overview?.sentences ?? []).map((t) => `  ${c.bold(visible(t))}`),
    ...report.verdict.reasons.map((r) => `  - ${visible(r)}`),
  ];
  for (const f of report.faults)
    if (f.noEffect)
      lines.push(c.yellow(`fault ${f.id} (${f.kind} ${f.target}) had no effect: ${f.noEffect}`));
  if (opts.reportDir)
    lines.push(`report: ${c.underline(`${opts.reportDir.replace(/\/$/, '')}/report.html`)}`);
  return redactSecrets(lines.join('\n'), opts.secrets);
}
