/**
 * The run's cleanup guarantees, through the real binary: Ctrl-C (SIGINT) mid-run stops cleanly
 * with exit 130 and a partial report, and nothing is left behind.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { isAlive, listRunStates } from '../../src/stack/state.ts';
import { startCli } from '../helpers/cli.ts';

async function scenarioFile(dir: string, apiPort: number, dbPort: number): Promise<string> {
  const file = path.join(dir, 'lifecycle.yml');
  await writeFile(
    file,
    `version: 1
name: lifecycle
description: a long run that the test interrupts
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:${apiPort}, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:${dbPort}, upstream: postgres:5432 }
workload: { writers: 4, rate: 50/s, duration: 60s }
faults:
  - { at: 1s, for: 50s, kind: latency, proxy: db, latency: 20ms }
`,
  );
  return file;
}

/** Starts `auditchaos run` and resolves once the workload phase has begun. */
function startRun(file: string, env: Record<string, string>, reports: string) {
  const run = startCli(['run', file, '--reports-dir', reports], { env, timeout: 120_000 });
  return {
    child: run.child,
    started: run.until(/phase workload/, 'its workload began'),
    output: run.output,
  };
}

describe('run lifecycle (real binary, local runtime)', () => {
  it('SIGINT mid-run: heals, takes the stack down, writes a partial report, exits 130', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-life-'));
    const stateDir = path.join(dir, 'state');
    const reports = path.join(dir, 'reports');
    const file = await scenarioFile(dir, 21080, 21432);
    const run = startRun(file, { AUDITCHAOS_STATE_DIR: stateDir }, reports);
    await run.started;
    const states = await listRunStates(stateDir);
    const pids = states.flatMap((s) => s.state.pids.map((p) => p.pid));
    const dirs = states.flatMap((s) => s.state.dirs);
    expect(pids.length).toBeGreaterThanOrEqual(3);
    await new Promise((r) => setTimeout(r, 1500));
    run.child.kill('SIGINT');
    const r = await run.child;
    expect(r.exitCode).toBe(130);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    for (const d of dirs) expect(existsSync(d)).toBe(false);
    expect(await readdir(stateDir)).toEqual([]);
    const [reportDir] = (await readdir(reports)).filter((d) => d.startsWith('lifecycle-'));
    const report = JSON.parse(await readFile(path.join(reports, reportDir as string, 'report.json'), 'utf8'));
    expect(report.interrupted).toBe(true);
    expect(report.verdict.status).toBe('unknown');
    expect(report.faults[0].endedAt).toBeDefined(); // the latency fault was healed
  }, 120_000);

  // A SIGKILLed CLI: its stack stops by itself, and `down` leaves nothing (test/integration/lifecycle-sigkill.test.ts).
});
