/**
 * `auditchaos init` on the example stack's own compose file (issue 12, done means): the team's
 * stack is up once (as a team's would be), init reads its compose file and its database, and the
 * scenario it writes validates and runs on the compose runtime to a pass, unedited.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DockerEngine } from '../../src/stack/compose/docker-engine.ts';
import { REPO_ROOT, runCli } from '../helpers/cli.ts';

const COMPOSE = path.join(REPO_ROOT, 'examples/pyledger/compose.yml');
const probe = await new DockerEngine().probe(5000);
const run = !probe.ok && process.env.AUDITCHAOS_REQUIRE_DOCKER !== '1' ? describe.skip : describe;
const PREFIX = process.env.AUDITCHAOS_IMAGE_PREFIX ?? 'auditchaos';
const env: Record<string, string> = {
  AUDITCHAOS_POSTGRES_IMAGE: process.env.AUDITCHAOS_POSTGRES_IMAGE ?? `${PREFIX}/postgres:15-bookworm`,
  AUDITCHAOS_TOXIPROXY_IMAGE: process.env.AUDITCHAOS_TOXIPROXY_IMAGE ?? `${PREFIX}/proxy:dev`,
  PYLEDGER_IMAGE: process.env.PYLEDGER_IMAGE ?? `${PREFIX}/pyledger:dev`,
  PYLEDGER_DB_PASSWORD: 'init-Secret-77',
  PYLEDGER_DB_PORT: '32291',
  PYLEDGER_PORT: '32292',
  LEDGER_DB_ADDR: 'store:5432',
};
const project = `auditchaos-init-${process.pid}`;
let work: string;

async function compose(...args: string[]) {
  const bin = (await execa('docker', ['compose', 'version'], { reject: false })).exitCode === 0;
  return bin
    ? execa('docker', ['compose', '-p', project, '-f', COMPOSE, ...args], {
        env,
        reject: false,
        all: true,
        stdin: 'ignore',
        timeout: 180_000,
      })
    : execa('docker-compose', ['-p', project, '-f', COMPOSE, ...args], {
        env,
        reject: false,
        all: true,
        stdin: 'ignore',
        timeout: 180_000,
      });
}

run('auditchaos init on examples/pyledger/compose.yml', () => {
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'auditchaos-init-docker-'));
  });
  afterAll(async () => {
    await compose('down', '-v', '--remove-orphans');
    await rm(work, { recursive: true, force: true });
  });

  it('writes a scenario that validates and runs to a pass', async () => {
    // The team's stack, up once without auditchaos (reaching its database directly), so that its
    // journal table exists for init to read.
    const up = await compose('up', '-d');
    expect(up.exitCode, up.all).toBe(0);
    const deadline = Date.now() + 120_000;
    for (;;) {
      const ok = await fetch(`http://127.0.0.1:${env.PYLEDGER_PORT}/healthz`, {
        signal: AbortSignal.timeout(2000),
      })
        .then((r) => r.ok)
        .catch(() => false);
      if (ok) break;
      if (Date.now() > deadline)
        throw new Error(`pyledger never became healthy: ${(await compose('logs')).all}`);
      await new Promise((r) => setTimeout(r, 500));
    }
    const out = path.join(work, 'ledger.yml');
    const init = await runCli([
      'init',
      '--compose',
      COMPOSE,
      '--write',
      'PUT /ledger/{eventId}',
      '--body',
      '{"who":"{actor}","verb":"{action}","body":"{payload}"}',
      '--database-url',
      `postgresql://ledger:${env.PYLEDGER_DB_PASSWORD}@127.0.0.1:${env.PYLEDGER_DB_PORT}/ledger`,
      '--api-port',
      '32293',
      '--out',
      out,
    ]);
    expect(init.exitCode, init.stderr).toBe(0);
    await compose('down', '-v', '--remove-orphans');
    const text = await readFile(out, 'utf8');
    expect(text).toContain('table: journal');
    expect(text).not.toContain(env.PYLEDGER_DB_PASSWORD as string);
    const { LEDGER_DB_ADDR: _direct, ...underTest } = env;
    const creds = { ...underTest, PGUSER: 'ledger', PGPASSWORD: env.PYLEDGER_DB_PASSWORD as string };
    const v = await runCli(['validate', out], { env: creds });
    expect(v.exitCode, `${v.stdout}${v.stderr}`).toBe(0);
    const r = await runCli(['run', out, '--out', path.join(work, 'report'), '--quiet'], {
      env: creds,
      timeout: 480_000,
    });
    const report = JSON.parse(await readFile(path.join(work, 'report', 'report.json'), 'utf8')) as {
      verdict: { status: string; reasons: string[] };
      runtime: { kind: string };
      scan?: { entries: number };
    };
    expect(report.runtime.kind).toBe('compose');
    expect(report.verdict.status, `${report.verdict.reasons.join('; ')}\n${r.stdout}\n${r.stderr}`).toBe(
      'pass',
    );
    expect(r.exitCode).toBe(0);
    expect(report.scan?.entries).toBeGreaterThan(100);
  });
});
