/**
 * Issue 13: what a SIGKILLed CLI of an older version (or a lost state file) leaves, swept by
 * `auditchaos down` by name pattern: a work dir that no state file names, with a process still
 * working in it, and an unfinished state write (`<run>.json.<pid>.tmp`, 0 bytes). The same for a
 * SQL tamper probe that is not SQL: exit 2 at validate and at run, before anything starts.
 */
import { spawn } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { isAlive } from '../../src/stack/state.ts';
import { checkSqlProbes } from '../../src/tamper/sql-check.ts';
import { runCli } from '../helpers/cli.ts';

/** The pid of a process that has exited (and been reaped). */
async function deadPid(): Promise<number> {
  const c = spawn('true');
  await new Promise((r) => c.once('exit', r));
  return c.pid as number;
}

describe('down sweeps leftovers by name (issue 13)', () => {
  it('an orphan work dir (its process stopped, the dir removed) and a 0-byte .tmp state write', async () => {
    const root = await mkdtemp(path.join(tmpdir(), 'auditchaos-leftover-test-'));
    const tmp = path.join(root, 'tmp');
    const stateDir = path.join(root, 'state');
    await mkdir(tmp);
    await mkdir(stateDir);
    const cli = await deadPid();
    const runId = 'lost-20261202T120000Z-ab12';
    const work = path.join(tmp, `auditchaos-${runId}-p${cli}-0a1b2c`);
    await mkdir(work);
    await writeFile(
      path.join(work, 'owner.json'),
      JSON.stringify({ runId, cliPid: cli, stateFile: path.join(stateDir, `${runId}.json`) }),
    );
    // A stack process of that run, working in its dir (as PostgreSQL does in its data dir).
    const orphan = spawn('sleep', ['60'], { cwd: work, detached: true, stdio: 'ignore' });
    orphan.unref();
    // A dir of a run kept under another state dir, and one of a live CLI: not ours to take.
    const other = path.join(tmp, `auditchaos-kept-20261202T120000Z-cd34-p${cli}-0d0e0f`);
    await mkdir(other);
    await writeFile(path.join(other, 'owner.json'), JSON.stringify({ stateFile: '/elsewhere/kept.json' }));
    const live = path.join(tmp, `auditchaos-live-20261202T120000Z-ef56-p${process.pid}-101112`);
    await mkdir(live);
    await writeFile(path.join(stateDir, `${runId}.json.${cli}.tmp`), '');
    await writeFile(path.join(stateDir, `other.json.${process.pid}.tmp`), ''); // a live CLI's write

    const down = await runCli(['down'], { env: { AUDITCHAOS_STATE_DIR: stateDir, TMPDIR: tmp } });
    expect(down.exitCode, down.stderr).toBe(0);
    expect(down.stdout).toMatch(new RegExp(`found work dir ${work} with no state file`));
    expect(down.stdout).toMatch(/stopped 1 process/);
    expect(down.stdout).toMatch(/a state write its CLI did not finish/);
    await new Promise((r) => setTimeout(r, 200));
    expect(isAlive(orphan.pid as number)).toBe(false);
    expect(existsSync(work)).toBe(false);
    expect(existsSync(other)).toBe(true);
    expect(existsSync(live)).toBe(true);
    expect(await readdir(stateDir)).toEqual([`other.json.${process.pid}.tmp`]);
    const again = await runCli(['down'], { env: { AUDITCHAOS_STATE_DIR: stateDir, TMPDIR: tmp } });
    expect(again.stdout).toMatch(/nothing to take down/);
  }, 60_000);
});

describe('SQL tamper probes are parsed before anything starts (issue 13)', () => {
  it('valid statements (the shipped scenarios) pass; not-SQL is a UsageError naming the probe', async () => {
    await checkSqlProbes([
      { via: 'sql', name: 'edit', statement: "UPDATE audit_log SET payload = '{}' WHERE seq = 5" },
      {
        via: 'sql',
        statement:
          'ALTER TABLE audit_log DISABLE TRIGGER USER; DELETE FROM audit_log WHERE seq = 7; ALTER TABLE audit_log ENABLE TRIGGER USER',
      },
      { via: 'api', method: 'DELETE', path: '/entries/1' },
    ]);
    const bad = checkSqlProbes([
      { via: 'sql', name: 'fine', statement: 'TRUNCATE audit_log' },
      { via: 'sql', name: 'nonsense', statement: 'THIS IS NOT SQL' },
    ]);
    await expect(bad).rejects.toBeInstanceOf(UsageError);
    await expect(bad).rejects.toThrow(
      /tamper\[1\] \(probe "nonsense"\).*not valid SQL.*syntax error at or near "THIS"/,
    );
    await expect(checkSqlProbes([{ via: 'sql', statement: 'SELECT 1; SELEC 2' }])).rejects.toThrow(
      /probe-1.*at character 11/,
    );
    await expect(checkSqlProbes([{ via: 'sql', statement: ';' }])).rejects.toThrow(/no statement/);
  });

  it('validate and run exit 2 on `THIS IS NOT SQL`; run starts nothing (no state, no report folder)', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-sqlcheck-test-'));
    const file = path.join(dir, 'bad-sql.yml');
    await writeFile(
      file,
      `version: 1
name: bad-sql
description: a probe that is not SQL
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:1, upstream: auditlog:8080 }
workload: { writers: 1, rate: 5/s, duration: 2s }
tamper:
  - { via: sql, name: nonsense, statement: "THIS IS NOT SQL" }
`,
    );
    const v = await runCli(['validate', file]);
    expect(v.exitCode).toBe(2);
    expect(v.stdout + v.stderr).toMatch(/tamper\[0\] \(probe "nonsense"\): the statement is not valid SQL/);
    const stateDir = path.join(dir, 'state');
    const reports = path.join(dir, 'reports');
    const r = await runCli(['run', file, '--reports-dir', reports], {
      env: { AUDITCHAOS_STATE_DIR: stateDir },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/not valid SQL/);
    expect(existsSync(stateDir)).toBe(false);
    expect(existsSync(reports) ? await readdir(reports) : []).toEqual([]);
  }, 60_000);
});
