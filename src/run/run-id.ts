import { randomBytes } from 'node:crypto';
import { reportDirName } from '../report/write.ts';

/**
 * quickstart-20261121T232800Z-3fa1: the report folder's name and a suffix, in the same case, so
 * the run id and its folder can be matched by eye; sortable, unique. Where a name must be
 * lowercase (a compose project), projectName() lowers it.
 */
export function newRunId(scenario: string, now = new Date()): string {
  return `${reportDirName(scenario, now)}-${randomBytes(2).toString('hex')}`;
}
