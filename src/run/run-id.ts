import { randomBytes } from 'node:crypto';
import { reportDirName } from '../report/write.ts';

/** quickstart-20261121T232800Z-3fa1: sortable, unique, safe in file and container names. */
export function newRunId(scenario: string, now = new Date()): string {
  return `${reportDirName(scenario, now)}-${randomBytes(2).toString('hex')}`.toLowerCase();
}
