import type { Command } from 'commander';
import type { ExitCode } from '../errors.ts';
import type { Output } from './output.ts';

/** What every command gets from the composition root: where to print, and the run's abort signal. */
export interface CliContext {
  output: Output;
  /** Aborted on SIGINT/SIGTERM; long work watches it and cleans up. */
  signal: AbortSignal;
  env: NodeJS.ProcessEnv;
  cwd: string;
  /**
   * Commands report their outcome here; main maps it to process.exitCode. After SIGINT/SIGTERM an
   * exit code 0 becomes 130, unless `final`: the code is what a written report says (`run`), and
   * a signal that lands after the report is final does not contradict it.
   */
  setExitCode: (code: ExitCode, opts?: { final?: boolean }) => void;
}

/** A command file registers its own flags and action on the program. */
export type RegisterCommand = (program: Command, ctx: CliContext) => void;
