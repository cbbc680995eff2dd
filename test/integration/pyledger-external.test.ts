/**
 * The foreign example stack (issue 12), as examples/pyledger/README.md runs it on the external
 * runtime: a real PostgreSQL started by examples/pyledger/pg.sh (which the scenario's `command`
 * fault also crashes and restarts), the built-in proxy started with the README's command, the
 * Python service (Debian's python3 + psycopg2) reaching its database through the proxy, and
 * `auditchaos run examples/pyledger/scenarios/external.yml` unchanged. The correct service passes;
 * each bug switch fails the run with the finding kind it must cause. A journal the Python service
 * wrote (json.dumps text: spaces, \u escapes, 1.5) verifies clean with the template recipe and with
 * examples/pyledger/recipe.mjs, and not with the reference (JCS) recipe.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BIN, REPO_ROOT, runCli } from '../helpers/cli.ts';

const EXAMPLE = path.join(REPO_ROOT, 'examples/pyledger');
const SCENARIO = path.join(EXAMPLE, 'scenarios/external.yml');
// The addresses examples/pyledger/scenarios/external.yml and proxies.json name.
const SERVICE_PORT = 32270;
const DB_PROXY_PORT = 32272;
const PG_PORT = 32273;
const TOXIPROXY_PORT = 32274;
// Not the scenario's default: the run must take it from the environment, and never write it down.
const PASSWORD = 'pyl-Secret-7f3a';
// Debian's interpreter, which has python3-psycopg2 (a pyenv or venv python3 on PATH may not).
const PYTHON = existsSync('/usr/bin/python3') ? '/usr/bin/python3' : 'python3';

let proxy: ResultPromise;
let dir: string;

const PG_URL = `postgresql://ledger:${PASSWORD}@127.0.0.1:${PG_PORT}/ledger`;
const pgEnv = () => ({ PYLEDGER_PGDATA: path.join(dir, 'pg'), PYLEDGER_DB_PASSWORD: PASSWORD });
/** One statement on a session of its own (the scenario's crash fault ends every session). */
async function sql<R extends pg.QueryResultRow>(text: string): Promise<R[]> {
  const c = new pg.Client({ connectionString: PG_URL });
  await c.connect();
  try {
    return (await c.query<R>(text)).rows;
  } finally {
    await c.end();
  }
}
const pgScript = (cmd: string) =>
  execa(path.join(EXAMPLE, 'pg.sh'), [cmd], { env: pgEnv(), reject: false, all: true });

async function waitFor(what: string, probe: () => Promise<boolean>, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await probe().catch(() => false)) return;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`${what} did not come up within ${timeoutMs} ms`);
}

interface Service {
  child: ChildProcess;
  output: () => string;
  /** SIGTERM; true when it had to be SIGKILLed after 5 s (a service that ignores a stop). */
  stop: () => Promise<boolean>;
}

/** The README's command: PORT, HOST, DATABASE_URL through the db proxy, LEDGER_BUGS. */
async function startService(bugs: string): Promise<Service> {
  const child = spawn(PYTHON, [path.join(EXAMPLE, 'ledger.py')], {
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      PORT: String(SERVICE_PORT),
      HOST: '127.0.0.1',
      DATABASE_URL: `postgresql://ledger:${PASSWORD}@127.0.0.1:${DB_PROXY_PORT}/ledger`,
      LEDGER_BUGS: bugs,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  child.stdout?.on('data', (d) => (out += d));
  child.stderr?.on('data', (d) => (out += d));
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  await waitFor(`pyledger (${bugs || 'correct'}): ${out}`, async () => {
    if (child.exitCode !== null) throw new Error(`pyledger exited: ${out}`);
    const r = await fetch(`http://127.0.0.1:${SERVICE_PORT}/healthz`);
    return r.status === 200;
  });
  return {
    child,
    output: () => out,
    stop: async () => {
      if (child.exitCode !== null || child.signalCode !== null) return false;
      child.kill('SIGTERM');
      let forced = false;
      const t = setTimeout(() => {
        forced = true;
        child.kill('SIGKILL');
      }, 5000);
      await exited;
      clearTimeout(t);
      return forced;
    },
  };
}

interface RunReport {
  verdict: { status: string; reasons: string[] };
  counts?: Record<string, number>;
  findings: { kind: string }[];
  runtime: { kind: string };
  scan?: { entries: number; source: string; checksRun: { name: string; ran: boolean; reason?: string }[] };
  faults: { kind: string; error?: string; startedAt?: number; noEffect?: string }[];
  thresholds: { name: string; pass: boolean; actual: number | string | null }[];
  visibility?: { followed: number; fates: { seen: number }; notChecked?: string } | null;
}

async function runExample(bugs: string) {
  await sql('DROP TABLE IF EXISTS journal');
  const svc = await startService(bugs);
  const out = path.join(dir, `run-${bugs || 'correct'}`);
  let res: Awaited<ReturnType<typeof runCli>>;
  try {
    res = await runCli(['run', SCENARIO, '--out', out, '--quiet'], {
      env: pgEnv(), // the password for the scan URL, and pg.sh's data for the crash fault
      timeout: 150_000,
    });
  } finally {
    // The service must stop on SIGTERM after a run, as the README's `kill` expects.
    expect(await svc.stop(), `pyledger ignored SIGTERM: ${svc.output().slice(-2000)}`).toBe(false);
  }
  const file = path.join(out, 'report.json');
  const report = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunReport) : undefined;
  const kinds = new Set(report?.findings.map((f) => f.kind));
  const context = `${bugs || 'correct'}: exit ${res.exitCode}\n${res.stdout}\n${res.stderr}\n${report?.verdict.reasons.join('\n')}\nservice: ${svc.output().slice(-2000)}`;
  return { res, report, kinds, out, context };
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-pyledger-'));
  // The example's files must be readable to the `nobody` that pg.sh runs the server as.
  await chmod(dir, 0o755);
  // README: examples/pyledger/pg.sh start
  const started = await pgScript('start');
  expect(started.exitCode, started.all).toBe(0);
  // README: auditchaos proxy --port 32274 --config examples/pyledger/proxies.json
  proxy = execa(
    process.execPath,
    [
      BIN,
      'proxy',
      '--host',
      '127.0.0.1',
      '--port',
      String(TOXIPROXY_PORT),
      '--config',
      path.join(EXAMPLE, 'proxies.json'),
    ],
    { reject: false, cwd: REPO_ROOT },
  );
  await waitFor('the built-in proxy', async () => {
    const r = await fetch(`http://127.0.0.1:${TOXIPROXY_PORT}/proxies`);
    const all = (await r.json()) as Record<string, unknown>;
    return 'api' in all && 'db' in all;
  });
}, 60_000);

afterAll(async () => {
  proxy?.kill('SIGTERM');
  await proxy?.catch(() => undefined);
  if (dir) await pgScript('destroy');
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('examples/pyledger on the external runtime', () => {
  it('the correct service passes, and the password from the environment is in no report file', async () => {
    const r = await runExample('');
    expect(r.report, r.context).toBeDefined();
    expect(r.report?.runtime.kind).toBe('external');
    expect(r.report?.verdict.status, r.context).toBe('pass');
    expect(r.res.exitCode, r.context).toBe(0);
    expect(r.report?.scan?.entries, r.context).toBeGreaterThan(200);
    // scan.source.verify: database: PostgreSQL computed the digests (all of them: a clean journal).
    const chain = r.report?.scan?.checksRun.find((c) => c.name === 'chain');
    expect(chain?.reason, r.context).toBe(
      `the database computed the digests of ${r.report?.scan?.entries} of ${r.report?.scan?.entries} entries (verify in database); the client hashed the rest`,
    );
    // Every fault struck and was healed: the link cut, the crash by pg.sh, the late replies.
    expect(
      r.report?.faults.map((f) => [f.kind, f.error ?? 'ok', f.startedAt !== undefined, f.noEffect ?? '']),
      r.context,
    ).toEqual([
      ['db-down', 'ok', true, ''],
      ['command', 'ok', true, ''],
      ['latency', 'ok', true, ''],
    ]);
    // The reader followed events in the journal (by uid, through the scenario's mapping) and saw
    // each soon after its ack; the clock checks ran on the journal's own `at` column and held.
    const vis = r.report?.visibility;
    expect(vis?.followed, r.context).toBeGreaterThan(50);
    expect(vis?.fates.seen, r.context).toBeGreaterThan(vis ? vis.followed * 0.9 : 1);
    expect(vis?.notChecked, r.context).toBeUndefined();
    for (const name of ['delayed', 'clockBackwards', 'tsOutsideWindow'])
      expect(
        r.report?.thresholds.find((t) => t.name === name),
        `${name}\n${r.context}`,
      ).toMatchObject({
        pass: true,
        actual: 0,
      });
    const pgLog = readFileSync(path.join(pgEnv().PYLEDGER_PGDATA, 'postgres.log'), 'utf8');
    expect(pgLog).toContain('received immediate shutdown request');
    // The tamper probe edited an entry and the template chain noticed (a warning, not a
    // violation); indeterminate ops (the writers' timeouts) are information.
    expect(
      [...r.kinds].filter((k) => k !== 'indeterminate'),
      r.context,
    ).toEqual(['tamper-detected']);
    const files = readdirSync(r.out, { recursive: true, encoding: 'utf8' })
      .map((f) => path.join(r.out, f))
      .filter((f) => statSync(f).isFile());
    expect(files.length).toBeGreaterThan(3);
    for (const f of files)
      expect(readFileSync(f, 'utf8').includes(PASSWORD), `${f} holds the password`).toBe(false);
  }, 180_000);

  it.each([
    ['ack-before-commit', 'missing'],
    ['truncate-body', 'partial'],
    ['no-idempotency', 'duplicate'],
  ])(
    'bug %s fails the run with %s findings',
    async (bug, kind) => {
      const r = await runExample(bug);
      expect(r.report, r.context).toBeDefined();
      expect(r.report?.verdict.status, r.context).toBe('fail');
      expect(r.res.exitCode, r.context).toBe(1);
      expect(r.kinds.has(kind), `${[...r.kinds].join(', ')}\n${r.context}`).toBe(true);
    },
    180_000,
  );
});

describe('a journal hashed over Python-style JSON text', () => {
  it('verifies clean with the template recipe and with recipe.mjs, not with the reference recipe', async () => {
    await sql('DROP TABLE IF EXISTS journal');
    const svc = await startService('');
    try {
      const bodies = [
        { data: 'a', amount: 1.5 },
        { name: 'Zoë', tags: ['x', 'y'], nested: { ok: true, n: null } },
        [1, 2.25, 'three'],
        'just text',
        { amount: 1e21, small: 0.1 },
      ];
      for (const [i, body] of bodies.entries()) {
        const id = `0190f2a1-0000-7000-8000-${String(i).padStart(12, '0')}`;
        const r = await fetch(`http://127.0.0.1:${SERVICE_PORT}/ledger/${id}`, {
          method: 'PUT',
          headers: { 'content-type': 'application/json' },
          body: JSON.stringify({ who: `user-${i}`, verb: 'append', body }),
        });
        expect(r.status).toBe(201);
      }
    } finally {
      await svc.stop();
    }
    const stored = { rows: await sql<{ body: string }>('SELECT body FROM journal ORDER BY n') };
    // Python's text, which no JS rendering of the parsed value reproduces.
    expect(stored.rows[0]?.body).toBe('{"data": "a", "amount": 1.5}');
    expect(stored.rows[1]?.body).toContain('"Zo\\u00eb"');
    expect(stored.rows[4]?.body).toBe('{"amount": 1e+21, "small": 0.1}');

    const url = PG_URL;
    const byTemplate = await runCli(['scan', url, '--scenario', SCENARIO, '--json'], {
      env: { PYLEDGER_DB_PASSWORD: PASSWORD },
    });
    expect(byTemplate.exitCode, byTemplate.stderr).toBe(0);
    expect(JSON.parse(byTemplate.stdout)).toMatchObject({ verdict: 'pass', entries: 5 });

    const maps = [
      'seq=n',
      'eventId=uid',
      'actor=who',
      'action=verb',
      'payload=body',
      'ts=at',
      'prevHash=parent',
      'hash=digest',
    ];
    const mapArgs = maps.flatMap((m) => ['--map', m]);
    const byModule = await runCli([
      'scan',
      url,
      '--table',
      'journal',
      ...mapArgs,
      '--chain-module',
      path.join(EXAMPLE, 'recipe.mjs'),
      '--json',
    ]);
    expect(byModule.exitCode, byModule.stderr).toBe(0);
    expect(JSON.parse(byModule.stdout)).toMatchObject({ verdict: 'pass', entries: 5 });

    // The same rows under the reference recipe (JCS of the parsed fields): every link breaks.
    const byReference = await runCli(['scan', url, '--table', 'journal', ...mapArgs, '--json']);
    expect(byReference.exitCode).toBe(1);
    expect(JSON.parse(byReference.stdout)).toMatchObject({ verdict: 'fail' });
  }, 120_000);
});
