/**
 * Issue 13, crash hygiene, through the real binary on the local runtime: the CLI is SIGKILLed at
 * several points of stack-up and the run (fixed times, and moments seen in its state file and
 * output). For each: the stack's processes stop by themselves (the watchdog), then `auditchaos
 * down` leaves no process, listening port, work dir or state file (.json or .tmp), and a report
 * folder left behind says it is incomplete. A stack left up on purpose (`up`) survives its CLI.
 * A signal that lands after the report is written leaves the exit code the report's.
 */
import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { describe, expect, it } from 'vitest';
import { freePort, portFree } from '../../src/stack/local/free-port.ts';
import { BIN, REPO_ROOT, runCli } from '../helpers/cli.ts';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Live processes of runs of scenario `name` (the watchdog included): by the stack tag or the work dir. */
function stackProcesses(name: string): number[] {
  const tag = `\0AUDITCHAOS_STACK_TAG=${name}-`;
  const dirPrefix = path.join(tmpdir(), `auditchaos-${name}-`);
  const out: number[] = [];
  for (const p of readdirSync('/proc').filter((n) => /^\d+$/.test(n))) {
    const read = (f: string) => {
      try {
        return readFileSync(`/proc/${p}/${f}`, 'latin1');
      } catch {
        return '';
      }
    };
    const stat = read('stat');
    if (!stat || stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z') continue;
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${p}/cwd`);
    } catch {
      // gone, or not ours to read
    }
    const cmd = read('cmdline');
    const env = `\0${read('environ')}`;
    // The watchdog carries the work dir in its settings (environment); the stack's children the tag.
    if (env.includes(tag) || env.includes(dirPrefix) || cwd.startsWith(dirPrefix) || cmd.includes(dirPrefix))
      out.push(Number(p));
  }
  return out;
}

function workDirs(name: string): string[] {
  return readdirSync(tmpdir()).filter((d) => d.startsWith(`auditchaos-${name}-`));
}

async function until(cond: () => boolean | Promise<boolean>, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (await cond()) return true;
    await sleep(20);
  }
  return cond();
}

interface Case {
  label: string;
  /** Resolves when the CLI should be killed. */
  when: (ctx: { stateDir: string; output: () => string; startedAt: number }) => Promise<boolean>;
}

/** The roles whose pids the state file holds, read as the CLI writes it. */
async function rolesRecorded(stateDir: string): Promise<string[]> {
  if (!existsSync(stateDir)) return [];
  const roles: string[] = [];
  for (const f of await readdir(stateDir)) {
    if (!f.endsWith('.json')) continue;
    try {
      const s = JSON.parse(await readFile(path.join(stateDir, f), 'utf8')) as { pids: { role: string }[] };
      roles.push(...s.pids.map((p) => p.role));
    } catch {
      // mid-rename
    }
  }
  return roles;
}

const at =
  (ms: number): Case['when'] =>
  async (c) =>
    Date.now() - c.startedAt >= ms;
/** `ms` after the run printed its stack-up phase (the CLI's own start takes 0.4 s to 7 s here). */
const afterStackUp = (ms: number): Case['when'] => {
  let seen: number | undefined;
  return async (c) => {
    if (seen === undefined && /phase stack-up/.test(c.output())) seen = Date.now();
    return seen !== undefined && Date.now() - seen >= ms;
  };
};
const recorded =
  (role: string): Case['when'] =>
  async (c) =>
    (await rolesRecorded(c.stateDir)).some((r) => r.startsWith(role));

const CASES: Case[] = [
  { label: '0.3 s after the CLI started (loading)', when: at(300) },
  {
    label: 'as the state file appears (work dir about to be made)',
    when: async (c) => existsSync(c.stateDir) && readdirSync(c.stateDir).length > 0,
  },
  { label: '0.3 s into stack-up', when: afterStackUp(300) },
  { label: '1.0 s into stack-up', when: afterStackUp(1000) },
  { label: '1.8 s into stack-up', when: afterStackUp(1800) },
  { label: 'once PostgreSQL is recorded', when: recorded('postgres') },
  { label: '1 s into the workload', when: async (c) => /phase workload/.test(c.output()) },
];

async function scenario(
  dir: string,
  name: string,
  duration: string,
): Promise<{ file: string; ports: number[] }> {
  const ports = [await freePort(), await freePort()];
  const file = path.join(dir, `${name}.yml`);
  await writeFile(
    file,
    `version: 1
name: ${name}
description: a run the lifecycle test kills
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:${ports[0]}, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:${ports[1]}, upstream: postgres:5432 }
workload: { writers: 2, rate: 20/s, duration: ${duration} }
`,
  );
  return { file, ports };
}

function startCli(
  args: string[],
  stateDir: string,
): { child: ResultPromise; output: () => string; stdout: () => string } {
  const child = execa(process.execPath, [BIN, ...args], {
    cwd: REPO_ROOT,
    env: { NO_COLOR: '1', AUDITCHAOS_STATE_DIR: stateDir },
    reject: false,
    timeout: 90_000,
  });
  let out = '';
  let stdout = '';
  child.stdout?.on('data', (b: Buffer) => {
    out += b.toString();
    stdout += b.toString();
  });
  child.stderr?.on('data', (b: Buffer) => {
    out += b.toString();
  });
  return { child, output: () => out, stdout: () => stdout };
}

const results: string[] = [];

describe('SIGKILL of the CLI (issue 13, crash hygiene)', () => {
  it(`${CASES.length} kill points of a plain run: children stop by themselves; down leaves nothing`, async () => {
    const lanes = 3;
    const queue = [...CASES.entries()];
    const lane = async () => {
      for (let next = queue.shift(); next; next = queue.shift()) await killCase(...next);
    };
    await Promise.all(Array.from({ length: lanes }, lane));
    console.log(`lifecycle: ${results.length} kill points, all clean\n  ${results.join('\n  ')}`);
    expect(results.length).toBe(CASES.length);
  }, 240_000);

  async function killCase(i: number, c: Case): Promise<void> {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-lc-test-'));
    const name = `lc${process.pid}k${i}`;
    const stateDir = path.join(dir, 'state');
    const reports = path.join(dir, 'reports');
    const { file, ports } = await scenario(dir, name, '20s');
    const t0 = Date.now();
    const cli = startCli(['run', file, '--reports-dir', reports], stateDir);
    const hit = await until(() => c.when({ stateDir, output: cli.output, startedAt: t0 }), 40_000);
    expect(hit, `${c.label}: the moment never came:\n${cli.output()}`).toBe(true);
    if (/workload/.test(c.label)) await sleep(1000);
    const killedAt = Date.now() - t0;
    cli.child.kill('SIGKILL');
    await cli.child;
    const alive = stackProcesses(name);
    // The stack stops by itself: nobody runs `down` yet.
    const stopped = await until(() => stackProcesses(name).length === 0, 8000);
    const stopMs = Date.now() - t0 - killedAt;
    expect(stopped, `${c.label}: still running ${stackProcesses(name).join(' ')}`).toBe(true);
    const down = await runCli(['down'], { env: { AUDITCHAOS_STATE_DIR: stateDir } });
    expect(down.exitCode, down.stderr).toBe(0);
    expect(stackProcesses(name)).toEqual([]);
    expect(workDirs(name), c.label).toEqual([]);
    expect(existsSync(stateDir) ? readdirSync(stateDir) : [], c.label).toEqual([]);
    for (const p of ports) expect(await portFree(p), `${c.label}: port ${p}`).toBe(true);
    // A report folder the killed run made says that it is incomplete; it has no report.
    for (const d of existsSync(reports) ? readdirSync(reports) : []) {
      const files = readdirSync(path.join(reports, d));
      expect(files, c.label).toContain('INCOMPLETE.txt');
      expect(files).not.toContain('report.json');
    }
    results.push(
      `${c.label}: killed at ${killedAt} ms with ${alive.length} stack process(es) alive; all stopped ${stopMs} ms later; down: ${down.stdout.split('\n')[0]}`,
    );
  }

  it('a stack left up (`up`) survives a SIGKILL of its CLI; down then leaves nothing', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-lc-test-'));
    const name = `lc${process.pid}up`;
    const stateDir = path.join(dir, 'state');
    const { file, ports } = await scenario(dir, name, '3s');
    const cli = startCli(['up', file, '--json'], stateDir);
    expect(await until(() => /^}/m.test(cli.stdout()), 60_000), cli.output()).toBe(true);
    cli.child.kill('SIGKILL');
    await cli.child;
    await sleep(3000); // longer than the watchdog needs to take a stack down
    const ep = JSON.parse(cli.stdout()) as { serviceUrl: string };
    const health = await fetch(`${ep.serviceUrl}/health`);
    expect(health.status).toBe(200);
    expect(stackProcesses(name).length).toBeGreaterThanOrEqual(3);
    const down = await runCli(['down'], { env: { AUDITCHAOS_STATE_DIR: stateDir } });
    expect(down.exitCode).toBe(0);
    expect(await until(() => stackProcesses(name).length === 0, 5000)).toBe(true);
    expect(workDirs(name)).toEqual([]);
    expect(readdirSync(stateDir)).toEqual([]);
    for (const p of ports) expect(await portFree(p)).toBe(true);
  }, 90_000);

  it('SIGTERM after the report is written: the exit code is the one the report states', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-lc-test-'));
    const name = `lc${process.pid}late`;
    const stateDir = path.join(dir, 'state');
    const reports = path.join(dir, 'reports');
    const { file } = await scenario(dir, name, '2s');
    const cli = startCli(['run', file, '--reports-dir', reports], stateDir);
    expect(await until(() => /^report: /m.test(cli.output()), 60_000), cli.output()).toBe(true);
    cli.child.kill('SIGTERM');
    const r = await cli.child;
    const [d] = readdirSync(reports).filter((x) => x.startsWith(name));
    const report = JSON.parse(await readFile(path.join(reports, d as string, 'report.json'), 'utf8'));
    expect(report.verdict.status).toBe('pass');
    expect(
      r.exitCode,
      `signal ${r.signal}, forced ${r.isForcefullyTerminated}\n${cli.output().slice(-600)}`,
    ).toBe(0);
    expect(readdirSync(path.join(reports, d as string))).not.toContain('INCOMPLETE.txt');
  }, 90_000);
});
