import { exitCodeOf, UsageError } from '../../errors.ts';
import { reportJsonSchema } from '../../report/model.ts';
import { REPORT_FORMATS, type ReportFormat, rerenderReport } from '../../report/write.ts';
import type { RegisterCommand } from '../context.ts';

export function parseFormats(text: string): ReportFormat[] {
  const list = text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const bad = list.filter((f) => !(REPORT_FORMATS as readonly string[]).includes(f) || f === 'json');
  if (bad.length || list.length === 0)
    throw new UsageError(
      `--formats: ${bad.length ? `"${bad.join('", "')}" not allowed` : 'empty'}; allowed: md, html, junit`,
    );
  return list as ReportFormat[];
}

export const registerReport: RegisterCommand = (program, ctx) => {
  program
    .command('report')
    .description("re-render report.md, report.html and junit.xml from a report folder's report.json")
    .argument('[dir]', 'a report folder written by `auditchaos run`')
    .option('--formats <list>', 'comma-separated: md, html, junit', 'md,html,junit')
    .option('--schema', 'print the JSON Schema of report.json instead')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      "\nThe exit code is the report's verdict: 0 pass, 1 fail, 4 unknown.\n\nExample:\n  $ auditchaos report reports/db-downtime-20261121T230000Z\n  $ auditchaos report --schema > report.schema.json\n",
    )
    .action(async (dir: string | undefined, opts: { formats: string; schema?: boolean; json?: boolean }) => {
      const { out, color } = ctx.output;
      if (opts.schema) {
        out(JSON.stringify(reportJsonSchema(), null, 2));
        return;
      }
      if (dir === undefined)
        throw new UsageError('missing the report folder', {
          hint: 'auditchaos report reports/<scenario>-<time>',
        });
      const formats = parseFormats(opts.formats);
      const { report, written } = await rerenderReport(dir, { formats });
      if (opts.json) out(JSON.stringify({ dir, verdict: report.verdict, written }, null, 2));
      else {
        for (const f of written) out(`${color.green('wrote')} ${dir.replace(/\/$/, '')}/${f}`);
        const s = report.verdict.status;
        const paint = s === 'pass' ? color.green : s === 'fail' ? color.red : color.yellow;
        out(
          `${paint(s.toUpperCase())}  ${report.scenario.name}${report.interrupted ? ' (interrupted)' : ''}`,
        );
      }
      ctx.setExitCode(exitCodeOf({ verdict: report.verdict.status }));
    });
};
