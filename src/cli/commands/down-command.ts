import { ExitCode } from '../../errors.ts';
import type { RegisterCommand } from '../context.ts';

export const registerDown: RegisterCommand = (program, ctx) => {
  program
    .command('down')
    .description('take down stacks left up (--keep-stack, `up`) and sweep leftovers of crashed runs')
    .argument('[run-id]', 'only this run')
    .option('--all', 'also runs whose CLI is still running, and every container labelled by auditchaos')
    .option('--json', 'print what was done as JSON')
    .addHelpText('after', '\nExamples:\n  $ auditchaos down\n  $ auditchaos down --all\n')
    .action(async (runId: string | undefined, opts: { all?: boolean; json?: boolean }) => {
      const { sweepLeftovers } = await import('../../stack/sweep.ts');
      const r = await sweepLeftovers({ all: opts.all, runId, env: ctx.env });
      const { out, color } = ctx.output;
      if (opts.json) out(JSON.stringify(r, null, 2));
      else {
        if (!r.runs.length && !r.skipped.length && !r.tmpFiles.length && !r.docker?.containers.length)
          out('nothing to take down');
        for (const run of r.runs) {
          out(`${color.bold(run.runId)} (${run.runtime})`);
          for (const a of run.actions) out(`  ${a}`);
          if (!run.actions.length) out('  nothing was left running');
        }
        for (const s of r.skipped) out(color.yellow(`skipped ${s.runId}: ${s.why}`));
        for (const f of r.tmpFiles) out(`removed ${f} (a state write its CLI did not finish)`);
        if (r.docker) {
          for (const c of r.docker.containers) out(`removed container ${c}`);
          for (const n of r.docker.networks) out(`removed network ${n}`);
          for (const v of r.docker.volumes) out(`removed volume ${v}`);
          if (r.docker.error) out(color.red(`docker: ${r.docker.error}`));
        }
      }
      ctx.setExitCode(ExitCode.ok);
    });
};
