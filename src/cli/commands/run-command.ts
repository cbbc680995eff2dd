import path from 'node:path';
import { ExitCode, isAuditChaosError, UsageError } from '../../errors.ts';
import type { RunOutcome } from '../../run/run-scenario.ts';
import { readScenarioFile } from '../../scenario/read.ts';
import { FLAW_MODES, RUNTIMES, type RuntimeName } from '../../scenario/vocabulary.ts';
import { parseFlaws } from '../../service/flaws.ts';
import { checkOutputDir } from '../check-output-dir.ts';
import type { RegisterCommand } from '../context.ts';

interface RunFlags {
  seed?: string;
  runtime?: string;
  flaws?: string;
  out?: string;
  reportsDir: string;
  keepStack?: boolean;
  json?: boolean;
  quiet?: boolean;
}

export const registerRun: RegisterCommand = (program, ctx) => {
  program
    .command('run')
    .description('run scenarios: stack up, workload + faults, tamper, scan, verdict, report')
    .argument('<scenario...>', 'scenario YAML files, run one after another')
    .option('--seed <n>', 'seed for the fault and workload plans (default: the scenario seed, else random)')
    .option('--runtime <kind>', `override stack.runtime: ${RUNTIMES.join(', ')}`)
    .option(
      '--flaws <a,b>',
      `override stack.flaws of the reference service (${FLAW_MODES.join(', ')}; "none" for none)`,
    )
    .option('--out <dir>', 'report folder (one scenario only)')
    .option('--reports-dir <dir>', 'where report folders go', 'reports')
    .option('--keep-stack', 'leave the stack up after the run and print how to reach it')
    .option('--json', 'JSON lines of run events on stdout')
    .option('--quiet', 'print only the verdict and the report path')
    .addHelpText(
      'after',
      '\nExamples:\n  $ auditchaos run scenarios/quickstart.yml\n  $ auditchaos run scenarios/*.yml --seed 7 --reports-dir out/\n',
    )
    .action(async (files: string[], flags: RunFlags) => {
      const seed = flags.seed === undefined ? undefined : Number(flags.seed);
      if (seed !== undefined && (!Number.isSafeInteger(seed) || seed < 0)) {
        throw new UsageError(`--seed must be a non-negative integer, got "${flags.seed}"`);
      }
      if (flags.runtime !== undefined && !(RUNTIMES as readonly string[]).includes(flags.runtime)) {
        throw new UsageError(`--runtime must be one of ${RUNTIMES.join(', ')}, got "${flags.runtime}"`);
      }
      if (flags.out && files.length > 1)
        throw new UsageError('--out takes one scenario; use --reports-dir for several');
      if (flags.keepStack && files.length > 1) throw new UsageError('--keep-stack takes one scenario');
      checkOutputDir(flags.reportsDir, '--reports-dir');
      if (flags.out) checkOutputDir(flags.out, '--out');
      // Every scenario is checked before anything starts: a typo in the third must not cost two runs.
      const loaded = [];
      for (const f of files) loaded.push(await readScenarioFile(f));
      if (flags.flaws !== undefined) {
        const flaws = parseFlaws(flags.flaws);
        for (const l of loaded) l.scenario.stack.flaws = flaws;
      }

      // Loaded on use: `auditchaos proxy` and `serve` child processes should not pay for them.
      const { createTerminalSink } = await import('../../report/terminal/index.ts');
      const { writeIndex } = await import('../../report/write.ts');
      const { runScenario, preflightRun } = await import('../../run/run-scenario.ts');
      const { worstExitCode } = await import('../../run/assemble.ts');
      const { defaultPorts } = await import('../../run/ports.ts');
      const ports = await defaultPorts(ctx.env);
      // Settings that can be checked without a stack (hash recipe, scan source) are, for every scenario.
      for (const l of loaded) await preflightRun(l, ports);
      const outcomes: RunOutcome[] = [];
      for (const l of loaded) {
        if (ctx.signal.aborted) break;
        const sink = createTerminalSink({
          stream: process.stdout,
          color: ctx.output.color,
          json: flags.json,
          quiet: flags.quiet,
        });
        try {
          outcomes.push(
            await runScenario({
              loaded: l,
              seed,
              runtime: flags.runtime as RuntimeName | undefined,
              outDir: flags.out,
              reportsRoot: path.resolve(ctx.cwd, flags.reportsDir),
              keepStack: flags.keepStack,
              signal: ctx.signal,
              sink,
              ports,
            }),
          );
          const bug = outcomes[outcomes.length - 1]?.failure;
          if (bug !== undefined && !isAuditChaosError(bug)) {
            ctx.output.err(`internal error: ${bug instanceof Error ? bug.message : String(bug)}`);
            if (bug instanceof Error && bug.stack) ctx.output.err(ctx.output.color.dim(bug.stack));
            ctx.output.err(
              'This is a bug in auditchaos. Please report it with the command you ran and the output above.',
            );
          }
        } finally {
          sink.close();
        }
      }
      const kept = outcomes.find((o) => o.keptStack)?.keptStack;
      if (kept && !flags.json) {
        ctx.output.out(
          `\nThe stack is still up (--keep-stack), run ${kept.runId} (${kept.kind}):\n` +
            `  service:   ${kept.serviceUrl}\n  toxiproxy: ${kept.toxiproxyUrl}\n` +
            (kept.databaseUrl ? `  database:  ${kept.databaseUrl.replace(/:[^:@/]*@/, ':***@')}\n` : '') +
            '  take it down with: auditchaos down',
        );
      }
      // The index (index.html + one combined junit.xml) sits at the top of the reports folder, so
      // that CI publishes one fixed path however many scenarios ran.
      if (outcomes.length > 0 && !flags.out) {
        const root = path.resolve(ctx.cwd, flags.reportsDir);
        await writeIndex(
          root,
          outcomes.map((o) => ({ report: o.report, dir: o.reportDir })),
        );
        if (outcomes.length > 1 && !flags.json && !flags.quiet) {
          ctx.output.out(
            `\nindex of ${outcomes.length} runs: ${path.join(root, 'index.html')} (junit: ${path.join(root, 'junit.xml')})`,
          );
        }
      }
      // The exit code is what the written reports say: a run interrupted before its report was
      // final says "interrupted" in it (exit 130); a signal after the last report changes nothing.
      // A scenario the interrupt kept from running has no report: 130.
      const codes = outcomes.map((o) => o.exitCode as number);
      if (outcomes.length < loaded.length) codes.push(ExitCode.interrupted);
      ctx.setExitCode(worstExitCode(codes), { final: true });
    });
};
