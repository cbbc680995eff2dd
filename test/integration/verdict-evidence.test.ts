/**
 * Issue 11's real-part checks, on the local runtime (real PostgreSQL, proxy, reference service):
 * a service that dies on its first database error fails on `recovery`; counts are exact past the
 * findings cap (report.json, junit, md); canaries are 5/5 on a log broken everywhere; a second run
 * against a database that already holds entries passes on a correct service.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSink } from '../../src/report/events.ts';
import { runScenario } from '../../src/run/run-scenario.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { LocalStack } from '../../src/stack/local/local-stack.ts';
import type { StackEndpoints } from '../../src/stack/types.ts';

const silent: RunSink = { handle() {}, close() {} };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-evidence-'));
  process.env.AUDITCHAOS_STATE_DIR = path.join(dir, 'state');
});

function local(name: string, port: number, body: string) {
  return parseScenario(
    `version: 1
name: ${name}
description: issue 11 evidence
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:${port}, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:${port + 1}, upstream: postgres:5432 }
${body}`,
    `${name}.yml`,
  );
}

const run = (scenario: ReturnType<typeof local>, flaws: string[] = []) =>
  runScenario({
    loaded: {
      file: `${scenario.name}.yml`,
      dir,
      scenario: { ...scenario, stack: { ...scenario.stack, flaws } as never },
    },
    runtime: 'local',
    seed: 11,
    reportsRoot: path.join(dir, 'reports'),
    signal: new AbortController().signal,
    sink: silent,
  });

describe('liveness', () => {
  const scenario = () =>
    local(
      'recovery',
      31080,
      // The outage (4 s) outlasts the service's database deadline (2 s): requests made during it
      // fail with a database error however the machine schedules the restart.
      `workload: { writers: 4, rate: 40/s, duration: 8s, timeout: 1s }
faults:
  - { at: 1500ms, for: 4s, kind: db-down, mode: kill }
expect: { recovery: 3s, missing: 0 }
`,
    );

  it('a service that exits on its first DB error fails on recovery (exit 1), not a pass', async () => {
    const r = await run(scenario(), ['crash-on-db-error']);
    const rec = r.report.thresholds.find((t) => t.name === 'recovery');
    expect(rec?.pass, JSON.stringify(r.report.recovery)).toBe(false);
    expect(r.report.verdict.status).toBe('fail');
    expect(r.exitCode).toBe(1);
    expect(r.report.recovery?.recoveredInMs).toBeUndefined();
    expect(r.report.recovery?.afterHeal.ok).toBe(0);
  });

  it('the correct service recovers within the limit and passes', async () => {
    const r = await run(scenario());
    expect(r.report.verdict.status, r.report.verdict.reasons.join('; ')).toBe('pass');
    expect(r.report.recovery?.recoveredInMs).toBeLessThanOrEqual(3000);
  });
});

describe('exact counts and self-checks on broken logs', () => {
  it('every stored entry truncated: the partial count is exact past the 1000-finding cap, in json, junit and md', async () => {
    const r = await run(
      local(
        'partial-count',
        31180,
        `workload: { writers: 32, rate: 500/s, duration: 18s, timeout: 2s, event: { payloadBytes: 512 } }
`,
      ),
      ['truncate-payload'],
    );
    const stored = r.report.scan?.entries ?? 0;
    expect(stored).toBeGreaterThanOrEqual(5000);
    expect(r.report.scan?.counts?.partial).toBe(stored);
    expect(r.report.findings.filter((f) => f.kind === 'partial').length).toBeLessThan(stored);
    expect(r.report.scan?.findingsOmitted).toBeGreaterThan(0);
    expect(r.report.thresholds.find((t) => t.name === 'partial')?.actual).toBe(stored);
    const junit = await readFile(path.join(r.reportDir, 'junit.xml'), 'utf8');
    expect(junit).toMatch(new RegExp(`(${stored}|${stored.toLocaleString('en-US')}) partial findings`));
    const md = await readFile(path.join(r.reportDir, 'report.md'), 'utf8');
    expect(md).toMatch(new RegExp(`(${stored}|${stored.toLocaleString('en-US')}) partial`));
    expect(r.exitCode).toBe(1);
  }, 240_000);

  it('canaries are 5/5 on a log with broken-chain findings everywhere (unlocked-append under load)', async () => {
    const r = await run(
      local(
        'broken-everywhere',
        31280,
        `workload: { writers: 16, rate: 400/s, duration: 4s, timeout: 2s }\n`,
      ),
      ['unlocked-append'],
    );
    expect(r.report.scan?.counts?.['broken-chain']).toBeGreaterThan(50);
    expect(r.report.canaries, JSON.stringify(r.report.canaries)).toEqual({
      planted: 5,
      caught: 5,
      missed: [],
    });
  });
});

describe('a database that already holds entries', () => {
  let elsewhere: LocalStack;
  let ep: StackEndpoints;
  beforeAll(async () => {
    elsewhere = new LocalStack({
      runId: 'lead-existing-data',
      scenario: local('elsewhere', 31380, 'workload: { rate: 1/s, duration: 1s }\n'),
      stateDir: path.join(dir, 'state'),
    });
    ep = await elsewhere.up();
  });
  afterAll(async () => {
    await elsewhere?.down();
  });

  it('two runs in a row against the same external database: both pass; the second says how many were there', async () => {
    const scenario = parseScenario(
      `version: 1
name: existing-data
description: a second run against a log that already has entries
stack:
  runtime: external
  external: { toxiproxy: "${ep.toxiproxyUrl}", service: "${ep.serviceDirectUrl}", database: "${ep.databaseUrl}" }
proxies:
  - { name: api, listen: 127.0.0.1:31380, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:31381, upstream: postgres:5432 }
workload: { target: "${ep.serviceUrl}", writers: 4, rate: 50/s, duration: 2s, timeout: 1s }
faults:
  - { at: 500ms, for: 500ms, kind: latency, proxy: api, latency: 50ms }
`,
      'existing.yml',
    );
    const once = () =>
      runScenario({
        loaded: { file: 'existing.yml', dir, scenario },
        reportsRoot: path.join(dir, 'reports'),
        signal: new AbortController().signal,
        sink: silent,
      });
    const first = await once();
    expect(first.report.verdict.status, first.report.verdict.reasons.join('; ')).toBe('pass');
    const second = await once();
    expect(second.report.verdict.status, second.report.verdict.reasons.join('; ')).toBe('pass');
    expect(second.report.scan?.before?.entries).toBeGreaterThanOrEqual(first.report.ops.ok);
    expect(second.report.scan?.counts?.unexpected).toBe(0);
    expect(second.exitCode).toBe(0);
  });
});
