/**
 * The `command` fault: the team's own shell commands start and heal it (kubectl delete pod,
 * systemctl kill, docker kill, kill -9 of a local database). This is how a stack auditchaos did
 * not start gets faults beyond the network.
 *
 * The heal is written to the run's state file before the start command runs, so that
 * `auditchaos down` can run it when the CLI dies mid-fault (SIGKILL, a lost terminal); it is
 * removed from there only once it succeeded. A start that fails still runs the heal (the start
 * may have done half its work), then fails the fault.
 */
import { execa } from 'execa';
import { EnvironmentError } from '../errors.ts';
import type { Heal } from './toxiproxy-faults.ts';

/** A heal that has to run when the run that started its fault cannot: kept in the state file. */
export interface PendingHeal {
  faultId: string;
  heal: string;
  env: Record<string, string>;
  timeoutMs: number;
  cwd: string;
}

/** Where pending heals are written down (the run's state file); in memory in the fast tests. */
export interface PendingHeals {
  add(h: PendingHeal): Promise<void>;
  remove(faultId: string): Promise<void>;
}

export interface CommandResult {
  exitCode: number | undefined;
  /** stdout and stderr, interleaved, cut to OUTPUT_LIMIT characters */
  output: string;
  timedOut: boolean;
  /** Set when the command could not be run at all (no shell, ...). */
  error?: string;
}

export type CommandRunner = (
  command: string,
  opts: { env: Record<string, string>; timeoutMs: number; cwd: string },
) => Promise<CommandResult>;

export interface CommandFaultSpec {
  start: string;
  heal: string;
  timeout: number;
  env: Record<string, string>;
}

export interface CommandFaultDeps {
  pending?: PendingHeals;
  run?: CommandRunner;
  /** Where the commands run; the scenario's folder. */
  cwd?: string;
  /** Receives each command's output, for the fault log. */
  onOutput?: (stage: 'start' | 'heal', result: CommandResult) => void;
}

const OUTPUT_LIMIT = 4000;

function cut(s: string): string {
  return s.length <= OUTPUT_LIMIT
    ? s
    : `${s.slice(0, OUTPUT_LIMIT)}\n... (${s.length - OUTPUT_LIMIT} more characters)`;
}

function killGroup(pid: number | undefined, signal: NodeJS.Signals): void {
  if (pid === undefined) return;
  try {
    process.kill(-pid, signal);
  } catch {
    // the group is gone
  }
}

/**
 * Runs one command through the shell, never throwing: the result says what happened. The shell
 * gets a process group of its own, so that a timeout reaches what it started too (killing only the
 * shell would leave `sleep` or `kubectl` holding the output pipe, and the wait would not end).
 */
export const runShellCommand: CommandRunner = async (command, opts) => {
  const child = execa(command, {
    shell: true,
    all: true,
    reject: false,
    stdin: 'ignore',
    env: opts.env,
    extendEnv: true,
    cwd: opts.cwd,
    detached: true,
  });
  let timedOut = false;
  let hard: NodeJS.Timeout | undefined;
  const timer = setTimeout(() => {
    timedOut = true;
    killGroup(child.pid, 'SIGTERM');
    hard = setTimeout(() => killGroup(child.pid, 'SIGKILL'), 2000);
  }, opts.timeoutMs);
  try {
    const r = await child;
    return {
      exitCode: r.exitCode,
      output: cut(typeof r.all === 'string' ? r.all : ''),
      timedOut,
      ...(r.failed && r.exitCode === undefined && !timedOut
        ? { error: r.signal ? `killed by ${r.signal}` : r.shortMessage }
        : {}),
    };
  } finally {
    clearTimeout(timer);
    clearTimeout(hard);
  }
};

function failed(r: CommandResult): boolean {
  return r.timedOut || r.exitCode !== 0 || r.error !== undefined;
}

function describe(stage: string, command: string, r: CommandResult, timeoutMs: number): string {
  const why = r.timedOut
    ? `timed out after ${timeoutMs} ms`
    : r.error !== undefined
      ? r.error
      : `exited with code ${r.exitCode}`;
  const tail = r.output.trim().split('\n').slice(-3).join(' | ');
  return `${stage} command \`${command}\` ${why}${tail ? `: ${tail}` : ''}`;
}

export async function applyCommandFault(
  f: CommandFaultSpec,
  faultId: string,
  deps: CommandFaultDeps = {},
): Promise<Heal> {
  const run = deps.run ?? runShellCommand;
  const cwd = deps.cwd ?? process.cwd();
  const opts = { env: f.env, timeoutMs: f.timeout, cwd };
  const heal = async (): Promise<void> => {
    const r = await run(f.heal, opts);
    deps.onOutput?.('heal', r);
    if (failed(r))
      throw new EnvironmentError(describe('heal', f.heal, r, f.timeout), {
        hint: 'heal it by hand; `auditchaos down` runs the heal command again',
      });
    await deps.pending?.remove(faultId);
  };
  await deps.pending?.add({ faultId, heal: f.heal, env: f.env, timeoutMs: f.timeout, cwd });
  const r = await run(f.start, opts);
  deps.onOutput?.('start', r);
  if (failed(r)) {
    const message = describe('start', f.start, r, f.timeout);
    let healError = '';
    try {
      await heal();
    } catch (e) {
      healError = `; the heal after it failed too: ${(e as Error).message}`;
    }
    throw new EnvironmentError(message + healError, {
      hint: 'run the start command by hand to see why; the fault was not applied',
    });
  }
  return heal;
}
