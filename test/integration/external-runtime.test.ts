/**
 * The external runtime attaches to a stack that runs elsewhere: here a local stack started by the
 * test stands in for it. The run injects proxy faults through its Toxiproxy API, scans its
 * database, and leaves it running.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { runScenario } from '../../src/run/run-scenario.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { createStack } from '../../src/stack/factory.ts';
import { LocalStack } from '../../src/stack/local/local-stack.ts';
import type { StackEndpoints } from '../../src/stack/types.ts';

describe('external runtime', () => {
  let elsewhere: LocalStack;
  let ep: StackEndpoints;
  let dir: string;

  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-ext-'));
    const base = parseScenario(
      `version: 1
name: elsewhere
description: the stack that the external runtime attaches to
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:22080, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:22432, upstream: postgres:5432 }
workload: { rate: 1/s, duration: 1s }
`,
      'x.yml',
    );
    elsewhere = new LocalStack({
      runId: 'external-target',
      scenario: base,
      stateDir: path.join(dir, 'state'),
    });
    ep = await elsewhere.up();
  });
  afterAll(async () => {
    await elsewhere?.down();
  });

  it('runs proxy faults against it, scans its database, and leaves it up', async () => {
    const scenario = parseScenario(
      `version: 1
name: external
description: attach to a running stack; proxy faults only
stack:
  runtime: external
  external: { toxiproxy: "${ep.toxiproxyUrl}", service: "${ep.serviceUrl}", database: "${ep.databaseUrl}" }
proxies:
  - { name: api, listen: 127.0.0.1:22080, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:22432, upstream: postgres:5432 }
workload: { writers: 4, rate: 50/s, duration: 3s, timeout: 1s }
faults:
  - { at: 500ms, for: 700ms, kind: db-down, mode: proxy }
  - { at: 1500ms, for: 500ms, kind: latency, proxy: api, latency: 50ms }
`,
      'external.yml',
    );
    const r = await runScenario({
      loaded: { file: 'external.yml', dir, scenario },
      reportsRoot: path.join(dir, 'reports'),
      signal: new AbortController().signal,
      sink: { handle() {}, close() {} },
      ports: { chooseRuntime: async () => ({ kind: 'external', why: 'test' }), createStack },
    });
    expect(r.report.runtime.kind).toBe('external');
    expect(r.report.faults.map((f) => [f.id, f.error ?? 'ok', f.startedAt !== undefined])).toEqual([
      ['f1', 'ok', true],
      ['f2', 'ok', true],
    ]);
    expect(r.report.scan?.entries).toBeGreaterThan(0);
    expect(r.report.verdict.status, r.report.verdict.reasons.join('; ')).toBe('pass');
    // Nothing was stopped: the stack still takes writes.
    const res = await fetch(`${ep.serviceUrl}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: 'after-external-run', actor: 'a', action: 'b', payload: {} }),
    });
    expect(res.status).toBe(201);
  }, 120_000);
});
