import { existsSync } from 'node:fs';
import { mkdtemp, readdir } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseScenario } from '../../src/scenario/load.ts';
import { LocalStack } from '../../src/stack/local/local-stack.ts';
import { isAlive, listRunStates } from '../../src/stack/state.ts';
import type { StackEndpoints } from '../../src/stack/types.ts';

const scenario = parseScenario(
  `version: 1
name: local-stack-test
description: the local runtime under test
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:28080, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:25432, upstream: postgres:5432 }
workload: { rate: 10/s, duration: 5s }
`,
  'x.yml',
);

async function post(url: string, body: unknown, timeoutMs = 4000): Promise<number> {
  try {
    const r = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify(body),
      signal: AbortSignal.timeout(timeoutMs),
    });
    await r.body?.cancel();
    return r.status;
  } catch {
    return 0;
  }
}

/** Retries (same event id) until the service stores it or 10 s pass; returns the last status. */
async function postUntilStored(url: string, id: string): Promise<number> {
  let status = 0;
  for (let i = 0; i < 50; i++) {
    status = await post(url, event(id));
    if (status === 201 || status === 200) return 201;
    await new Promise((r) => setTimeout(r, 200));
  }
  return status;
}

const event = (id: string) => ({ event_id: id, actor: 'a', action: 'b', payload: { n: id } });

describe('LocalStack (real PostgreSQL, built-in proxy, reference service as processes)', () => {
  let stateDir: string;
  let stack: LocalStack;
  let ep: StackEndpoints;
  const pids: number[] = [];

  beforeAll(async () => {
    stateDir = await mkdtemp(path.join(tmpdir(), 'auditchaos-state-'));
    stack = new LocalStack({ runId: 'local-test-1', scenario, stateDir });
    const t = performance.now();
    ep = await stack.up();
    console.log(`local stack up in ${Math.round(performance.now() - t)} ms`);
    const states = await listRunStates(stateDir);
    pids.push(...(states[0]?.state.pids.map((p) => p.pid) ?? []));
  });
  afterAll(async () => {
    await stack?.down();
  });

  it('is up: writes through the api proxy land in Postgres, read as the owner role', async () => {
    expect(ep.serviceUrl).toBe('http://127.0.0.1:28080');
    expect(await post(ep.serviceUrl, event('e1'))).toBe(201);
    const c = new pg.Client({ connectionString: ep.databaseUrl });
    await c.connect();
    const r = await c.query('SELECT count(*)::int AS n FROM audit_log');
    await c.end();
    expect(r.rows[0].n).toBe(1);
    expect(pids.length).toBeGreaterThanOrEqual(3); // postgres, proxy, service
  });

  it.each(['kill', 'stop', 'pause'] as const)(
    'db fault %s makes writes fail, recovery brings them back',
    async (mode) => {
      await stack.dbFault(mode);
      const status = await post(ep.serviceUrl, event(`during-${mode}`), 6000);
      expect(`${mode}: ${status}`).toMatch(new RegExp(`^${mode}: (0|5\\d\\d)$`));
      await stack.dbRecover(mode);
      expect(await postUntilStored(ep.serviceUrl, `after-${mode}`)).toBe(201);
    },
  );

  it('service kill and recover', async () => {
    await stack.serviceFault('kill');
    expect(await post(ep.serviceUrl, event('svc-down'), 2000)).not.toBe(201);
    await stack.serviceRecover('kill');
    expect(await postUntilStored(ep.serviceUrl, 'svc-back')).toBe(201);
  });

  it('down on auditlog by name: pause freezes the same process (writes time out), recover thaws it', async () => {
    // The state file lists every service process started so far; the last one is running.
    const servicePid = () =>
      listRunStates(stateDir).then(
        (s) => s[0]?.state.pids.filter((p) => p.role === 'auditlog-0').at(-1)?.pid,
      );
    const before = await servicePid();
    await stack.fault('auditlog', 'pause');
    expect(await post(ep.serviceUrl, event('paused'), 1500)).toBe(0);
    await stack.recover('auditlog', 'pause');
    expect(await postUntilStored(ep.serviceUrl, 'thawed')).toBe(201);
    expect(await servicePid()).toBe(before);
    expect(before !== undefined && isAlive(before)).toBe(true);
  });

  it.each(['stop', 'kill'] as const)('down on auditlog by name, mode %s, and recover', async (mode) => {
    await stack.fault('auditlog', mode);
    expect(await post(ep.serviceUrl, event(`svc-${mode}`), 2000)).not.toBe(201);
    await stack.recover('auditlog', mode);
    expect(await post(ep.serviceUrl, event(`svc-${mode}-back`))).toBe(201);
  });

  it('down on postgres by name, mode restart: a new server process, writes go on', async () => {
    const pgPid = () =>
      listRunStates(stateDir).then((s) => s[0]?.state.pids.find((p) => p.role === 'postgres')?.pid);
    const before = await pgPid();
    await stack.fault('postgres', 'restart');
    await stack.recover('postgres', 'restart');
    expect(await pgPid()).not.toBe(before);
    expect(await postUntilStored(ep.serviceUrl, 'after-pg-restart')).toBe(201);
  });

  it('a name the local runtime does not run is an environment error naming what it runs', async () => {
    await expect(stack.fault('ledger', 'kill')).rejects.toThrow(
      'the local runtime has no process "ledger": it runs auditlog and postgres',
    );
  });

  it('a taken proxy port is an environment error naming the port, before anything starts', async () => {
    const other = new LocalStack({ runId: 'local-test-2', scenario, stateDir });
    const err = await other.up().catch((e: unknown) => e);
    expect(err).toMatchObject({
      exitCode: 3,
      message: 'port 28080 (proxy "api") is already in use on 127.0.0.1',
    });
    await other.down();
  });

  it('down leaves no process, port, state file or temp dir behind', async () => {
    const logs = await mkdtemp(path.join(tmpdir(), 'auditchaos-logs-'));
    const files = await stack.collectLogs(logs);
    expect(files.map((f) => path.basename(f))).toEqual(
      expect.arrayContaining(['postgres.log', 'proxy.log', 'auditlog-0.log']),
    );
    const states = await listRunStates(stateDir);
    const dirs = states[0]?.state.dirs ?? [];
    const allPids = states[0]?.state.pids.map((p) => p.pid) ?? [];
    await stack.down();
    for (const pid of allPids) expect(isAlive(pid)).toBe(false);
    for (const d of dirs) expect(existsSync(d)).toBe(false);
    expect(await readdir(stateDir)).toEqual([]);
    expect(await post('http://127.0.0.1:28080', event('after-down'), 1000)).toBe(0);
  });
});
