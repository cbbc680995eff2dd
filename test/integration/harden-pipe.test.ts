/**
 * Issue 13, case 1: a closed stdout (`auditchaos run ... | head -5`) stops the printing, never the
 * teardown or the report; the exit code is the run's (README, "Exit codes").
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT } from '../helpers/cli.ts';

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
  });
}

describe('closed stdout (issue 13)', () => {
  it('run | head -5: exit code of the run (0), report folder complete, no process, port or state left', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-pipe-'));
    const stateDir = path.join(dir, 'state');
    const reports = path.join(dir, 'reports');
    const file = path.join(dir, 'pipe.yml');
    await writeFile(
      file,
      `version: 1
name: pipe
description: a short run whose stdout reader goes away
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:32410, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:32411, upstream: postgres:5432 }
workload: { writers: 2, rate: 20/s, duration: 3s }
`,
    );
    const r = await execa(
      'bash',
      [
        '-c',
        `"${process.execPath}" "${BIN}" run "${file}" --reports-dir "${reports}" | head -2; echo "rc=\${PIPESTATUS[0]}"`,
      ],
      {
        cwd: REPO_ROOT,
        env: { NO_COLOR: '1', AUDITCHAOS_STATE_DIR: stateDir },
        reject: false,
        timeout: 150_000,
      },
    );
    expect(r.stderr).not.toMatch(/internal error|EPIPE|at .*\.ts:\d+/);
    const lines = r.stdout.trim().split('\n');
    expect(lines.length).toBe(3); // two lines through head, then rc=
    expect(lines.at(-1)).toBe('rc=0');
    const [reportDir] = (await readdir(reports)).filter((d) => d.startsWith('pipe-'));
    expect(reportDir).toBeDefined();
    const files = await readdir(path.join(reports, reportDir as string));
    for (const f of ['report.json', 'report.md', 'report.html', 'junit.xml']) expect(files).toContain(f);
    const report = JSON.parse(await readFile(path.join(reports, reportDir as string, 'report.json'), 'utf8'));
    expect(report.verdict.status).toBe('pass');
    expect(existsSync(stateDir) ? await readdir(stateDir) : []).toEqual([]);
    expect(await portFree(32410)).toBe(true);
    expect(await portFree(32411)).toBe(true);
  }, 160_000);
});
