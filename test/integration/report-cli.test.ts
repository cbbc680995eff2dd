import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtml } from '../../src/report/html.ts';
import { renderJson } from '../../src/report/json.ts';
import { writeReport } from '../../src/report/write.ts';
import { runCli } from '../helpers/cli.ts';
import { fixtureReport, passingReport } from '../helpers/report-fixture.ts';

describe('auditchaos report DIR', () => {
  let root: string;
  beforeAll(async () => {
    root = await mkdtemp(path.join(tmpdir(), 'auditchaos-report-cli-'));
  });
  afterAll(() => rm(root, { recursive: true, force: true }));

  it('re-renders md, html and junit from report.json, and exits with the verdict', async () => {
    const dir = path.join(root, 'fail');
    await writeReport(dir, fixtureReport(), { formats: ['json'] });
    expect(await readdir(dir)).toEqual(['report.json']);
    const r = await runCli(['report', dir]);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toContain(`wrote ${dir}/report.html`);
    expect(r.stdout).toMatch(/FAIL {2}db-downtime/);
    expect((await readdir(dir)).sort()).toEqual(['junit.xml', 'report.html', 'report.json', 'report.md']);
    const json = JSON.parse(await readFile(path.join(dir, 'report.json'), 'utf8'));
    expect(await readFile(path.join(dir, 'report.html'), 'utf8')).toBe(renderHtml(json));
  });

  it('exits 0 for a passing report and renders only the formats asked for', async () => {
    const dir = path.join(root, 'pass');
    await writeReport(dir, passingReport(), { formats: ['json'] });
    const r = await runCli(['report', dir, '--formats', 'junit', '--json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ verdict: { status: 'pass' }, written: ['junit.xml'] });
    expect((await readdir(dir)).sort()).toEqual(['junit.xml', 'report.json']);
  });

  it('says what is wrong, with exit 2, for a report.json that is not schema version 1', async () => {
    const dir = path.join(root, 'bad');
    await writeReport(dir, fixtureReport(), { formats: ['json'] });
    const data = JSON.parse(renderJson(fixtureReport()));
    data.schemaVersion = 7;
    delete data.verdict;
    await writeFile(path.join(dir, 'report.json'), JSON.stringify(data));
    const bad = await runCli(['report', dir]);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/does not match the report schema \(version 1\): schemaVersion: .*verdict/);
    expect(bad.stderr).toMatch(/hint: it may come from another auditchaos version/);
  });

  it('--schema prints the committed JSON Schema of report.json', async () => {
    const r = await runCli(['report', '--schema']);
    expect(r.exitCode).toBe(0);
    const committed = JSON.parse(
      await readFile(path.resolve(import.meta.dirname, '../../schema/report.schema.json'), 'utf8'),
    );
    expect(JSON.parse(r.stdout)).toEqual(committed);
  });
});
