/**
 * Clock faults through libfaketime: a process started with LD_PRELOAD=libfaketime.so.1 and
 * FAKETIME_TIMESTAMP_FILE reads its clock's offset from that file (again at most a second after it
 * changed: FAKETIME_CACHE_DURATION=1; FAKETIME_NO_CACHE would cost ~25 us a clock read). Only the
 * wall clock moves: FAKETIME_DONT_FAKE_MONOTONIC keeps timers and timeouts (libuv's, PostgreSQL's)
 * on true time, as a stepped system clock does. Each run has files of its own, only for the
 * targets its scenario moves, so no other process on the machine is affected.
 */
import { existsSync } from 'node:fs';
import { chmod, mkdir, rename, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { EnvironmentError } from '../../errors.ts';

/** Where Debian, Ubuntu and Alpine put the preload library (`apt-get install libfaketime`). */
export const LIBFAKETIME_CANDIDATES = [
  '/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/aarch64-linux-gnu/faketime/libfaketime.so.1',
  '/usr/lib/faketime/libfaketime.so.1',
  '/usr/local/lib/faketime/libfaketime.so.1',
] as const;

/** How soon a change of the file is seen (FAKETIME_CACHE_DURATION, whole seconds). */
export const FAKETIME_CACHE_SECONDS = 1;

/** The library on this machine: AUDITCHAOS_LIBFAKETIME, else the first candidate that exists. */
export function findLibfaketime(
  env: NodeJS.ProcessEnv = process.env,
  exists: (p: string) => boolean = existsSync,
): string {
  const given = env.AUDITCHAOS_LIBFAKETIME;
  if (given) {
    if (exists(given)) return given;
    throw new EnvironmentError(`AUDITCHAOS_LIBFAKETIME names ${given}, which does not exist`, {
      hint: 'point it at libfaketime.so.1, or unset it',
    });
  }
  const found = LIBFAKETIME_CANDIDATES.find((p) => exists(p));
  if (found) return found;
  throw new EnvironmentError('the scenario has a clock fault, but libfaketime is not installed here', {
    hint: `install it (Debian/Ubuntu: apt-get install faketime libfaketime), or set AUDITCHAOS_LIBFAKETIME to its libfaketime.so.1; looked in ${LIBFAKETIME_CANDIDATES.join(', ')}`,
  });
}

/** The file's text for an offset in ms: libfaketime's relative form, in seconds ("-30.000", "+0"). */
export function offsetText(offsetMs: number): string {
  if (offsetMs === 0) return '+0';
  return `${offsetMs < 0 ? '-' : '+'}${(Math.abs(offsetMs) / 1000).toFixed(3)}`;
}

/** The environment that puts a process under the file (appended to an LD_PRELOAD it already has). */
export function faketimeEnv(lib: string, file: string, base: NodeJS.ProcessEnv = process.env) {
  return {
    LD_PRELOAD: base.LD_PRELOAD ? `${base.LD_PRELOAD}:${lib}` : lib,
    FAKETIME_TIMESTAMP_FILE: file,
    FAKETIME_CACHE_DURATION: String(FAKETIME_CACHE_SECONDS),
    FAKETIME_DONT_FAKE_MONOTONIC: '1',
  };
}

/** Writes the offset so that a reader sees the old text or the new one, never half a line. */
export async function writeOffset(file: string, offsetMs: number): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  await writeFile(tmp, `${offsetText(offsetMs)}\n`);
  // Readable by a server that runs as another user (PostgreSQL as `nobody` when we are root).
  await chmod(tmp, 0o644);
  await rename(tmp, file);
}

/** One timestamp file per target, in `dir` (the run's work dir): clock-<target>.rc, at +0. */
export async function prepareClockFiles(
  dir: string,
  targets: readonly string[],
): Promise<Map<string, string>> {
  await mkdir(dir, { recursive: true });
  const files = new Map<string, string>();
  for (const t of targets) {
    const file = path.join(dir, `clock-${t.replace(/[^A-Za-z0-9_.-]/g, '_')}.rc`);
    await writeOffset(file, 0);
    files.set(t, file);
  }
  return files;
}
