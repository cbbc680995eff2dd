/**
 * Issue 12: a team's compose file with no conventions (test/docker/fixtures/ledger-store.yml:
 * service `ledger` on 7070 with GET /healthz, database `store` with its own database and user),
 * named in stack.services. auditchaos adds Toxiproxy with its override, kills the database and
 * the service by name through the scenario, and the run passes on the correct service. With
 * AUDITCHAOS_REQUIRE_DOCKER=1 a missing Docker fails instead of skipping.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { detectCompose } from '../../src/stack/compose/compose-cli.ts';
import { DockerEngine } from '../../src/stack/compose/docker-engine.ts';
import { REPO_ROOT, runCli } from '../helpers/cli.ts';
import { buildLedgerImage } from '../helpers/ledger-image.ts';

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
  expect(problem, 'run scripts/ci-docker.sh (or start dockerd) first').toBeUndefined();
});

const FIXTURE = path.join(REPO_ROOT, 'test/docker/fixtures/ledger-store.yml');
// This helper's port range (coord: compose 32300-32399).
const PORTS = { api: 32311, db: 32312, store: 32313 };
const STORE_PASSWORD = 'store-Secret-7731';
/** Built from this worktree: the ledger needs AUDITLOG_HEALTH_PATH, newer than a shared image. */
const LEDGER_IMAGE = 'auditchaos/auditlog:compose-services-test';

const scenario = `version: 1
name: ledger-store
description: a team's own compose file, services ledger and store, killed by name
seed: 3
stack:
  runtime: compose
  compose: ${FIXTURE}
  services:
    ledger: { role: service, port: 7070, health: { path: /healthz, status: [200] } }
    store: { role: database, port: 5432 }
proxies:
  - { name: api, listen: 127.0.0.1:${PORTS.api}, upstream: ledger:7070 }
  - { name: db, listen: 127.0.0.1:${PORTS.db}, upstream: store:5432 }
workload:
  target: http://127.0.0.1:${PORTS.api}
  writers: 4
  rate: 30/s
  duration: 16s
  timeout: 2s
faults:
  - { kind: down, target: store, mode: kill, at: 3s, for: 3s }
  - { kind: down, target: ledger, mode: kill, at: 9s, for: 2s }
scan:
  source:
    kind: postgres
    url: "postgres://keeper:\${STORE_PASSWORD}@127.0.0.1:${PORTS.store}/books"
expect:
  availability: ">= 30%"
report: { formats: [json, md] }
`;

interface Report {
  verdict: { status: string; reasons: string[] };
  findings: { kind: string }[];
  ops: { availability: number };
  scan?: { entries: number };
}

describe.skipIf(problem !== undefined)('a compose file with services ledger and store', () => {
  let work: string;
  const env = {
    STORE_IMAGE: process.env.AUDITCHAOS_POSTGRES_IMAGE || 'postgres:15.14-bookworm',
    STORE_PASSWORD,
    STORE_PORT: String(PORTS.store),
    LEDGER_IMAGE,
    LEDGER_DB_PROXY_PORT: String(PORTS.db),
    LEDGER_OWNER_PASSWORD: 'owner-Secret-5521',
    LEDGER_WRITER_PASSWORD: 'writer-Secret-9912',
  };

  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'auditchaos-compose-services-'));
    await buildLedgerImage(LEDGER_IMAGE);
  }, 320_000);

  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('kills store and ledger by name through the scenario; the run passes on the correct service', async () => {
    const file = path.join(work, 'ledger-store.yml');
    await writeFile(file, scenario);
    const out = path.join(work, 'out');
    const res = await runCli(['run', file, '--out', out, '--quiet'], { env, timeout: 400_000 });
    const reportFile = path.join(out, 'report.json');
    const report = existsSync(reportFile)
      ? (JSON.parse(readFileSync(reportFile, 'utf8')) as Report)
      : undefined;
    const context = `exit ${res.exitCode}\n${res.stdout}\n${res.stderr}\n${report?.verdict.reasons.join('\n')}`;
    expect(report?.verdict.status, context).toBe('pass');
    expect(res.exitCode, context).toBe(0);
    expect(report?.scan?.entries ?? 0, context).toBeGreaterThan(50);
    // The kills took the service away for a while: not every write could be acknowledged.
    expect(report?.ops.availability ?? 1, context).toBeLessThan(0.99);
    const text = readFileSync(reportFile, 'utf8');
    // Both faults hit the named services, and no credential reaches the report.
    expect(text).toContain('service:store');
    expect(text).toContain('service:ledger');
    expect(text).not.toContain(STORE_PASSWORD);
    // The container logs of both named services were collected, and nothing of the run is left.
    const left = await engine.containers({ all: true });
    expect(left.filter((c) => c.labels['io.auditchaos.run-id']?.startsWith('ledger-store'))).toEqual([]);
  }, 500_000);
});
