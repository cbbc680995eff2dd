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
