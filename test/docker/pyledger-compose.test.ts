/**
 * The foreign example stack on the compose runtime (issue 12), as examples/pyledger/README.md runs
 * it: its own compose file (services `ledger` on 7070 with GET /healthz, and `store`), Toxiproxy
 * added by auditchaos's override, a DB kill and a service kill by service name, and
 * `auditchaos run examples/pyledger/scenarios/compose.yml` unchanged. The correct service passes;
 * each bug switch (LEDGER_BUGS, read by the compose file) fails with the finding kind it must cause.
 *
 * Images: the ones scripts/offline-images.sh builds (the built-in proxy in place of Toxiproxy's
 * image, PostgreSQL and pyledger from Debian); the pyledger image is built here when absent.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/stack/compose/docker-engine.ts';
import { REPO_ROOT, runCli } from '../helpers/cli.ts';

const SCENARIO = path.join(REPO_ROOT, 'examples/pyledger/scenarios/compose.yml');
const probe = await new DockerEngine().probe(5000);
const run = !probe.ok && process.env.AUDITCHAOS_REQUIRE_DOCKER !== '1' ? describe.skip : describe;
const PREFIX = process.env.AUDITCHAOS_IMAGE_PREFIX ?? 'auditchaos';
const PASSWORD = 'pyl-compose-Secret-41';

let work: string;
const env: Record<string, string> = {
  AUDITCHAOS_POSTGRES_IMAGE: process.env.AUDITCHAOS_POSTGRES_IMAGE ?? `${PREFIX}/postgres:15-bookworm`,
  AUDITCHAOS_TOXIPROXY_IMAGE: process.env.AUDITCHAOS_TOXIPROXY_IMAGE ?? `${PREFIX}/proxy:dev`,
  PYLEDGER_BASE_IMAGE: process.env.PYLEDGER_BASE_IMAGE ?? `${PREFIX}/debian:bookworm`,
  PYLEDGER_IMAGE: process.env.PYLEDGER_IMAGE ?? `${PREFIX}/pyledger:dev`,
  PYLEDGER_DB_PASSWORD: PASSWORD,
  // Host ports of this test (the compose file's defaults are 25433 and 27070).
  PYLEDGER_DB_PORT: '32281',
  PYLEDGER_PORT: '32282',
};

interface RunReport {
  verdict: { status: string; reasons: string[] };
  findings: { kind: string }[];
  runtime: { kind: string };
  scan?: { entries: number };
}

async function runExample(bugs: string) {
  const out = path.join(work, `run-${bugs || 'correct'}`);
  const res = await runCli(['run', SCENARIO, '--out', out, '--quiet'], {
    env: { ...env, LEDGER_BUGS: bugs },
    timeout: 480_000,
  });
  const file = path.join(out, 'report.json');
  const report = existsSync(file) ? (JSON.parse(readFileSync(file, 'utf8')) as RunReport) : undefined;
  const kinds = new Set(report?.findings.map((f) => f.kind));
  const context = `${bugs || 'correct'}: exit ${res.exitCode}\n${res.stdout}\n${res.stderr}\n${report?.verdict.reasons.join('\n')}`;
  return { res, report, kinds, out, context };
}

run('examples/pyledger on the compose runtime', () => {
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'auditchaos-pyledger-compose-'));
    const have = await execa('docker', ['image', 'inspect', env.PYLEDGER_IMAGE as string], { reject: false });
    if (have.exitCode !== 0) {
      await execa(path.join(REPO_ROOT, 'examples/pyledger/build-image.sh'), [
        env.PYLEDGER_BASE_IMAGE as string,
        env.PYLEDGER_IMAGE as string,
      ]);
    }
  });
  afterAll(async () => {
    if (work) await rm(work, { recursive: true, force: true });
  });

  it('validates as written', async () => {
    const r = await runCli(['validate', SCENARIO], { env });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
  });

  it('the correct service passes through a DB kill, a service kill and late replies', async () => {
    const r = await runExample('');
    expect(r.report, r.context).toBeDefined();
    expect(r.report?.runtime.kind).toBe('compose');
    expect(r.report?.verdict.status, r.context).toBe('pass');
    expect(r.res.exitCode, r.context).toBe(0);
    expect(r.report?.scan?.entries, r.context).toBeGreaterThan(100);
    expect(
      [...r.kinds].filter((k) => k !== 'indeterminate'),
      r.context,
    ).toEqual(['tamper-detected']);
  });

  it.each([
    ['ack-before-commit', 'missing'],
    ['truncate-body', 'partial'],
    ['no-idempotency', 'duplicate'],
  ])('bug %s fails the run with %s findings', async (bug, kind) => {
    const r = await runExample(bug);
    expect(r.report, r.context).toBeDefined();
    expect(r.report?.verdict.status, r.context).toBe('fail');
    expect(r.res.exitCode, r.context).toBe(1);
    expect(r.kinds.has(kind), `${[...r.kinds].join(', ')}\n${r.context}`).toBe(true);
  });
});
