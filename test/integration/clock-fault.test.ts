/**
 * Clock faults on the local runtime, with real libfaketime, PostgreSQL and service processes:
 * the app-clock flaw is caught by scenarios/clock-step.yml (shortened), the correct service passes
 * the same scenario, a step of the database's clock is read back from PostgreSQL itself, and
 * Ctrl-C during the fault leaves no clock moved (the file is reset or gone with the run's dir).
 * Needs libfaketime (Debian: faketime libfaketime); fails, not skips, without it.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { chmod, mkdtemp, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { applyClockFault } from '../../src/chaos/clock-fault.ts';
import type { RunSink } from '../../src/report/events.ts';
import { runScenario } from '../../src/run/run-scenario.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import { readPostgresClock } from '../../src/stack/clock/clock-control.ts';
import {
  faketimeEnv,
  findLibfaketime,
  prepareClockFiles,
  writeOffset,
} from '../../src/stack/clock/faketime.ts';
import { createStack } from '../../src/stack/factory.ts';
import { freePort } from '../../src/stack/local/free-port.ts';
import { PostgresServer } from '../../src/stack/local/postgres.ts';
import { isAlive, listRunStates } from '../../src/stack/state.ts';
import { startCli } from '../helpers/cli.ts';
import { shipped } from '../helpers/scenarios.ts';

const silent: RunSink = { handle() {}, close() {} };

/** clock-step.yml on a shorter clock (8 s, the step at 2 s for 3 s), on free ports. */
async function shortClockStep(): Promise<{
  loaded: Awaited<ReturnType<typeof shipped>>;
  scenario: Scenario;
}> {
  const loaded = await shipped('clock-step');
  const [api, db] = [await freePort(), await freePort()];
  const s = loaded.scenario;
  const scenario: Scenario = {
    ...s,
    proxies: [
      { name: 'api', listen: `127.0.0.1:${api}`, upstream: 'auditlog:8080', enabled: true },
      { name: 'db', listen: `127.0.0.1:${db}`, upstream: 'postgres:5432', enabled: true },
    ],
    workload: { ...s.workload, target: `http://127.0.0.1:${api}`, duration: 8000 },
    faults: s.faults.map((f) => ({ ...f, at: 2000, for: 3000 })),
  };
  return { loaded, scenario };
}

async function runLocal(flaws: Scenario['stack']['flaws']) {
  const { loaded, scenario } = await shortClockStep();
  const reportsRoot = await mkdtemp(path.join(tmpdir(), 'auditchaos-clock-'));
  return runScenario({
    loaded: { ...loaded, scenario: { ...scenario, stack: { ...scenario.stack, flaws } } },
    runtime: 'local',
    reportsRoot,
    signal: new AbortController().signal,
    sink: silent,
    ports: { chooseRuntime: async () => ({ kind: 'local', why: 'test' }), createStack },
  });
}

const shm = () => readdirSync('/dev/shm').filter((n) => n.startsWith('faketime')).length;

// Side by side: the runs wait on their clocks more than on the CPU.
describe.concurrent('clock faults (local runtime, libfaketime)', () => {
  it('libfaketime is installed (CI installs faketime and libfaketime)', () => {
    expect(existsSync(findLibfaketime())).toBe(true);
  });

  it('a -30 s step of the service clock: app-clock is caught, the correct service passes', async () => {
    const shmBefore = shm();
    const [flawed, correct] = await Promise.all([runLocal(['app-clock']), runLocal([])]);

    const kinds = new Set(flawed.report.findings.map((f) => f.kind));
    expect(flawed.report.verdict.status, flawed.report.verdict.reasons.join('; ')).toBe('fail');
    expect(kinds).toContain('clock-backwards');
    expect(kinds).toContain('ts-outside-window');
    const back = flawed.report.findings.find((f) => f.kind === 'clock-backwards');
    // Evidence: about 30 s behind the seq before it, tied to the clock fault.
    expect(Number(back?.detail?.behindMs)).toBeGreaterThan(28_000);
    expect(Number(back?.detail?.behindMs)).toBeLessThan(32_000);
    expect(back?.story?.nearest?.label).toMatch(/clock/);
    const fault = flawed.report.faults[0];
    expect(fault?.output?.start).toMatch(/reads -(29|30)\.\d+s from the harness/);
    expect(fault?.output?.heal).toMatch(/wanted \+0s/);
    expect(flawed.report.thresholds.find((t) => t.name === 'clockBackwards')?.pass).toBe(false);

    expect(correct.report.verdict.status, correct.report.verdict.reasons.join('; ')).toBe('pass');
    expect(correct.report.findings.filter((f) => f.severity === 'violation')).toEqual([]);
    expect(correct.report.thresholds.find((t) => t.name === 'tsOutsideWindow')).toMatchObject({
      actual: 0,
      pass: true,
    });
    // The service's clock did move in the correct run too: its ts stayed right because it is the database's.
    expect(correct.report.faults[0]?.output?.start).toMatch(/reads -(29|30)\.\d+s/);
    // libfaketime without FAKETIME_SHARED leaves no shared memory. The tests beside this one run
    // concurrently and may hold a segment for a moment: polled until it is back (a leak stays).
    for (let t = Date.now(); shm() !== shmBefore && Date.now() - t < 10_000; )
      await new Promise((r) => setTimeout(r, 200));
    expect(shm()).toBe(shmBefore);
  }, 90_000);

  it("a step and a drift of the database's clock are what PostgreSQL's clock_timestamp() says", async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-clock-pg-'));
    await chmod(dir, 0o711); // PostgreSQL runs as `nobody` when the tests run as root
    const files = await prepareClockFiles(dir, ['postgres']);
    const file = files.get('postgres') as string;
    const pg = await PostgresServer.create({
      dataDir: path.join(dir, 'pg'),
      templateDir: path.join(tmpdir(), 'auditchaos-pg-templates'),
      env: faketimeEnv(findLibfaketime(), file),
    });
    try {
      const before = await readPostgresClock(pg.url());
      expect(Math.abs(before?.offsetMs ?? Number.NaN)).toBeLessThan(500);
      await writeOffset(file, -30_000);
      let seen: number | undefined;
      const deadline = Date.now() + 5000;
      while (Date.now() < deadline) {
        seen = (await readPostgresClock(pg.url()))?.offsetMs;
        if (seen !== undefined && seen < -29_000) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      expect(seen).toBeLessThan(-29_500);
      expect(seen).toBeGreaterThan(-30_500);
      await writeOffset(file, 0);

      // A drift of +2s/s for 2 s, through the fault itself: PostgreSQL's clock is ~4 s ahead at the heal.
      const clock = {
        targets: ['postgres'],
        set: (_t: string, ms: number) => writeOffset(file, ms),
        read: () => readPostgresClock(pg.url()),
      };
      const told: string[] = [];
      const t0 = performance.now();
      const heal = await applyClockFault({ target: 'postgres', drift: 2 }, clock, {
        onOutput: (_s, r) => told.push(r.output),
      });
      await new Promise((r) => setTimeout(r, 2000));
      // What the clock should have gained: twice the time the fault was on (however busy the machine).
      const gained = (2 * (performance.now() - t0)) / 1000;
      await heal();
      const reached = Number(/reads \+(\d+(?:\.\d+)?)s/.exec(told[0] ?? '')?.[1]);
      expect(told[0]).toMatch(/drifting \+2s\/s/);
      expect(gained).toBeGreaterThanOrEqual(4);
      expect(reached, told[0]).toBeGreaterThan(gained - 0.8);
      expect(reached, told[0]).toBeLessThan(gained + 0.8);
      expect(told[1]).toMatch(/reads [-+](\d{1,3}ms|0s) from/);
    } finally {
      await pg.dispose();
    }
  }, 60_000);

  it('Ctrl-C during the clock fault: heals it, exits 130, and leaves no clock file behind', async () => {
    const { scenario } = await shortClockStep();
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-clock-int-'));
    const stateDir = path.join(dir, 'state');
    const api = new URL(scenario.workload.target).port;
    const db = scenario.proxies[1]?.listen.split(':')[1];
    const file = path.join(dir, 'clock.yml');
    await writeFile(
      file,
      `version: 1
name: clock-int
description: a run the test interrupts while the service's clock is 30 s back
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:${api}, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:${db}, upstream: postgres:5432 }
workload: { target: "http://127.0.0.1:${api}", writers: 2, rate: 20/s, duration: 60s }
faults:
  - { at: 1s, for: 50s, kind: clock, target: auditlog, offset: -30s }
`,
    );
    const run = startCli(['run', file, '--reports-dir', path.join(dir, 'r')], {
      env: { AUDITCHAOS_STATE_DIR: stateDir },
      timeout: 90_000,
    });
    const { child } = run;
    await run.until(/fault on\s+f1 clock/, 'the fault');
    const states = await listRunStates(stateDir);
    const clockFiles = states.flatMap((s) => s.state.clockFiles ?? []);
    const pids = states.flatMap((s) => s.state.pids.map((p) => p.pid));
    expect(clockFiles).toHaveLength(1);
    const clockFile = clockFiles[0] as string;
    await new Promise((r) => setTimeout(r, 1500));
    expect(readFileSync(clockFile, 'utf8').trim()).toBe('-30.000'); // the fault is on
    child.kill('SIGINT');
    const r = await child;
    expect(r.exitCode, run.output()).toBe(130);
    // Reset to +0 by the heal, then removed with the run's work dir; nothing of the run is left.
    expect(existsSync(clockFile)).toBe(false);
    for (const pid of pids) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(readdirSync(stateDir)).toEqual([]);
    const reportDir = readdirSync(path.join(dir, 'r'))[0] as string;
    const report = JSON.parse(await readFile(path.join(dir, 'r', reportDir, 'report.json'), 'utf8'));
    expect(report.interrupted).toBe(true);
    expect(report.faults[0].endedAt).toBeDefined(); // healed, not abandoned
  }, 90_000);
});
