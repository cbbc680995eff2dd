import { describe, expect, it } from 'vitest';
import { reportDirName } from '../../../src/report/write.ts';
import { newRunId } from '../../../src/run/run-id.ts';
import { projectName } from '../../../src/stack/compose/compose-cli.ts';

describe('run id', () => {
  it('is the report folder name plus a suffix, in the same case; the compose project is lowercase', () => {
    const at = new Date('2026-12-02T14:05:09.123Z');
    const id = newRunId('Db-Downtime', at);
    expect(reportDirName('Db-Downtime', at)).toBe('Db-Downtime-20261202T140509Z');
    expect(id).toMatch(/^Db-Downtime-20261202T140509Z-[0-9a-f]{4}$/);
    expect(projectName(id)).toBe(projectName(id).toLowerCase());
  });
});
