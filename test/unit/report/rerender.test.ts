import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseFormats } from '../../../src/cli/commands/report-command.ts';
import { UsageError } from '../../../src/errors.ts';
import { readReport, reportDirName, rerenderReport, writeReport } from '../../../src/report/write.ts';
import { fixtureReport, passingReport } from '../../helpers/report-fixture.ts';

describe('rerenderReport and readReport', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'auditchaos-rerender-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('renders the same files from report.json as writeReport did', async () => {
    const a = path.join(root, 'a');
    await writeReport(a, fixtureReport());
    const before = await Promise.all(
      ['report.md', 'report.html', 'junit.xml'].map((f) => readFile(path.join(a, f), 'utf8')),
    );
    await Promise.all(
      ['report.md', 'report.html', 'junit.xml'].map((f) => writeFile(path.join(a, f), 'stale')),
    );
    const { written, report } = await rerenderReport(a);
    expect(written).toEqual(['report.md', 'report.html', 'junit.xml']);
    expect(report.verdict.status).toBe('fail');
    const after = await Promise.all(written.map((f) => readFile(path.join(a, f), 'utf8')));
    expect(after).toEqual(before);
  });

  it('refuses a folder without report.json as a usage error that says what to pass', async () => {
    const err = await readReport(path.join(root, 'nope')).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(UsageError);
    expect((err as UsageError).message).toMatch(/cannot read .*nope\/report.json/);
    expect((err as UsageError).hint).toMatch(/report folder written by `auditchaos run`/);
    await writeFile(path.join(root, 'report.json'), '{ not json');
    await expect(readReport(root)).rejects.toThrow(/is not valid JSON/);
  });

  it('checks --formats', () => {
    expect(parseFormats('md, html')).toEqual(['md', 'html']);
    expect(() => parseFormats('pdf,md')).toThrow(/"pdf" not allowed; allowed: md, html, junit/);
    expect(() => parseFormats('json')).toThrow(UsageError);
  });

  it('names report folders <scenario>-<UTC time>', async () => {
    expect(reportDirName('db-downtime', new Date('2026-11-21T23:00:05.123Z'))).toBe(
      'db-downtime-20261121T230005Z',
    );
    const b = path.join(root, 'b');
    await writeReport(b, passingReport(), { formats: ['json', 'md'] });
    expect((await readdir(b)).sort()).toEqual(['report.json', 'report.md']);
  });
});
