/** report.md: the same story as report.html, for a terminal, a PR comment or a wiki page. */
import { stringify } from 'yaml';
import {
  activeFaultsOf,
  canaryResult,
  driverSentence,
  faultEffectText,
  findingSections,
  formatClock,
  formatCount,
  formatMs,
  formatPhase,
  formatThresholdActual,
  invariantResults,
  otherThresholds,
  thresholdStatus,
  verdictHeadline,
  WORKLOAD_COLUMNS,
  workloadRow,
} from './invariants.ts';
import type { RenderOptions } from './json.ts';
import type { Report } from './model.ts';
import { redactDeep, redactSecrets } from './redact.ts';
import { histogramRows, VISIBILITY_COLUMNS, visibilityRows, visibilitySentence } from './visibility.ts';
import { visibleLines } from './visible.ts';

/** Findings listed per kind in md and html; report.json always has all of them. */
export const FINDINGS_SHOWN_PER_KIND = 50;

const cell = (v: unknown): string =>
  v === undefined || v === null || v === ''
    ? '-'
    : String(v).replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');

function table(head: string[], rows: unknown[][]): string[] {
  return [
    `| ${head.join(' | ')} |`,
    `| ${head.map(() => '---').join(' | ')} |`,
    ...rows.map((r) => `| ${r.map(cell).join(' | ')} |`),
  ];
}

function findingTable(fs: Report['findings']): string[] {
  return table(
    ['kind', 'event id', 'seq', 'what the writer saw', 'expected', 'found', 'message'],
    fs.map((f) => [
      `${f.kind} (${f.severity})`,
      f.eventId,
      f.seq,
      f.story?.text ??
        (activeFaultsOf(f).length ? `faults active: ${activeFaultsOf(f).join('; ')}` : undefined),
      f.expected,
      f.found,
      `${f.message} (${f.check})`,
    ]),
  );
}

const MARK = { pass: 'PASS', fail: '**FAIL**', skipped: 'not checked' } as const;

export function renderMarkdown(input: Report, opts: RenderOptions = {}): string {
  const r = redactDeep(input, opts.secrets);
  const L: string[] = [];
  L.push(`# ${r.scenario.name}: ${verdictHeadline(r)}`, '');
  if (r.overview) {
    L.push(`System under test: ${r.overview.subject}.`, '');
    for (const t of r.overview.sentences) L.push(`**${t}**`, '');
  }
  for (const reason of r.verdict.reasons) L.push(`- ${reason}`);
  if (r.verdict.reasons.length) L.push('');
  L.push(
    `${r.scenario.description}`,
    '',
    `Seed \`${r.seed}\` · run \`${r.runId}\` · ${r.runtime.kind} runtime (${r.runtime.why}) · ` +
      `${r.timings.startedAt} to ${r.timings.endedAt} (${formatClock(r.timings.durationMs)}) · ${r.tool.name} ${r.tool.version}`,
    '',
  );

  L.push('## Invariants', '');
  L.push(
    ...table(
      ['invariant', 'result', 'detail'],
      invariantResults(r).map((i) => [`${i.spec.kind}: ${i.spec.title}`, MARK[i.status], i.detail]),
    ),
  );
  const canary = canaryResult(r);
  L.push('', `Verifier self-check: ${MARK[canary.status]}, ${canary.summary}.`, '');
  const others = otherThresholds(r);
  if (others.length) {
    L.push('## Thresholds', '');
    L.push(
      ...table(
        ['threshold', 'expected', 'actual', 'result'],
        others.map((t) => [
          t.name,
          t.expected,
          formatThresholdActual(t),
          ({ pass: 'PASS', fail: '**FAIL**', skipped: 'not checked' } as const)[thresholdStatus(t)],
        ]),
      ),
      '',
    );
  }

  L.push('## Workload', '');
  L.push(...table(WORKLOAD_COLUMNS, [workloadRow(r)]), '');
  const driver = driverSentence(r);
  if (driver) L.push(r.driver?.fellBehind ? `**${driver}.**` : `${driver}.`, '');
  if (r.timings.phases.length) {
    L.push(`Phases: ${r.timings.phases.map(formatPhase).join(', ')}.`, '');
  }

  if (r.visibility) {
    const v = r.visibility;
    L.push('## Visibility', '', `${visibilitySentence(v)}.`, '');
    L.push(...table(VISIBILITY_COLUMNS, visibilityRows(v)), '');
    L.push(...table(['lag as read', 'events'], histogramRows(v)), '');
  }

  L.push('## Faults', '');
  if (r.faults.length === 0) L.push('No faults were planned.', '');
  else {
    L.push(
      ...table(
        ['id', 'kind', 'target', 'planned', 'ran', 'params', 'effect', 'error'],
        r.faults.map((f) => [
          f.id,
          f.kind,
          f.target,
          `${formatClock(f.plannedAt)} for ${formatMs(f.plannedFor)}`,
          f.startedAt === undefined
            ? 'never started'
            : `${formatClock(f.startedAt)} to ${f.endedAt === undefined ? 'not healed' : formatClock(f.endedAt)}${f.waitedFor ? ` (${f.waitedFor})` : ''}`,
          JSON.stringify(f.params),
          faultEffectText(f),
          f.error,
        ]),
      ),
      '',
    );
    for (const f of r.faults)
      for (const stage of ['start', 'heal'] as const) {
        const out = f.output?.[stage];
        if (out?.trim()) L.push(`${f.id} ${stage} command printed:`, '', '```', out.trimEnd(), '```', '');
      }
  }

  L.push('## Findings', '');
  const { groups, before } = findingSections(r);
  if (groups.length === 0 && before.length === 0) L.push(r.scan ? 'None.' : 'The scan did not run.', '');
  else if (r.scan?.findingsOmitted)
    L.push(
      `The first ${formatCount(r.findings.length)} findings are listed; every one is counted (${formatCount(r.scan.findingsOmitted)} more are in the counts only).`,
      '',
    );
  for (const g of groups) {
    L.push(`### ${g.title} (${g.findings.length})`, '');
    for (const s of g.summaries) L.push(`- ${s.text}`);
    if (g.summaries.length) L.push('');
    L.push(...findingTable(g.findings.slice(0, FINDINGS_SHOWN_PER_KIND)));
    if (g.findings.length > FINDINGS_SHOWN_PER_KIND)
      L.push('', `... and ${g.findings.length - FINDINGS_SHOWN_PER_KIND} more in report.json.`);
    L.push('');
  }
  if (before.length) {
    L.push(`### Before this run (${before.length})`, '');
    L.push(
      `On entries that were in the log before the workload started: ${r.scenario.asRun && (r.scenario.asRun as { expect?: { beforeRun?: string } }).expect?.beforeRun === 'fail' ? 'counted toward the verdict (expect.beforeRun: fail)' : 'warnings, not counted toward the verdict (expect.beforeRun: warn)'}.`,
      '',
    );
    L.push(...findingTable(before.slice(0, FINDINGS_SHOWN_PER_KIND)));
    if (before.length > FINDINGS_SHOWN_PER_KIND)
      L.push('', `... and ${before.length - FINDINGS_SHOWN_PER_KIND} more in report.json.`);
    L.push('');
  }

  L.push('## Tamper probes', '');
  if (r.tamper.length === 0) L.push('None were run.', '');
  else {
    L.push(
      ...table(
        ['probe', 'via', 'request', 'outcome', 'detection', 'detail'],
        r.tamper.map((t) => [t.name, t.via, `\`${t.request}\``, t.outcome, t.detection, t.detail]),
      ),
      '',
    );
  }

  L.push('## Scan', '');
  if (r.scan === null) L.push('The run stopped before the scan.', '');
  else {
    L.push(
      `Read ${formatCount(r.scan.entries)} entries from ${r.scan.source} in ${formatMs(r.scan.durationMs)}. ` +
        `Checkpoints: ${r.checkpoints.verified}/${r.checkpoints.count} verified.`,
      '',
      ...table(
        ['check', 'ran', 'why not'],
        r.scan.checksRun.map((c) => [c.name, c.ran ? 'yes' : '**no**', c.reason]),
      ),
      '',
    );
  }

  L.push('## Scenario as run', '');
  if (r.scenario.file) L.push(`From \`${r.scenario.file}\`, defaults filled in, durations in ms.`, '');
  L.push('```yaml', stringify(r.scenario.asRun).trimEnd(), '```', '');

  L.push('## Versions and files', '');
  L.push(
    ...table(
      ['component', 'version'],
      [[r.tool.name, r.tool.version], ...Object.entries(r.runtime.versions)],
    ),
    '',
  );
  if (r.files.length) L.push(r.files.map((f) => `\`${f}\``).join(' · '), '');
  return redactSecrets(visibleLines(`${L.join('\n').trimEnd()}\n`), opts.secrets);
}
