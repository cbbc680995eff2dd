/**
 * report.html: one self-contained file. Inline CSS and SVG only, a Content-Security-Policy that
 * forbids every fetch, readable on a phone and on paper. Verdict first, then the timeline, the
 * findings with their evidence, the tamper probes and the scenario as run.
 */
import { stringify } from 'yaml';
import { inlineSvg, latencyChartSvg, throughputChartSvg } from './charts.ts';
import {
  activeFaultsOf,
  type CheckStatus,
  canaryResult,
  driverSentence,
  faultEffectText,
  findingSections,
  formatClock,
  formatCount,
  formatLength,
  formatMs,
  formatPercent,
  formatThresholdActual,
  invariantResults,
  otherThresholds,
  thresholdStatus,
  verdictHeadline,
  violationCount,
  WORKLOAD_COLUMNS,
  workloadRow,
} from './invariants.ts';
import type { RenderOptions } from './json.ts';
import type { Report } from './model.ts';
import { redactDeep, redactSecrets } from './redact.ts';
import {
  VISIBILITY_COLUMNS,
  visibilityHistogramSvg,
  visibilityLagChartSvg,
  visibilityRows,
  visibilitySentence,
} from './visibility.ts';

export function escapeHtml(v: unknown): string {
  return String(v ?? '')
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}
const e = escapeHtml;
const dash = (v: unknown) =>
  v === undefined || v === null || v === '' ? '<span class="muted">-</span>' : e(v);

export const CSP = "default-src 'none'; style-src 'unsafe-inline'; img-src data:";

export const BASE_CSS = `
:root{--pass:#2b8a3e;--fail:#c92a2a;--unknown:#e67700;--skip:#868e96;--ink:#212529;--muted:#6c757d;--line:#dee2e6;--bg:#f8f9fa}
*{box-sizing:border-box}
body{margin:0;font:15px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;color:var(--ink);background:#fff;-webkit-print-color-adjust:exact;print-color-adjust:exact}
main{max-width:1100px;margin:0 auto;padding:16px}
h1{font-size:1.5rem;margin:0 0 .25rem}h2{font-size:1.15rem;margin:2rem 0 .5rem;border-bottom:1px solid var(--line);padding-bottom:.25rem}h3{font-size:1rem;margin:1.2rem 0 .4rem}
.muted{color:var(--muted)}code,pre,.mono{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em}
.verdict{border-radius:8px;padding:14px 18px;color:#fff;margin:0 0 1rem}
.verdict .word{font-size:2rem;font-weight:800;letter-spacing:.04em}
.verdict ul{margin:.4rem 0 0;padding-left:1.2rem}
.v-pass{background:var(--pass)}.v-fail{background:var(--fail)}.v-unknown{background:var(--unknown)}
.cards{display:grid;grid-template-columns:repeat(auto-fit,minmax(150px,1fr));gap:8px;margin:1rem 0}
.card{border:1px solid var(--line);border-radius:6px;padding:8px 12px;background:var(--bg)}
.card .n{font-size:1.35rem;font-weight:700}.card .l{font-size:.8rem;color:var(--muted)}
.scroll{overflow-x:auto}
table{border-collapse:collapse;width:100%;font-size:.9rem}
th,td{border-bottom:1px solid var(--line);padding:4px 8px;text-align:left;vertical-align:top}
th{background:var(--bg);font-weight:600}
td.num{text-align:right;font-variant-numeric:tabular-nums}
.badge{display:inline-block;border-radius:4px;padding:0 6px;font-size:.8rem;font-weight:700;color:#fff;white-space:nowrap}
.b-pass{background:var(--pass)}.b-fail{background:var(--fail)}.b-skipped{background:var(--skip)}.b-warn{background:var(--unknown)}
.hash{word-break:break-all}
svg.chart{width:100%;height:auto;display:block}svg.chart-narrow{display:none}
figure{margin:.5rem 0 1rem}figcaption{font-size:.85rem;color:var(--muted)}
pre{background:var(--bg);border:1px solid var(--line);border-radius:6px;padding:10px;overflow-x:auto;white-space:pre}
details>summary{cursor:pointer;font-weight:600}
footer{margin-top:2rem;font-size:.8rem;color:var(--muted)}
@media screen and (max-width:600px){svg.chart-wide{display:none}svg.chart-narrow{display:block}body{font-size:14px}main{padding:10px}.verdict .word{font-size:1.5rem}th,td{padding:3px 5px}}
@media print{main{max-width:none;padding:0}h2{break-after:avoid}figure,tr{break-inside:avoid}.scroll{overflow:visible}pre{white-space:pre-wrap}}
`;

const BADGE: Record<CheckStatus, string> = {
  pass: '<span class="badge b-pass">PASS</span>',
  fail: '<span class="badge b-fail">FAIL</span>',
  skipped: '<span class="badge b-skipped">NOT CHECKED</span>',
};

function table(head: string[], rows: string[][], numeric: number[] = []): string {
  const th = head.map((h) => `<th>${e(h)}</th>`).join('');
  const trs = rows
    .map(
      (r) =>
        `<tr>${r.map((c, i) => `<td${numeric.includes(i) ? ' class="num"' : ''}>${c}</td>`).join('')}</tr>`,
    )
    .join('\n');
  return `<div class="scroll"><table><thead><tr>${th}</tr></thead><tbody>\n${trs}\n</tbody></table></div>`;
}

export function page(title: string, body: string): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width,initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="${CSP}">
<meta name="generator" content="auditchaos">
<title>${e(title)}</title>
<style>${BASE_CSS}</style>
</head>
<body>
<main>
${body}
</main>
</body>
</html>
`;
}

export function renderHtml(input: Report, opts: RenderOptions = {}): string {
  const r = redactDeep(input, opts.secrets);
  const S: string[] = [];
  const status = r.verdict.status;

  S.push(
    `<section class="verdict v-${status}" id="verdict"><div class="word">${e(verdictHeadline(r))}</div>` +
      `<div><strong>${e(r.scenario.name)}</strong>: ${e(r.scenario.description)}</div>` +
      (r.overview
        ? `<p class="subject">${e(r.overview.subject)}</p>` +
          r.overview.sentences.map((t) => `<p class="sentence"><strong>${e(t)}</strong></p>`).join('')
        : '') +
      (r.verdict.reasons.length
        ? `<ul>${r.verdict.reasons.map((x) => `<li>${e(x)}</li>`).join('')}</ul>`
        : '') +
      `</section>`,
  );
  S.push(
    `<p class="muted">Seed <code>${e(r.seed)}</code> · run <code>${e(r.runId)}</code> · ${e(r.runtime.kind)} runtime (${e(r.runtime.why)}) · ` +
      `${e(r.timings.startedAt)} to ${e(r.timings.endedAt)} (${formatClock(r.timings.durationMs)})</p>`,
  );

  const violations = violationCount(r);
  const canary = canaryResult(r);
  const cards: [string, string][] = [
    [formatPercent(r.ops.availability), 'availability'],
    [formatCount(r.ops.ok), `acknowledged of ${formatCount(r.ops.attempted)}`],
    [formatCount(violations), 'violations'],
    [formatMs(r.latency.p99), 'p99 latency'],
    [String(r.faults.length), 'faults'],
    [String(r.tamper.length), 'tamper probes'],
    [r.canaries ? `${r.canaries.caught}/${r.canaries.planted}` : '-', 'canaries caught'],
  ];
  S.push(
    `<div class="cards">${cards.map(([n, l]) => `<div class="card"><div class="n">${e(n)}</div><div class="l">${e(l)}</div></div>`).join('')}</div>`,
  );

  S.push('<h2 id="invariants">Invariants</h2>');
  S.push(
    table(
      ['invariant', 'result', 'detail'],
      [
        ...invariantResults(r).map((i) => [
          `<strong>${e(i.spec.kind)}</strong> <span class="muted">${e(i.spec.title)}</span>`,
          BADGE[i.status],
          e(i.detail),
        ]),
        [
          `<strong>canaries</strong> <span class="muted">the verifier catches planted defects</span>`,
          BADGE[canary.status],
          e(canary.summary),
        ],
        ...otherThresholds(r).map((t) => [
          `<strong>${e(t.name)}</strong> <span class="muted">expected ${e(t.expected)}</span>`,
          BADGE[thresholdStatus(t)],
          t.actual === null && t.pass ? '' : `actual ${e(formatThresholdActual(t))}`,
        ]),
      ],
    ),
  );

  S.push('<h2 id="timeline">Timeline</h2>');
  if (r.series.length === 0) S.push('<p class="muted">No workload samples were recorded.</p>');
  else {
    // each chart twice: wide for screens and paper, narrow for phones (CSS shows one), so that
    // its text stays readable instead of shrinking with the page
    const both = (draw: typeof throughputChartSvg, label: string, uid: string) =>
      inlineSvg(draw(r), label, uid).replace('class="chart"', 'class="chart chart-wide"') +
      inlineSvg(draw(r, { width: 440, height: 300 }), label, `${uid}n`).replace(
        'class="chart"',
        'class="chart chart-narrow"',
      );
    S.push(
      `<figure>${both(throughputChartSvg, 'writes and errors per second, fault windows shaded', 'tp')}` +
        `<figcaption>Writes per second as the writers saw them; shaded bands are fault windows.</figcaption></figure>`,
      `<figure>${both(latencyChartSvg, 'p50 and p99 write latency, fault windows shaded', 'lat')}` +
        `<figcaption>Write latency (p50, p99) per second, in milliseconds.</figcaption></figure>`,
    );
  }
  S.push(table(WORKLOAD_COLUMNS, [workloadRow(r).map(e)], [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]));
  const driver = driverSentence(r);
  if (driver)
    S.push(
      r.driver?.fellBehind ? `<p><strong>${e(driver)}.</strong></p>` : `<p class="muted">${e(driver)}.</p>`,
    );

  if (r.visibility) {
    const v = r.visibility;
    S.push('<h2 id="visibility">Visibility</h2>', `<p>${e(visibilitySentence(v))}.</p>`);
    if (v.points.length > 0)
      S.push(
        `<figure>${inlineSvg(visibilityLagChartSvg(r), 'visibility lag per followed event, fault windows shaded', 'vis')}` +
          '<figcaption>Time from each followed ack to the first read that found it (at the ack time, s); delayed events at their proven lag; shaded bands are fault windows.</figcaption></figure>',
        `<figure>${inlineSvg(visibilityHistogramSvg(r), 'distribution of the visibility lag', 'vish')}` +
          '<figcaption>Distribution of the lag as read.</figcaption></figure>',
      );
    S.push(
      table(
        VISIBILITY_COLUMNS,
        visibilityRows(v).map((row) => row.map(e)),
        [1, 2, 3, 4],
      ),
    );
  }

  S.push('<h2 id="faults">Faults</h2>');
  if (r.faults.length === 0) S.push('<p class="muted">No faults were planned.</p>');
  else
    S.push(
      table(
        ['id', 'kind', 'target', 'planned', 'ran', 'params', 'effect', 'error'],
        r.faults.map((f) => [
          e(f.id),
          e(f.kind),
          e(f.target),
          `${formatClock(f.plannedAt)} for ${formatMs(f.plannedFor)}`,
          f.startedAt === undefined
            ? '<span class="badge b-warn">never started</span>'
            : `${formatClock(f.startedAt)} to ${f.endedAt === undefined ? '<span class="badge b-warn">not healed</span>' : formatClock(f.endedAt)}${f.waitedFor ? ` <span class="muted">(${e(f.waitedFor)})</span>` : ''}`,
          `<code>${e(JSON.stringify(f.params))}</code>`,
          f.noEffect
            ? `<span class="badge b-warn">had no effect</span> ${e(f.noEffect)}`
            : dash(faultEffectText(f) || undefined),
          dash(f.error),
        ]),
      ),
    );
  for (const f of r.faults)
    for (const stage of ['start', 'heal'] as const) {
      const out = f.output?.[stage];
      if (out?.trim())
        S.push(
          `<details><summary>${e(f.id)} ${stage} command output</summary><pre>${e(out)}</pre></details>`,
        );
    }

  S.push('<h2 id="findings">Findings</h2>');
  const { groups, before } = findingSections(r);
  if (groups.length === 0 && before.length === 0)
    S.push(`<p>${r.scan ? 'None: every check that ran found nothing.' : 'The scan did not run.'}</p>`);
  else if (r.scan?.findingsOmitted)
    S.push(
      `<p class="muted">The first ${formatCount(r.findings.length)} findings are listed; every one is counted (${formatCount(r.scan.findingsOmitted)} more in the counts only).</p>`,
    );
  const findingRows = (fs: Report['findings']) =>
    table(
      ['kind', 'event id', 'seq', 'what the writer saw', 'expected', 'found', 'message'],
      fs.map((f) => [
        `<span class="badge ${f.severity === 'violation' ? 'b-fail' : f.severity === 'warning' ? 'b-warn' : 'b-skipped'}">${e(f.kind)}</span>`,
        `<span class="mono">${dash(f.eventId)}</span>`,
        dash(f.seq),
        f.story
          ? e(f.story.text)
          : activeFaultsOf(f).map(e).join('<br>') || '<span class="muted">not tied to a write</span>',
        `<span class="mono hash">${dash(f.expected)}</span>`,
        `<span class="mono hash">${dash(f.found)}</span>`,
        `${e(f.message)} <span class="muted">(${e(f.check)})</span>`,
      ]),
    );
  for (const g of groups) {
    const violations = g.findings.filter((f) => f.severity === 'violation').length;
    S.push(
      `<section class="finding-group" id="findings-${e(g.faultId ?? 'none')}"><h3>${e(g.title)} <span class="muted">${g.findings.length}${violations ? `, ${violations} violation(s)` : ''}</span></h3>`,
    );
    if (g.summaries.length) S.push(`<ul>${g.summaries.map((x) => `<li>${e(x.text)}</li>`).join('')}</ul>`);
    // Repetitive groups are summarised above; the full list is one click away.
    const open = g.summaries.length === 0 && g.findings.length <= 20;
    S.push(`<details${open ? ' open' : ''}><summary>all ${g.findings.length} finding(s)</summary>`);
    S.push(findingRows(g.findings));
    S.push('</details></section>');
  }
  if (before.length) {
    const counted = (r.scenario.asRun as { expect?: { beforeRun?: string } }).expect?.beforeRun === 'fail';
    S.push(
      `<section class="finding-group" id="findings-before"><h3>Before this run <span class="muted">${before.length}</span></h3>` +
        `<p class="muted">On entries that were in the log before the workload started: ${counted ? 'counted toward the verdict (expect.beforeRun: fail)' : 'warnings, not counted toward the verdict'}.</p>` +
        `<details><summary>all ${before.length} finding(s)</summary>${findingRows(before)}</details></section>`,
    );
  }

  S.push('<h2 id="tamper">Tamper probes</h2>');
  if (r.tamper.length === 0) S.push('<p class="muted">None were run.</p>');
  else
    S.push(
      table(
        ['probe', 'via', 'request', 'outcome', 'detection', 'detail'],
        r.tamper.map((t) => [
          e(t.name),
          e(t.via),
          `<code>${e(t.request)}</code>`,
          `<span class="badge ${t.outcome === 'accepted' ? 'b-fail' : t.outcome === 'error' ? 'b-warn' : 'b-pass'}">${e(t.outcome)}</span>`,
          t.detection
            ? `<span class="badge ${t.detection === 'detected' ? 'b-warn' : 'b-fail'}">${e(t.detection)}</span>`
            : dash(undefined),
          e(t.detail),
        ]),
      ),
    );

  S.push('<h2 id="scan">Scan</h2>');
  if (r.scan === null) S.push('<p>The run stopped before the scan.</p>');
  else {
    S.push(
      `<p>Read ${formatCount(r.scan.entries)} entries from <code>${e(r.scan.source)}</code> in ${formatMs(r.scan.durationMs)}. ` +
        `Signed checkpoints verified: ${r.checkpoints.verified}/${r.checkpoints.count}.</p>`,
      table(
        ['check', 'ran', 'why not'],
        r.scan.checksRun.map((c) => [
          e(c.name),
          c.ran ? BADGE.pass.replace('PASS', 'yes') : BADGE.skipped,
          dash(c.reason),
        ]),
      ),
    );
  }

  S.push('<h2 id="scenario">Scenario as run</h2>');
  if (r.scenario.file)
    S.push(
      `<p class="muted">From <code>${e(r.scenario.file)}</code>, defaults filled in, durations in ms.</p>`,
    );
  S.push(`<pre>${e(stringify(r.scenario.asRun).trimEnd())}</pre>`);
  if (r.timings.phases.length)
    S.push(
      table(
        ['phase', 'started (run clock)', 'took'],
        r.timings.phases.map((p) => [e(p.name), formatClock(p.startMs), formatLength(p.durationMs)]),
      ),
    );

  S.push(
    `<footer>${e(r.tool.name)} ${e(r.tool.version)} · ${Object.entries(r.runtime.versions)
      .map(([k, v]) => `${e(k)} ${e(v)}`)
      .join(' · ')}<br>Files: ${r.files.map((f) => `<code>${e(f)}</code>`).join(' ')}</footer>`,
  );

  return redactSecrets(
    page(`${r.scenario.name}: ${verdictHeadline(r)} - auditchaos`, S.join('\n')),
    opts.secrets,
  );
}
