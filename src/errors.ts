/**
 * One base error carrying an exit code and a hint; src/cli/ is the only place that turns
 * these into process exit codes. A failed invariant is never an error: it is a verdict.
 */
export const ExitCode = {
  ok: 0,
  violation: 1,
  usage: 2,
  environment: 3,
  inconclusive: 4,
  internal: 70,
  interrupted: 130,
} as const;
export type ExitCode = (typeof ExitCode)[keyof typeof ExitCode];

export class AuditChaosError extends Error {
  readonly exitCode: ExitCode;
  readonly hint: string | undefined;
  constructor(message: string, opts: { exitCode: ExitCode; hint?: string; cause?: unknown }) {
    super(message, opts.cause === undefined ? undefined : { cause: opts.cause });
    this.name = new.target.name;
    this.exitCode = opts.exitCode;
    this.hint = opts.hint;
  }
}

/** Bad flags, bad files, bad scenarios: the user can fix it (exit 2). */
export class UsageError extends AuditChaosError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.usage });
  }
}

export interface ScenarioProblem {
  file: string;
  line: number;
  col: number;
  message: string;
}

/** Every problem of a scenario at once, each with its file, line and column. */
export class ScenarioError extends UsageError {
  readonly problems: ScenarioProblem[];
  constructor(problems: ScenarioProblem[]) {
    super(problems.length === 1 ? `scenario has 1 problem` : `scenario has ${problems.length} problems`, {
      hint: 'fix the lines above; `auditchaos schema` prints every allowed key',
    });
    this.problems = problems;
  }
}

/** Docker missing, a port taken, an image not found, a database that will not start (exit 3). */
export class EnvironmentError extends AuditChaosError {
  constructor(message: string, opts: { hint?: string; cause?: unknown } = {}) {
    super(message, { ...opts, exitCode: ExitCode.environment });
  }
}

/** A capability that a later version brings: said plainly, exit 2, never fake output. */
export class NotAvailableError extends UsageError {
  constructor(what: string) {
    super(`${what} is not available yet in auditchaos ${'0.1'}`, {
      hint: 'see README.md, "Status", for what works today',
    });
  }
}

/** Ctrl-C or SIGTERM: cleanup has run, exit 130. */
export class InterruptedError extends AuditChaosError {
  constructor(signal = 'SIGINT') {
    super(`interrupted by ${signal}`, { exitCode: ExitCode.interrupted });
  }
}

/** Anything else is a bug in auditchaos (exit 70). */
export function isAuditChaosError(e: unknown): e is AuditChaosError {
  return e instanceof AuditChaosError;
}

export type VerdictStatus = 'pass' | 'fail' | 'unknown';

/**
 * The one map from what happened to a process exit code, for run, scan and report alike:
 * a verdict (pass 0, fail 1, unknown 4), or an error by its class (ours carry their code:
 * usage 2, environment 3, interrupted 130; anything else is a bug, 70).
 */
export function exitCodeOf(x: { verdict: VerdictStatus } | { error: unknown }): ExitCode {
  if ('verdict' in x) {
    return x.verdict === 'pass'
      ? ExitCode.ok
      : x.verdict === 'fail'
        ? ExitCode.violation
        : ExitCode.inconclusive;
  }
  return isAuditChaosError(x.error) ? x.error.exitCode : ExitCode.internal;
}

/**
 * A bug of ours, not a failure of what we talk to: these must surface as internal errors (70),
 * never be turned into "the log could not be read" or a verdict.
 */
export function isProgrammingError(e: unknown): boolean {
  return (
    e instanceof TypeError || e instanceof RangeError || e instanceof ReferenceError || e instanceof EvalError
  );
}

/**
 * The cause's message when it says something the error's own message does not: wrapping errors
 * often quote their cause (`could not read X: ENOENT ...`), and printing it again as `cause:`
 * repeats it. Compared line by line, so a quoted first line of a longer cause counts as quoted.
 */
export function causeNotInMessage(e: unknown): string | undefined {
  if (!(e instanceof Error) || !(e.cause instanceof Error)) return undefined;
  const said = e.message;
  const lines = e.cause.message
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => l !== '' && !said.includes(l));
  return lines.length ? lines.join('\n') : undefined;
}
