/**
 * Issue 13, case 5: secrets never on a command line. The local runtime passes the writer and
 * admin connections (with their passwords) to `serve` in its environment; `up` does not print the
 * database password in clear. Real binary, real processes (read through /proc/<pid>/cmdline).
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { listRunStates } from '../../src/stack/state.ts';
import { runCli } from '../helpers/cli.ts';

describe('secrets (issue 13)', () => {
  it('up: no password in any child argv (ps), none printed in clear; down cleans up', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-secrets-'));
    const stateDir = path.join(dir, 'state');
    const file = path.join(dir, 'secrets.yml');
    await writeFile(
      file,
      `version: 1
name: secrets
description: which command lines carry passwords
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:32420, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:32421, upstream: postgres:5432 }
workload: { writers: 1, rate: 10/s, duration: 2s }
`,
    );
    const env = { AUDITCHAOS_STATE_DIR: stateDir };
    try {
      const up = await runCli(['up', file], { env, timeout: 90_000 });
      expect(up.exitCode, up.stderr).toBe(0);
      const states = await listRunStates(stateDir);
      // The watchdog is disarmed by `up` and exits: every other child must still be there.
      const pids = states.flatMap((s) => s.state.pids.filter((p) => p.role !== 'watchdog').map((p) => p.pid));
      expect(pids.length).toBeGreaterThanOrEqual(2);
      for (const pid of pids) {
        const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
        expect(argv, `pid ${pid}`).not.toMatch(/(owner|writer)-[a-z0-9]{4,}|postgres:\/\/[^\s:@]+:[^\s@]+@/);
      }
      expect(up.stdout).toMatch(/database \(owner role\):.*:\*\*\*@/);
      expect(up.stdout).not.toMatch(/postgres:\/\/[^\s:@]+:(?!\*\*\*)[^\s@]+@/);
    } finally {
      const down = await runCli(['down'], { env, timeout: 60_000 });
      expect(down.exitCode).toBe(0);
    }
  }, 150_000);
});
