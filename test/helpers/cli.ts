import path from 'node:path';
import { execa } from 'execa';

export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
export const BIN = path.join(REPO_ROOT, 'bin/auditchaos.js');

/** Runs the real binary, as a user would, and never throws on a non-zero exit. */
export function runCli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeout?: number } = {},
) {
  return execa(process.execPath, [BIN, ...args], {
    reject: false,
    cwd: opts.cwd ?? REPO_ROOT,
    env: { NO_COLOR: '1', ...opts.env },
    timeout: opts.timeout ?? 60_000,
  });
}

/**
 * Starts the real binary and follows its output (stdout and stderr): `until` resolves with the
 * first match of a pattern, and rejects, with the output, if the process ends before it.
 */
export function startCli(
  args: string[],
  opts: { env?: Record<string, string>; cwd?: string; timeout?: number } = {},
) {
  const child = runCli(args, opts);
  let out = '';
  const waiting = new Set<() => void>();
  const onData = (b: Buffer) => {
    out += b.toString();
    for (const check of waiting) check();
  };
  child.stdout?.on('data', onData);
  child.stderr?.on('data', onData);
  const until = (pattern: RegExp, what: string) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const check = () => {
        const m = pattern.exec(out);
        if (m && waiting.delete(check)) resolve(m);
      };
      waiting.add(check);
      check();
      child.then((r) => {
        if (waiting.delete(check))
          reject(new Error(`run ended before ${what} (exit ${r.exitCode}):\n${out}`));
      }, reject);
    });
  return { child, until, output: () => out };
}
