/**
 * The local stack's work dir: `<tmp>/auditchaos-<run id>-p<CLI pid>-<6 hex>`, named so that
 * `auditchaos down` can find one that no state file names and tell whether its CLI is gone.
 */
import { randomBytes } from 'node:crypto';
import { tmpdir } from 'node:os';
import path from 'node:path';

/** Written first into the dir: which run and which state dir it belongs to. */
export const WORK_DIR_OWNER_FILE = 'owner.json';

const PATTERN = /^auditchaos-(.+-\d{8}T\d{6}Z-[0-9a-f]{4})-p(\d+)-[0-9a-f]{6}$/;

export function newWorkDirPath(runId: string, root = tmpdir(), pid = process.pid): string {
  return path.join(root, `auditchaos-${runId}-p${pid}-${randomBytes(3).toString('hex')}`);
}

export function parseWorkDirName(name: string): { runId: string; cliPid: number } | undefined {
  const m = PATTERN.exec(name);
  return m ? { runId: m[1] as string, cliPid: Number(m[2]) } : undefined;
}
