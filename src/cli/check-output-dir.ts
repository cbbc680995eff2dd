/**
 * A folder the CLI will write into (--out, --reports-dir), checked before anything starts: it is a
 * directory or can be made one under a writable directory, and it is not on a kernel filesystem
 * (/proc, /sys, /dev), where a write can hang or mean something else.
 */
import { accessSync, constants, statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.ts';

const VIRTUAL = ['/proc', '/sys', '/dev'];

export function checkOutputDir(dir: string, flag: string): void {
  const abs = path.resolve(dir);
  if (VIRTUAL.some((v) => abs === v || abs.startsWith(`${v}/`))) {
    throw new UsageError(
      `${flag} ${dir}: ${abs.split('/')[1] ? `/${abs.split('/')[1]}` : abs} is a kernel filesystem, not a place for reports`,
    );
  }
  // Walk up to the nearest part that exists: it must be a directory we may write into.
  let p = abs;
  for (;;) {
    let st: ReturnType<typeof statSync> | undefined;
    try {
      st = statSync(p);
    } catch (e) {
      const code = (e as NodeJS.ErrnoException).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') {
        throw new UsageError(`${flag} ${dir}: ${p} cannot be used (${code})`, { cause: e });
      }
    }
    if (st !== undefined) {
      if (!st.isDirectory()) {
        throw new UsageError(
          p === abs
            ? `${flag} ${dir}: it is a file, not a folder`
            : `${flag} ${dir}: ${p} is a file, not a folder`,
        );
      }
      try {
        accessSync(p, constants.W_OK | constants.X_OK);
      } catch (e) {
        throw new UsageError(`${flag} ${dir}: ${p} is not writable`, { cause: e });
      }
      return;
    }
    const up = path.dirname(p);
    if (up === p) return;
    p = up;
  }
}
