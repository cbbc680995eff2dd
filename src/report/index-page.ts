/** index.html of a multi-scenario run: one row per scenario, verdict first, linking each report. */
import { escapeHtml as e, page } from './html.ts';
import { formatClock, formatCount, formatPercent, invariantResults, verdictHeadline } from './invariants.ts';
import type { Report } from './model.ts';
import { redactDeep, redactSecrets } from './redact.ts';

export function renderIndexHtml(
  entries: readonly { report: Report; href: string }[],
  opts: { secrets?: readonly string[] } = {},
): string {
  const reports = entries.map((x) => ({ ...x, report: redactDeep(x.report, opts.secrets) }));
  const statuses = reports.map((x) => x.report.verdict.status);
  const overall = statuses.includes('fail')
    ? 'fail'
    : statuses.every((s) => s === 'pass')
      ? 'pass'
      : 'unknown';
  const rows = reports
    .map(({ report: r, href }) => {
      const failed = invariantResults(r)
        .filter((i) => i.status === 'fail')
        .map((i) => i.spec.kind);
      const badge =
        r.verdict.status === 'pass' ? 'b-pass' : r.verdict.status === 'fail' ? 'b-fail' : 'b-warn';
      const link = href ? `${href}/report.html` : 'report.html';
      return `<tr><td><a href="${e(link)}">${e(r.scenario.name)}</a><br><span class="muted">${e(r.scenario.description)}</span></td>
<td><span class="badge ${badge}">${e(verdictHeadline(r))}</span></td>
<td>${e(failed.join(', ') || r.verdict.reasons[0] || '-')}</td>
<td class="num">${formatCount(r.ops.ok)} / ${formatCount(r.ops.attempted)}</td>
<td class="num">${formatPercent(r.ops.availability)}</td>
<td class="num">${formatClock(r.timings.durationMs)}</td></tr>`;
    })
    .join('\n');
  const body = `<section class="verdict v-${overall}"><div class="word">${overall.toUpperCase()}</div>
<div>${reports.length} scenario(s): ${statuses.filter((s) => s === 'pass').length} pass, ${statuses.filter((s) => s === 'fail').length} fail, ${statuses.filter((s) => s === 'unknown').length} unknown</div></section>
<div class="scroll"><table><thead><tr><th>scenario</th><th>verdict</th><th>what broke</th><th>acknowledged</th><th>availability</th><th>duration</th></tr></thead><tbody>
${rows}
</tbody></table></div>`;
  return redactSecrets(page('auditchaos: run index', body), opts.secrets);
}
