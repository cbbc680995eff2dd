/**
 * The composition root of the CLI: reads argv, builds the context, runs one command, and is the
 * one place that turns errors into exit codes and prints fatal messages.
 */
import { Command, CommanderError } from 'commander';
import {
  causeNotInMessage,
  ExitCode,
  exitCodeOf,
  InterruptedError,
  isAuditChaosError,
  ScenarioError,
} from '../errors.ts';
import { loadCommands } from './commands/index.ts';
import type { CliContext } from './context.ts';
import { makeOutput, type Output } from './output.ts';

export const VERSION = '0.1.0';

export async function buildProgram(ctx: CliContext, args: readonly string[] = []): Promise<Command> {
  const program = new Command('auditchaos')
    .version(VERSION)
    .description('Chaos-testing harness for audit logs: does every acknowledged entry survive?')
    .showSuggestionAfterError(true)
    // `scan merge` has flags of the same names as `scan`: each command's flags go after its own name.
    .enablePositionalOptions()
    .exitOverride()
    .configureOutput({
      writeOut: (s) => process.stdout.write(s),
      writeErr: (s) => process.stderr.write(s),
      outputError: (s, write) => write(ctx.output.color.red(s)),
    })
    .addHelpText(
      'after',
      `
Examples:
  $ auditchaos validate scenarios/*.yml
  $ auditchaos run scenarios/quickstart.yml --seed 7
  $ auditchaos scan audit.jsonl --json

Exit codes: 0 pass, 1 violation, 2 bad input, 3 environment, 4 inconclusive, 70 internal error, 130 interrupted.`,
    );
  for (const register of await loadCommands(args)) register(program, ctx);
  for (const c of program.commands) c.exitOverride();
  return program;
}

export function reportError(e: unknown, output: Output): ExitCode {
  const { err, color } = output;
  if (e instanceof CommanderError) {
    if (e.code === 'commander.helpDisplayed' || e.code === 'commander.version' || e.code === 'commander.help')
      return ExitCode.ok;
    return ExitCode.usage; // commander already printed what was wrong
  }
  if (e instanceof ScenarioError) {
    for (const p of e.problems) err(`${color.bold(`${p.file}:${p.line}:${p.col}`)}  ${color.red(p.message)}`);
    err(color.red(`error: ${e.message}`));
    if (e.hint) err(`hint: ${e.hint}`);
    return e.exitCode;
  }
  if (isAuditChaosError(e)) {
    err(color.red(`error: ${e.message}`));
    if (e.cause instanceof Error && process.env.AUDITCHAOS_DEBUG) err(String(e.cause.stack));
    else {
      const cause = causeNotInMessage(e);
      if (cause !== undefined) err(color.dim(`cause: ${cause}`));
    }
    if (e.hint) err(`hint: ${e.hint}`);
    return exitCodeOf({ error: e });
  }
  err(color.red(`internal error: ${e instanceof Error ? e.message : String(e)}`));
  if (e instanceof Error && e.stack) err(color.dim(e.stack));
  err('This is a bug in auditchaos. Please report it with the command you ran and the output above.');
  return exitCodeOf({ error: e });
}

export async function main(argv: string[]): Promise<void> {
  // `auditchaos ... | head`: a reader that goes away stops the printing, never the run: teardown,
  // the report and the exit code go on as if the output were still read.
  for (const stream of [process.stdout, process.stderr]) muteOnClosedPipe(stream);
  const output = makeOutput();
  const abort = new AbortController();
  let exitCode: ExitCode = ExitCode.ok;
  let exitCodeFinal = false;
  let interrupts = 0;
  const onSignal = (signal: NodeJS.Signals) => {
    interrupts++;
    if (interrupts === 1) {
      output.err(output.color.yellow(`\n${signal}: stopping and cleaning up (press Ctrl-C again to force)`));
      abort.abort(new InterruptedError(signal));
    } else {
      process.exit(ExitCode.interrupted);
    }
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const ctx: CliContext = {
    output,
    signal: abort.signal,
    env: process.env,
    cwd: process.cwd(),
    setExitCode: (code, opts) => {
      exitCode = code;
      exitCodeFinal = opts?.final === true;
    },
  };
  try {
    await (await buildProgram(ctx, argv.slice(2))).parseAsync(argv);
    if (abort.signal.aborted && exitCode === ExitCode.ok && !exitCodeFinal) exitCode = ExitCode.interrupted;
  } catch (e) {
    exitCode = abort.signal.aborted ? ExitCode.interrupted : reportError(e, output);
    if (abort.signal.aborted && !(e instanceof InterruptedError)) reportError(e, output);
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
  process.exitCode = exitCode;
  // The command is done and its exit code decided (for `run`, the one its report states): a signal
  // while the process closes its last handles ends it with that code, not as killed by the signal.
  const onLateSignal = () => process.exit(exitCode);
  process.once('SIGINT', onLateSignal);
  process.once('SIGTERM', onLateSignal);
}

/** After EPIPE (or EIO from a closed terminal), writes to the stream are dropped, not thrown. */
export function muteOnClosedPipe(stream: NodeJS.WriteStream): void {
  stream.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE' && e.code !== 'EIO' && e.code !== 'ERR_STREAM_DESTROYED') throw e;
    stream.write = ((_chunk: unknown, ...rest: unknown[]) => {
      const cb = rest.find((r) => typeof r === 'function') as (() => void) | undefined;
      cb?.();
      return true;
    }) as typeof stream.write;
  });
}
