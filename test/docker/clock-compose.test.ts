/**
 * Clock faults on the compose runtime, with real libfaketime mounted from the host into the
 * containers of the reference stack: scenarios/clock-step.yml (shortened) catches the app-clock
 * flaw with the expected finding and the correct service passes it; a step of the database's
 * clock is read back from PostgreSQL through its published port; Ctrl-C during the fault sets
 * the file back to +0 and the run's clock folder is removed with the stack.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { RunSink } from '../../src/report/events.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import { projectName } from '../../src/stack/compose/compose-cli.ts';
import { ComposeStack, DEFAULT_COMPOSE_FILE } from '../../src/stack/compose/compose-stack.ts';
import { DockerEngine } from '../../src/stack/compose/docker-engine.ts';
import { overrideFileName } from '../../src/stack/compose/override.ts';
import { freePort } from '../../src/stack/local/free-port.ts';
import { listRunStates } from '../../src/stack/state.ts';
import { runCli, startCli } from '../helpers/cli.ts';
import { runOnCompose } from '../helpers/compose-run.ts';
import { shipped } from '../helpers/scenarios.ts';

const probe = await new DockerEngine().probe(5000);
const skip = !probe.ok && process.env.AUDITCHAOS_REQUIRE_DOCKER !== '1';
const work = await mkdtemp(path.join(tmpdir(), 'auditchaos-clock-compose-'));
const stateDir = path.join(work, 'state');
afterAll(async () => {
  await runCli(['down', '--all'], { env: { AUDITCHAOS_STATE_DIR: stateDir } });
  await rm(work, { recursive: true, force: true });
});

const _silent: RunSink = { handle() {}, close() {} };

/** clock-step.yml on compose, shorter (10 s, the step at 3 s for 4 s), on free ports. */
async function shortClockStep(flaws: Scenario['stack']['flaws']) {
  const loaded = await shipped('clock-step');
  const [api, db] = [await freePort(), await freePort()];
  const s = loaded.scenario;
  const scenario: Scenario = {
    ...s,
    stack: { ...s.stack, runtime: 'compose', compose: DEFAULT_COMPOSE_FILE, flaws },
    proxies: [
      { name: 'api', listen: `0.0.0.0:${api}`, upstream: 'auditlog:8080', enabled: true },
      { name: 'db', listen: `0.0.0.0:${db}`, upstream: 'postgres:5432', enabled: true },
    ],
    workload: { ...s.workload, target: `http://127.0.0.1:${api}`, duration: 10_000 },
    faults: s.faults.map((f) => ({ ...f, at: 3000, for: 4000 })),
  };
  return { ...loaded, scenario };
}

/** The run's clock folder as the compose stack names it, seen from its state before down. */
async function runCompose(flaws: Scenario['stack']['flaws']) {
  const loaded = await shortClockStep(flaws);
  let clockDir: string | undefined;
  let filesDuringRun: string[] = [];
  const { outcome } = await runOnCompose(loaded, {
    reportsRoot: path.join(work, 'reports'),
    stateDir,
    composeFile: DEFAULT_COMPOSE_FILE,
    beforeDown: (st) => {
      const file = st.clock?.files.get('auditlog');
      clockDir = file ? path.dirname(file) : undefined;
      filesDuringRun = clockDir ? readdirSync(clockDir) : [];
    },
  });
  return { outcome, clockDir, filesDuringRun };
}

describe.skipIf(skip)('clock faults on the compose runtime (libfaketime mounted from the host)', () => {
  it('a -30 s step of the service container clock: app-clock is caught, the correct service passes', async () => {
    const started = Date.now();
    const [flawed, correct] = await Promise.all([runCompose(['app-clock']), runCompose([])]);
    console.log(`[clock-compose] two runs side by side in ${Date.now() - started} ms`);
    const fr = flawed.outcome.report;
    const cr = correct.outcome.report;
    console.log('[clock-compose] flawed:', fr.faults[0]?.output?.start, '|', fr.verdict.reasons.join('; '));
    console.log('[clock-compose] correct:', cr.faults[0]?.output?.start, '|', cr.verdict.reasons.join('; '));

    const kinds = new Set(fr.findings.map((f) => f.kind));
    expect(fr.verdict.status, fr.verdict.reasons.join('; ')).toBe('fail');
    expect(kinds).toContain('clock-backwards');
    expect(kinds).toContain('ts-outside-window');
    const back = fr.findings.find((f) => f.kind === 'clock-backwards');
    expect(Number(back?.detail?.behindMs)).toBeGreaterThan(28_000);
    expect(Number(back?.detail?.behindMs)).toBeLessThan(32_000);
    expect(back?.story?.nearest?.label).toMatch(/clock/);
    // Read back from the container itself (its HTTP Date header), at the step and after the heal.
    expect(fr.faults[0]?.output?.start).toMatch(/reads -(29|30|31)(\.\d+)?s from the harness/);
    expect(fr.faults[0]?.output?.heal).toMatch(/wanted \+0s/);

    expect(cr.verdict.status, cr.verdict.reasons.join('; ')).toBe('pass');
    expect(cr.findings.filter((f) => f.severity === 'violation')).toEqual([]);
    expect(cr.scan?.counts?.missing).toBe(0);
    expect(cr.faults[0]?.output?.start).toMatch(/reads -(29|30|31)(\.\d+)?s/);

    // The folder held exactly the moved service's file during the run, and is gone with the stack.
    for (const r of [flawed, correct]) {
      expect(r.filesDuringRun.sort()).toEqual(['clock-auditlog.rc', 'shm-guard']);
      expect(r.clockDir && existsSync(r.clockDir)).toBe(false);
    }
  }, 300_000);

  it("a step of the database container's clock is what PostgreSQL's clock_timestamp() says through its published port", async () => {
    const loaded = await shipped('clock-step');
    const [api, db] = [await freePort(), await freePort()];
    const stack = new ComposeStack({
      runId: `clock-pg-${Date.now()}`,
      scenario: {
        ...loaded.scenario,
        stack: { ...loaded.scenario.stack, runtime: 'compose' },
        proxies: [
          { name: 'api', listen: `0.0.0.0:${api}`, upstream: 'auditlog:8080', enabled: true },
          { name: 'db', listen: `0.0.0.0:${db}`, upstream: 'postgres:5432', enabled: true },
        ],
        faults: [{ at: 3000, for: 4000, kind: 'clock', target: 'postgres', offset: -30_000 }],
      },
      stateDir,
    });
    try {
      await stack.up();
      const clock = stack.clock;
      if (!clock) throw new Error('no clock control for a scenario with a clock fault');
      expect(clock.targets).toEqual(['postgres']);
      const before = await clock.read('postgres');
      expect(Math.abs(before?.offsetMs ?? Number.NaN)).toBeLessThan(500);
      await clock.set('postgres', -30_000);
      let seen: number | undefined;
      const deadline = Date.now() + 8000;
      while (Date.now() < deadline) {
        seen = (await clock.read('postgres'))?.offsetMs;
        if (seen !== undefined && seen < -29_000) break;
        await new Promise((r) => setTimeout(r, 200));
      }
      console.log('[clock-compose] postgres offset read back:', seen);
      expect(seen).toBeLessThan(-29_500);
      expect(seen).toBeGreaterThan(-30_500);
      // The service's container was not started under libfaketime: only the target is.
      const engine = new DockerEngine();
      const svc = (await engine.containers(stack.selector)).find((c) => c.service === 'auditlog');
      const env = (await execa('docker', ['inspect', '-f', '{{json .Config.Env}}', svc?.id ?? 'none']))
        .stdout;
      expect(env).not.toMatch(/LD_PRELOAD|FAKETIME/);
    } finally {
      await stack.down();
    }
    expect(readdirSync(tmpdir()).filter((n) => n.includes(stack.project))).toEqual([]);
  }, 300_000);

  /** A 90 s compose run whose service clock is 30 s back from 1 s on; resolves once the fault is on. */
  async function runUntilClockFault(name: string, states: string) {
    const [api, db] = [await freePort(), await freePort()];
    const file = path.join(work, `${name}.yml`);
    await writeFile(
      file,
      `version: 1
name: ${name}
description: a compose run the test interrupts while the service's clock is 30 s back
stack: { runtime: compose, compose: ${DEFAULT_COMPOSE_FILE} }
proxies:
  - { name: api, listen: 0.0.0.0:${api}, upstream: auditlog:8080 }
  - { name: db, listen: 0.0.0.0:${db}, upstream: postgres:5432 }
workload: { target: "http://127.0.0.1:${api}", writers: 2, rate: 20/s, duration: 90s }
faults:
  - { at: 1s, for: 80s, kind: clock, target: auditlog, offset: -30s }
`,
    );
    const reports = path.join(work, `r-${name}`);
    const run = startCli(['run', file, '--reports-dir', reports], {
      env: { AUDITCHAOS_STATE_DIR: states },
      timeout: 240_000,
    });
    const { child } = run;
    await run.until(/fault on\s+f1 clock/, 'the fault');
    const found = await listRunStates(states);
    const clockFiles = found.flatMap((x) => x.state.clockFiles ?? []);
    expect(clockFiles).toHaveLength(1);
    const clockFile = clockFiles[0] as string;
    await new Promise((r) => setTimeout(r, 1500));
    expect(readFileSync(clockFile, 'utf8').trim()).toBe('-30.000'); // the fault is on
    return { child, clockFile, reports, runId: found[0]?.state.runId as string, out: run.output };
  }

  it('Ctrl-C during the clock fault: heals it to +0, exits 130, and the clock folder is gone', async () => {
    const run = await runUntilClockFault('clock-int', stateDir);
    run.child.kill('SIGINT');
    const r = await run.child;
    expect(r.exitCode, run.out()).toBe(130);
    expect(existsSync(path.dirname(run.clockFile))).toBe(false);
    expect(readdirSync(stateDir).filter((f) => f.endsWith('.json'))).toEqual([]);
    const reportDir = readdirSync(run.reports)[0] as string;
    const report = JSON.parse(await readFile(path.join(run.reports, reportDir, 'report.json'), 'utf8'));
    expect(report.interrupted).toBe(true);
    expect(report.faults[0].endedAt).toBeDefined(); // healed, not abandoned
    expect(report.faults[0].output?.heal).toMatch(/wanted \+0s/); // read back at true time before down
  }, 300_000);

  it('SIGKILL during the clock fault: the file stays at -30 s until `auditchaos down` resets it and removes the folder and the stack', async () => {
    const states = path.join(work, 'state-kill');
    const run = await runUntilClockFault('clock-kill', states);
    run.child.kill('SIGKILL');
    await run.child;
    expect(readFileSync(run.clockFile, 'utf8').trim()).toBe('-30.000'); // nobody healed it
    const down = await runCli(['down'], { env: { AUDITCHAOS_STATE_DIR: states }, timeout: 120_000 });
    console.log('[clock-compose] down:', down.stdout.trim().split('\n').slice(-6).join(' | '));
    expect(down.exitCode, down.stdout + down.stderr).toBe(0);
    expect(down.stdout).toContain(`set the clock file ${run.clockFile} back to +0`);
    expect(existsSync(path.dirname(run.clockFile))).toBe(false);
    expect(existsSync(path.join(tmpdir(), overrideFileName(projectName(run.runId))))).toBe(false);
    const left = await new DockerEngine().containers({ all: true });
    expect(left.filter((c) => c.labels['io.auditchaos.run-id'] === run.runId)).toEqual([]);
    expect(readdirSync(states).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 300_000);
});
