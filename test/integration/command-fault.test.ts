/** `command` faults with a real shell: output, exit codes, env, timeouts that reach what the shell started. */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyCommandFault, type PendingHeal, runShellCommand } from '../../src/chaos/command-fault.ts';
import { FaultStateFile } from '../../src/stack/fault-state.ts';

describe('runShellCommand', () => {
  it('captures stdout and stderr, the exit code, and sees the env map', async () => {
    const r = await runShellCommand('echo "out $FOO"; echo err >&2; exit 3', {
      env: { FOO: 'bar' },
      timeoutMs: 10_000,
      cwd: tmpdir(),
    });
    expect(r).toEqual({ exitCode: 3, output: 'out bar\nerr', timedOut: false });
  });

  it('a timeout kills the shell and what it started (a sleep holding the pipe), promptly', async () => {
    const t0 = performance.now();
    const r = await runShellCommand('echo started; sleep 30; echo never', {
      env: {},
      timeoutMs: 300,
      cwd: tmpdir(),
    });
    const ms = performance.now() - t0;
    console.log(`[command] timed-out command returned after ${Math.round(ms)} ms`);
    expect(r.timedOut).toBe(true);
    expect(r.output).toBe('started');
    expect(ms).toBeLessThan(10_000);
  });
});

describe('applyCommandFault', () => {
  it('writes the heal to the state file before start runs, removes it once healed', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ac-cmd-'));
    const pending = new FaultStateFile('r1', 'external', dir);
    const file = path.join(dir, 'r1.faults.json');
    const start = `cat ${JSON.stringify(file)} > ${JSON.stringify(path.join(dir, 'seen'))}`;
    const heal = await applyCommandFault({ start, heal: 'echo healed', timeout: 10_000, env: {} }, 'f1', {
      pending,
      cwd: dir,
    });
    const seen = JSON.parse(await readFile(path.join(dir, 'seen'), 'utf8')) as {
      pendingHeals: PendingHeal[];
    };
    expect(seen.pendingHeals.map((h) => [h.faultId, h.heal])).toEqual([['f1', 'echo healed']]);
    await heal();
    await expect(readFile(file, 'utf8')).rejects.toThrow(/ENOENT/);
  });

  it('a failing start runs the heal, then fails with what the command said', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'ac-cmd-'));
    const marker = path.join(dir, 'healed');
    await expect(
      applyCommandFault(
        {
          start: 'echo "no such pod" >&2; exit 1',
          heal: `touch ${JSON.stringify(marker)}`,
          timeout: 10_000,
          env: {},
        },
        'f1',
        { cwd: dir },
      ),
    ).rejects.toThrow(/start command `.*` exited with code 1: no such pod/);
    await expect(readFile(marker, 'utf8')).resolves.toBe('');
  });
});
