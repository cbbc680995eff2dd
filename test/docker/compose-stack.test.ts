/**
 * The compose runtime end to end against a real Docker engine, with the images the environment
 * names (CI: the ones scripts/offline-images.sh builds). With AUDITCHAOS_REQUIRE_DOCKER=1 (set by
 * `npm run test:docker` and CI) a missing or broken Docker fails the suite instead of skipping it.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import Docker from 'dockerode';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/errors.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { detectCompose } from '../../src/stack/compose/compose-cli.ts';
import { ComposeStack } from '../../src/stack/compose/compose-stack.ts';
import { DockerEngine } from '../../src/stack/compose/docker-engine.ts';
import { freePort } from '../../src/stack/local/free-port.ts';
import { runCli } from '../helpers/cli.ts';

const required = process.env.AUDITCHAOS_REQUIRE_DOCKER === '1';
const engine = new DockerEngine();
const problem = await (async () => {
  const p = await engine.probe(5000);
  if (!p.ok) return `no Docker engine answers at ${p.socket}: ${p.reason}`;
  if (!(await detectCompose())) return 'neither `docker compose` nor `docker-compose` is installed';
  return undefined;
})();

it('Docker engine and compose are available', (ctx) => {
  if (problem && !required) ctx.skip();
  // With AUDITCHAOS_REQUIRE_DOCKER=1 this is a failure, never a skip.
  expect(problem, 'run scripts/ci-docker.sh (or start dockerd) first').toBeUndefined();
});

async function scenarioWithFreePorts() {
  const [api, db] = [await freePort(), await freePort()];
  return parseScenario(
    `version: 1
name: docker-e2e
description: e2e
proxies:
  - { name: api, listen: 127.0.0.1:${api}, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:${db}, upstream: postgres:5432 }
workload: { rate: 10/s, duration: 5s }
`,
    'docker-e2e.yml',
  );
}

const runId = (what: string) => `e2e-${what}-${process.pid}-${Date.now().toString(36)}`;

function postEvent(url: string, n: number) {
  return fetch(`${url}/events`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      event_id: `018f0000-0000-7000-8000-${String(n).padStart(12, '0')}`,
      actor: `user-${n}`,
      action: 'login',
      payload: { n },
    }),
    signal: AbortSignal.timeout(5000),
  }).then(
    (r) => r.status,
    () => 0,
  );
}

describe.skipIf(problem !== undefined)('compose runtime (real Docker)', () => {
  const docker = new Docker();
  const stateDir = path.join(tmpdir(), `auditchaos-docker-e2e-${process.pid}`);
  let bystander: Docker.Container | undefined;

  beforeAll(async () => {
    // Someone else's container, network and volume: nothing of ours may touch them.
    const image = process.env.AUDITCHAOS_POSTGRES_IMAGE || 'postgres:15.14-bookworm';
    bystander = await docker.createContainer({
      Image: image,
      Cmd: ['sleep', '600'],
      name: `bystander-${process.pid}`,
      Labels: { 'com.docker.compose.project': 'someone-else' },
    });
    await bystander.start();
    await docker.createNetwork({ Name: `bystander-net-${process.pid}` });
    await docker.createVolume({ Name: `bystander-vol-${process.pid}` });
  });

  afterAll(async () => {
    await bystander?.remove({ force: true }).catch(() => undefined);
    await docker
      .getNetwork(`bystander-net-${process.pid}`)
      .remove()
      .catch(() => undefined);
    await docker
      .getVolume(`bystander-vol-${process.pid}`)
      .remove()
      .catch(() => undefined);
    await rm(stateDir, { recursive: true, force: true });
  });

  it('comes up healthy, survives a DB kill and restart, collects logs, and leaves nothing after down', async () => {
    const scenario = await scenarioWithFreePorts();
    const stack = new ComposeStack({ runId: runId('main'), scenario, stateDir, healthTimeoutMs: 180_000 });
    const logDir = await mkdtemp(path.join(tmpdir(), 'auditchaos-e2e-logs-'));
    try {
      const t0 = Date.now();
      const ep = await stack.up();
      console.log(`compose up -> healthy in ${Date.now() - t0} ms`);
      expect(ep.serviceUrl).toBe(`http://${scenario.proxies[0]?.listen}`);
      expect(ep.proxies.db?.listen).toBe(scenario.proxies[1]?.listen);
      expect((await fetch(`${ep.toxiproxyUrl}/version`)).status).toBe(200);

      // A write through the api proxy -> service -> db proxy -> Postgres.
      expect(await postEvent(ep.serviceUrl, 1)).toBe(201);

      const pgContainer = (await engine.containers(stack.selector)).find((c) => c.service === 'postgres');
      if (!pgContainer) throw new Error('no postgres container');
      await stack.dbFault('kill');
      const killed = await engine.status(pgContainer.id);
      expect(killed.running).toBe(false);
      expect(killed.exitCode).toBe(137); // SIGKILL: a crash, not a clean stop
      const during = await postEvent(ep.serviceUrl, 2);
      expect(during === 0 || during >= 500).toBe(true);

      await stack.dbRecover('kill');
      expect((await engine.status(pgContainer.id)).health).toBe('healthy');
      // The service reconnects on its own; the acknowledged write survived the crash.
      let status = 0;
      for (let i = 0; i < 60 && status !== 201; i++) {
        status = await postEvent(ep.serviceUrl, 3);
        if (status !== 201) await new Promise((r) => setTimeout(r, 500));
      }
      expect(status).toBe(201);
      const client = new pg.Client({ connectionString: ep.databaseUrl });
      await client.connect();
      try {
        const rows = await client.query<{ actor: string }>('SELECT actor FROM audit_log ORDER BY seq');
        expect(rows.rows.map((r) => r.actor)).toContain('user-1');
        expect(rows.rows.map((r) => r.actor)).toContain('user-3');
      } finally {
        await client.end();
      }

      await stack.dbFault('pause');
      expect((await engine.status(pgContainer.id)).paused).toBe(true);
      await stack.dbRecover('pause');
      expect((await engine.status(pgContainer.id)).running).toBe(true);

      const svc = (await engine.containers(stack.selector)).find((c) => c.service === 'auditlog');
      if (!svc) throw new Error('no auditlog container');
      await stack.serviceFault('kill');
      expect((await engine.status(svc.id)).running).toBe(false);
      await stack.serviceRecover('kill');
      expect((await fetch(`${stack.endpoints().serviceDirectUrl}/health`)).status).toBe(200);

      const files = await stack.collectLogs(logDir);
      expect(files.map((f) => path.basename(f)).sort()).toEqual([
        'auditlog-1.log',
        'postgres-1.log',
        'toxiproxy-1.log',
      ]);
      expect(await readFile(path.join(logDir, 'postgres-1.log'), 'utf8')).toMatch(/database system is ready/);
    } finally {
      await stack.down();
      await rm(logDir, { recursive: true, force: true });
    }
    expect(await engine.leftovers(stack.selector)).toEqual({ containers: [], networks: [], volumes: [] });
    const byProject = await docker.listContainers({
      all: true,
      filters: { label: [`com.docker.compose.project=${stack.project}`] },
    });
    expect(byProject).toEqual([]);
    // down twice is fine
    await stack.down();
    // the bystander is untouched
    expect((await bystander?.inspect())?.State.Running).toBe(true);
    expect((await docker.getNetwork(`bystander-net-${process.pid}`).inspect()).Name).toBe(
      `bystander-net-${process.pid}`,
    );
    expect((await docker.getVolume(`bystander-vol-${process.pid}`).inspect()).Name).toBe(
      `bystander-vol-${process.pid}`,
    );
  });

  it('fails with exit 3 naming the port when a proxy port is taken', async () => {
    const scenario = await scenarioWithFreePorts();
    const port = Number(scenario.proxies[0]?.listen.split(':')[1]);
    const squatter = net.createServer();
    await new Promise<void>((r) => squatter.listen(port, '127.0.0.1', () => r()));
    const stack = new ComposeStack({ runId: runId('port'), scenario, stateDir });
    try {
      const err = await stack.up().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as EnvironmentError).exitCode).toBe(3);
      expect((err as Error).message).toContain(`port ${port} on 127.0.0.1 is already in use`);
    } finally {
      squatter.close();
      await stack.down();
    }
    expect(await engine.leftovers(stack.selector)).toEqual({ containers: [], networks: [], volumes: [] });
  });

  it('fails with exit 3 naming the image and its variable when an image cannot be had', async () => {
    const scenario = await scenarioWithFreePorts();
    const env = { ...process.env, AUDITCHAOS_POSTGRES_IMAGE: 'auditchaos-test/not-there:0.0.1' };
    const stack = new ComposeStack({ runId: runId('image'), scenario, stateDir, env, pullTimeoutMs: 60_000 });
    try {
      const err = await stack.up().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(EnvironmentError);
      expect((err as Error).message).toContain('image auditchaos-test/not-there:0.0.1 is not available');
      expect((err as EnvironmentError).hint).toContain('AUDITCHAOS_POSTGRES_IMAGE');
    } finally {
      await stack.down();
    }
  });

  it('`auditchaos doctor` reports Docker and compose as usable', async () => {
    const r = await runCli(['doctor', '--json', '--runtime', 'compose'], {
      env: { ...process.env } as Record<string, string>,
    });
    const report = JSON.parse(r.stdout) as {
      ok: boolean;
      runtimes: { compose: boolean };
      auto: { kind: string };
    };
    expect(report.runtimes.compose).toBe(true);
    expect(report.auto.kind).toBe('compose');
    expect(r.exitCode).toBe(report.ok ? 0 : 3);
  });
});
