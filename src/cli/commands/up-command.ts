import { ExitCode, UsageError } from '../../errors.ts';
import { redactUrl } from '../../redact-url.ts';
import { readScenarioFile } from '../../scenario/read.ts';
import { RUNTIMES, type RuntimeName } from '../../scenario/vocabulary.ts';
import type { RegisterCommand } from '../context.ts';

export const registerUp: RegisterCommand = (program, ctx) => {
  program
    .command('up')
    .description("bring a scenario's stack up and leave it running, for exploring by hand")
    .argument('<scenario>', 'scenario YAML file (its stack and proxies are used)')
    .option('--runtime <kind>', `override stack.runtime: ${RUNTIMES.join(', ')}`)
    .option('--json', 'print the endpoints as JSON')
    .addHelpText('after', '\nExample:\n  $ auditchaos up scenarios/quickstart.yml\n  $ auditchaos down\n')
    .action(async (file: string, opts: { runtime?: string; json?: boolean }) => {
      if (opts.runtime !== undefined && !(RUNTIMES as readonly string[]).includes(opts.runtime)) {
        throw new UsageError(`--runtime must be one of ${RUNTIMES.join(', ')}, got "${opts.runtime}"`);
      }
      const loaded = await readScenarioFile(file);
      const { chooseRuntime, createStack } = await import('../../stack/factory.ts');
      const { newRunId } = await import('../../run/run-id.ts');
      const choice = await chooseRuntime(
        (opts.runtime as RuntimeName) ?? loaded.scenario.stack.runtime,
        ctx.env,
        opts.runtime !== undefined ? 'flag' : 'scenario',
      );
      const runId = newRunId(loaded.scenario.name);
      const { out, err, color } = ctx.output;
      const stack = createStack(choice, { runId, loaded, log: (l) => err(color.dim(l)) });
      err(color.dim(`runtime ${choice.kind}: ${choice.why}`));
      let ep: Awaited<ReturnType<typeof stack.up>>;
      try {
        ep = await stack.up(ctx.signal);
      } catch (e) {
        await stack.down().catch(() => undefined);
        throw e;
      }
      await stack.detach?.();
      if (opts.json) out(JSON.stringify({ runId, runtime: choice.kind, ...ep }, null, 2));
      else {
        out(`${color.green('up')}: run ${runId} (${choice.kind})`);
        out(`  service (through proxy api): ${ep.serviceUrl}`);
        if (ep.serviceDirectUrl) out(`  service (direct):            ${ep.serviceDirectUrl}`);
        out(`  toxiproxy API:               ${ep.toxiproxyUrl}`);
        // The password is not printed (terminals are recorded, shared, pasted); --json carries it.
        if (ep.databaseUrl)
          out(`  database (owner role):       ${redactUrl(ep.databaseUrl)}  (password: --json)`);
        for (const [name, p] of Object.entries(ep.proxies))
          out(`  proxy ${name}: ${p.listen} -> ${p.upstream}`);
        out('take it down with: auditchaos down');
      }
      ctx.setExitCode(ExitCode.ok);
    });
};
