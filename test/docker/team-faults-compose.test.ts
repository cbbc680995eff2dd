/**
 * Packet and clock faults on a team's own compose file (test/docker/fixtures/ledger-store.yml:
 * service `ledger` on 7070 with GET /healthz, database `store`), named only by the scenario:
 * 30% loss on store's interface, then ledger's clock 30 s back. Both hit (the loss's counters and
 * retransmissions; ledger's clock read back from its Date header), only ledger runs under
 * libfaketime, the correct service passes, and nothing of the run is left.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/model.ts';
import { DockerEngine } from '../../src/stack/compose/docker-engine.ts';
import { freePort } from '../../src/stack/local/free-port.ts';
import { linkNames } from '../../src/stack/netns/veth-link.ts';
import { REPO_ROOT, runCli } from '../helpers/cli.ts';
import { buildLedgerImage } from '../helpers/ledger-image.ts';

const probe = await new DockerEngine().probe(5000);
const skip = !probe.ok && process.env.AUDITCHAOS_REQUIRE_DOCKER !== '1';
const FIXTURE = path.join(REPO_ROOT, 'test/docker/fixtures/ledger-store.yml');
/** Built from this worktree (the ledger needs AUDITLOG_HEALTH_PATH). */
const LEDGER_IMAGE = 'auditchaos/auditlog:team-faults-test';
const STORE_PASSWORD = 'store-Secret-4417';

describe.skipIf(skip)("packet and clock faults on a team's compose file (ledger, store)", () => {
  let work: string;
  beforeAll(async () => {
    work = await mkdtemp(path.join(tmpdir(), 'auditchaos-team-faults-'));
    await buildLedgerImage(LEDGER_IMAGE);
  }, 320_000);
  afterAll(async () => {
    if (!work) return;
    await runCli(['down', '--all'], { env: { AUDITCHAOS_STATE_DIR: path.join(work, 'state') } });
    await rm(work, { recursive: true, force: true });
  });

  it('30% loss on store, then ledger 30 s back: both hit, only ledger preloads libfaketime, the run passes, nothing left', async () => {
    const [api, db, store] = [await freePort(), await freePort(), await freePort()];
    const file = path.join(work, 'team.yml');
    await writeFile(
      file,
      `version: 1
name: team-faults
description: packet and clock faults on services the scenario names
seed: 5
stack:
  runtime: compose
  compose: ${FIXTURE}
  services:
    ledger: { role: service, port: 7070, health: { path: /healthz, status: [200] } }
    store: { role: database, port: 5432 }
proxies:
  - { name: api, listen: 127.0.0.1:${api}, upstream: ledger:7070 }
  - { name: db, listen: 127.0.0.1:${db}, upstream: store:5432 }
workload:
  target: http://127.0.0.1:${api}
  writers: 4
  rate: 50/s
  duration: 12s
  timeout: 3s
faults:
  - { kind: packet, target: store, loss: 30%, at: 1s, for: 4s }
  - { kind: clock, target: ledger, offset: -30s, at: 6s, for: 4s }
scan:
  source:
    kind: postgres
    url: "postgres://keeper:\${STORE_PASSWORD}@127.0.0.1:${store}/books"
expect:
  missing: 0
  availability: ">= 50%"
report: { formats: [json] }
`,
    );
    const state = path.join(work, 'state');
    const out = path.join(work, 'out');
    const env = {
      AUDITCHAOS_STATE_DIR: state,
      STORE_IMAGE: process.env.AUDITCHAOS_POSTGRES_IMAGE || 'postgres:15.14-bookworm',
      STORE_PASSWORD,
      STORE_PORT: String(store),
      LEDGER_IMAGE,
      LEDGER_DB_PROXY_PORT: String(db),
      LEDGER_OWNER_PASSWORD: 'owner-Secret-2231',
      LEDGER_WRITER_PASSWORD: 'writer-Secret-8812',
    };
    // Which services run under libfaketime, seen from Docker while the run is on.
    const engine = new DockerEngine();
    const preloaded = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) {
        for (const c of await engine.containers({ all: true }).catch(() => [])) {
          if (!c.labels['io.auditchaos.run-id']?.startsWith('team-faults') || preloaded.has(c.service))
            continue;
          const envs = await execa('docker', ['inspect', '-f', '{{json .Config.Env}}', c.id], {
            reject: false,
          });
          if (/LD_PRELOAD=[^"]*libfaketime/.test(envs.stdout)) preloaded.add(c.service);
          else if (envs.exitCode === 0) preloaded.add(`${c.service}:plain`);
        }
        await new Promise((r) => setTimeout(r, 500));
      }
    })();
    const started = Date.now();
    const res = await runCli(['run', file, '--out', out, '--quiet'], { env, timeout: 300_000 });
    watching = false;
    await watch;
    const reportFile = path.join(out, 'report.json');
    const report = existsSync(reportFile)
      ? (JSON.parse(readFileSync(reportFile, 'utf8')) as Report)
      : undefined;
    const context = `exit ${res.exitCode}\n${res.stdout.slice(-3000)}\n${res.stderr.slice(-2000)}`;
    console.log(
      `[team-faults] ${Date.now() - started} ms`,
      JSON.stringify(report?.faults.map((f) => [f.id, f.kind, f.effect, f.output])),
    );
    expect(report?.verdict.status, `${context}\n${report?.verdict.reasons.join('\n')}`).toBe('pass');
    expect(res.exitCode, context).toBe(0);
    expect(report?.scan?.counts?.missing).toBe(0);
    const [loss, clock] = report?.faults ?? [];
    const le = loss?.effect;
    if (!le || le === 'unknown' || !('packets' in le)) throw new Error(`loss effect: ${JSON.stringify(le)}`);
    expect(le.acted.dropped).toBeGreaterThan(0);
    expect((le.acted.dropped ?? 0) / le.packets).toBeGreaterThan(0.1);
    expect(le.retransmitted).toBeGreaterThan(0);
    expect(clock?.output?.start).toMatch(
      /clock of ledger reads -(29|30|31)(\.\d+)?s .*Date header of http:\/\/127\.0\.0\.1:\d+\/healthz/,
    );
    expect(clock?.output?.heal).toMatch(/wanted \+0s/);
    expect([...preloaded].sort()).toEqual(['ledger', 'store:plain', 'toxiproxy:plain']);
    // Nothing of the run left: containers, the host's nft tables, state files.
    const runId = report?.runId as string;
    const left = await engine.containers({ all: true });
    expect(left.filter((c) => c.labels['io.auditchaos.run-id'] === runId)).toEqual([]);
    const table = linkNames(runId).netns.replace(/-/g, '_');
    expect(execFileSync('nft', ['list', 'tables'], { encoding: 'utf8' })).not.toContain(table);
    expect((await readdir(state).catch(() => [] as string[])).filter((f) => f.endsWith('.json'))).toEqual([]);
  }, 400_000);
});
