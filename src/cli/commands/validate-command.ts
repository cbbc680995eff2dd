import { ExitCode } from '../../errors.ts';
import { formatDuration } from '../../scenario/units.ts';
import type { RegisterCommand } from '../context.ts';
import { validateScenarios } from './validate.ts';

export const registerValidate: RegisterCommand = (program, ctx) => {
  program
    .command('validate')
    .description('check scenario files without running anything')
    .argument('<scenario...>', 'scenario YAML files')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  $ auditchaos validate scenarios/*.yml\n')
    .action(async (files: string[], opts: { json?: boolean }) => {
      const results = await validateScenarios(files);
      const { out, err, color } = ctx.output;
      if (opts.json) {
        out(
          JSON.stringify(
            results.map((r) => ({
              file: r.file,
              ok: r.ok,
              name: r.scenario?.name,
              problems: r.problems,
              warnings: r.warnings,
            })),
            null,
            2,
          ),
        );
      } else {
        for (const r of results) {
          if (r.ok && r.scenario) {
            const s = r.scenario;
            out(
              `${color.green('ok')}  ${r.file}  ${color.dim(
                `${s.name}: ${formatDuration(s.workload.duration)}, ${s.faults.length} fault(s), ${s.tamper.length} tamper probe(s)`,
              )}`,
            );
            for (const w of r.warnings) err(`${color.bold(r.file)}  ${color.yellow(`warning: ${w}`)}`);
          } else {
            for (const p of r.problems) {
              err(`${color.bold(p.line ? `${p.file}:${p.line}:${p.col}` : p.file)}  ${color.red(p.message)}`);
            }
          }
        }
        const bad = results.filter((r) => !r.ok).length;
        if (bad > 0) err(color.red(`${bad} of ${results.length} scenario file(s) have problems`));
      }
      ctx.setExitCode(results.every((r) => r.ok) ? ExitCode.ok : ExitCode.usage);
    });
};
