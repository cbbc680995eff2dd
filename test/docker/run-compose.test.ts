/**
 * A whole scenario run (workload, latency fault, DB kill through dockerode, tamper probes, scan,
 * report) on the compose runtime. The runtime is injected here the way src/stack/factory.ts will
 * build it, so this test does not depend on `auto` finding Docker.
 */
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { readScenarioFile } from '../../src/scenario/read.ts';
import { DEFAULT_COMPOSE_FILE } from '../../src/stack/compose/compose-stack.ts';
import { DockerEngine } from '../../src/stack/compose/docker-engine.ts';
import { freePort } from '../../src/stack/local/free-port.ts';
import { REPO_ROOT } from '../helpers/cli.ts';
import { runOnCompose } from '../helpers/compose-run.ts';

const probe = await new DockerEngine().probe(5000);
const work = await mkdtemp(path.join(tmpdir(), 'auditchaos-run-compose-'));
afterAll(() => rm(work, { recursive: true, force: true }));

const docker = !probe.ok && process.env.AUDITCHAOS_REQUIRE_DOCKER !== '1';

/** quickstart.yml on compose, on free proxy ports, with `extraFault` appended to its faults. */
async function composeRun(name: string, extraFault?: string) {
  const [api, db] = [await freePort(), await freePort()];
  let text = (await readFile(path.join(REPO_ROOT, 'scenarios/quickstart.yml'), 'utf8'))
    .replace('runtime: local', `runtime: compose\n  compose: ${DEFAULT_COMPOSE_FILE}`)
    .replaceAll('127.0.0.1:18080', `127.0.0.1:${api}`)
    .replaceAll('127.0.0.1:15432', `127.0.0.1:${db}`);
  if (extraFault) text = text.replace('faults:\n', `faults:\n  - ${extraFault}\n`);
  const file = path.join(work, `${name}.yml`);
  await writeFile(file, text);
  const loaded = await readScenarioFile(file);
  const { outcome, stack } = await runOnCompose(loaded, { reportsRoot: path.join(work, 'reports') });
  return { outcome, stack };
}

it.skipIf(docker)(
  'a killed and restarted reference service signs with the same key: no false rollback after a service kill',
  async () => {
    const { outcome } = await composeRun(
      'service-kill',
      '{ at: 7500ms, for: 1500ms, kind: service-down, mode: kill }',
    );
    expect(outcome.report.scan?.counts?.rollback, JSON.stringify(outcome.report.verdict)).toBe(0);
    expect(outcome.report.checkpoints.verified).toBe(outcome.report.checkpoints.count);
    expect(outcome.report.verdict.status, JSON.stringify(outcome.report.verdict)).toBe('pass');
  },
);

it.skipIf(!probe.ok && process.env.AUDITCHAOS_REQUIRE_DOCKER !== '1')(
  'runs scenarios/quickstart.yml on the compose runtime to a pass, logs in the report, nothing left',
  async () => {
    const { outcome, stack } = await composeRun('quickstart-compose');
    expect(outcome.report.verdict.status, JSON.stringify(outcome.report.verdict)).toBe('pass');
    expect(outcome.exitCode).toBe(0);
    expect((await readdir(path.join(outcome.reportDir, 'logs'))).sort()).toEqual([
      'auditlog-1.log',
      'postgres-1.log',
      'toxiproxy-1.log',
    ]);
    if (!stack) throw new Error('the run built no stack');
    expect(await new DockerEngine().leftovers(stack.selector)).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
  },
);
