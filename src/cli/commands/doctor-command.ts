import { ExitCode, UsageError } from '../../errors.ts';
import { readScenarioFile } from '../../scenario/read.ts';
import { parseHostPort } from '../../scenario/units.ts';
import { runDoctor } from '../../stack/doctor.ts';
import type { RegisterCommand } from '../context.ts';

const RUNTIMES = ['auto', 'compose', 'local'] as const;

export const registerDoctor: RegisterCommand = (program, ctx) => {
  program
    .command('doctor')
    .description('check what this machine can run: Docker, compose, images, PostgreSQL, free ports')
    .option('--scenario <file>', "check the ports of this scenario's proxies (default: 18080 and 15432)")
    .option('--runtime <name>', `the runtime that must work for exit 0: ${RUNTIMES.join(', ')}`, 'auto')
    .option('--json', 'print the result as JSON')
    .addHelpText('after', '\nExample:\n  $ auditchaos doctor --scenario scenarios/db-downtime.yml\n')
    .action(async (opts: { scenario?: string; runtime: string; json?: boolean }) => {
      if (!(RUNTIMES as readonly string[]).includes(opts.runtime)) {
        throw new UsageError(`--runtime ${opts.runtime} is not one of ${RUNTIMES.join(', ')}`);
      }
      let ports = [18080, 15432];
      if (opts.scenario) {
        const loaded = await readScenarioFile(opts.scenario);
        ports = loaded.scenario.proxies.flatMap((p) => parseHostPort(p.listen)?.port ?? []);
      }
      const report = await runDoctor({ env: ctx.env, ports });
      const portsOk = report.checks.every((c) => c.status !== 'fail');
      const usable =
        opts.runtime === 'compose'
          ? report.runtimes.compose
          : opts.runtime === 'local'
            ? report.runtimes.local
            : report.auto.kind !== undefined;
      const ok = usable && portsOk;
      const { out, color } = ctx.output;
      if (opts.json) {
        out(JSON.stringify({ ok, ...report }, null, 2));
      } else {
        const mark = { ok: color.green('ok  '), warn: color.yellow('warn'), fail: color.red('FAIL') };
        for (const c of report.checks) {
          out(`${mark[c.status]}  ${c.name.padEnd(20)} ${c.detail}`);
          if (c.hint && c.status !== 'ok') out(`      ${' '.repeat(20)} ${color.dim(`-> ${c.hint}`)}`);
        }
        out('');
        out(
          `runtimes: compose ${report.runtimes.compose ? 'yes' : 'no'}, local ${report.runtimes.local ? 'yes' : 'no'}`,
        );
        out(`auto picks: ${report.auto.kind ?? 'nothing'} (${report.auto.why})`);
        if (!ok) {
          out(
            color.red(
              !usable ? `the ${opts.runtime} runtime cannot run here` : 'a port the stack needs is in use',
            ),
          );
        }
      }
      ctx.setExitCode(ok ? ExitCode.ok : ExitCode.environment);
    });
};
