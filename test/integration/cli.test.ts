import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

describe('the auditchaos binary', () => {
  it('prints help with examples and exit codes', async () => {
    const r = await runCli(['--help']);
    expect(r.exitCode).toBe(0);
    for (const cmd of ['run', 'validate', 'scan', 'up', 'down', 'proxy', 'serve', 'schema', 'report']) {
      expect(r.stdout).toMatch(new RegExp(`^  ${cmd}\\b`, 'm'));
    }
    expect(r.stdout).toMatch(/Exit codes: 0 pass, 1 violation/);
  });

  it('validates the shipped scenarios', async () => {
    const r = await runCli(['validate', 'scenarios/quickstart.yml', 'scenarios/db-downtime.yml']);
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/ok {2}scenarios\/quickstart.yml/);
  });

  it('exits 2 with every problem, located, for a bad scenario; --json says the same', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-cli-'));
    const file = path.join(dir, 'bad.yml');
    await writeFile(
      file,
      'version: 1\nname: bad\ndescription: d\nworkload:\n  rate: 10/s\n  duraton: 5s\n  duration: 5s\nfaults:\n  - { at: 1q, for: 1s, kind: partition, proxy: ghost }\n',
    );
    const r = await runCli(['validate', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain(`${file}:6:3  unknown key "duraton" in workload; did you mean "duration"?`);
    expect(r.stderr).toContain(`${file}:9:11  faults[0].at: "1q" is not a duration`);
    expect(r.stderr).toMatch(/:9:\d+ {2}faults\[0\]\.proxy: fault names proxy "ghost"/);
    expect(r.stderr).not.toMatch(/at .*\.ts:\d+/); // no stack trace

    const j = await runCli(['validate', '--json', file]);
    expect(j.exitCode).toBe(2);
    const parsed = JSON.parse(j.stdout);
    expect(parsed[0].ok).toBe(false);
    expect(parsed[0].problems).toHaveLength(3);
  });

  it('exits 2 for a missing file and for an unknown command, without a stack trace', async () => {
    const r = await runCli(['validate', 'nope.yml']);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/scenario file not found: nope.yml/);
    const u = await runCli(['frobnicate']);
    expect(u.exitCode).toBe(2);
    expect(u.stderr).toMatch(/unknown command 'frobnicate'/);
  });

  it('prints the scenario JSON Schema', async () => {
    const r = await runCli(['schema']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout).title).toBe('auditchaos scenario');
  });

  it('uses no colour off a TTY', async () => {
    const r = await runCli(['validate', 'scenarios/quickstart.yml'], { env: { NO_COLOR: '' } });
    expect(r.stdout).not.toMatch(/\u001b\[/);
  });
});
