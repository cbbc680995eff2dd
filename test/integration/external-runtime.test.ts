/**
 * The external runtime attaches to a stack that runs elsewhere: here a local stack started by the
 * test stands in for it. The run creates the proxy it lacks on that stack's Toxiproxy (and removes
 * only that one afterwards), sends the load to workload.target as written, injects proxy faults,
 * measures what each faulted proxy carried, scans the database, and leaves the stack running.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Toxiproxy } from 'toxiproxy-node-client';
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
  - { name: api, listen: 127.0.0.1:32180, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:32181, upstream: postgres:5432 }
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

  it('creates its missing proxy, sends the load through it, measures effects, removes only what it made', async () => {
    const direct = ep.serviceDirectUrl as string;
    const scenario = parseScenario(
      `version: 1
name: external
description: attach to a running stack; one proxy exists there, one the run creates
stack:
  runtime: external
  external: { toxiproxy: "${ep.toxiproxyUrl}", service: "${direct}", database: "${ep.databaseUrl}", health: { path: /health, status: [200] } }
proxies:
  - { name: db, listen: 127.0.0.1:32181, upstream: postgres:5432 }
  - { name: front, listen: 127.0.0.1:32182, upstream: "${new URL(direct).host}" }
workload: { target: "http://127.0.0.1:32182", writers: 4, rate: 50/s, duration: 3s, timeout: 1s }
faults:
  - { at: 500ms, for: 700ms, kind: db-down, mode: proxy }
  - { at: 1500ms, for: 500ms, kind: latency, proxy: front, latency: 50ms }
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
    // The load went through the proxy the run created: its latency fault saw the writes.
    const f2 = r.report.faults[1]?.effect;
    expect(
      f2 !== undefined && f2 !== 'unknown' && 'bytes' in f2 && f2.bytes > 0 && (f2.connections ?? 0) > 0,
      JSON.stringify(f2),
    ).toBe(true);
    expect(r.report.faults[1]?.noEffect).toBeUndefined();
    expect(r.report.scan?.entries).toBeGreaterThan(0);
    expect(r.report.verdict.status, r.report.verdict.reasons.join('; ')).toBe('pass');
    // Only what the run created is gone; the stack's own proxies are where they were.
    const names = Object.keys(await new Toxiproxy(ep.toxiproxyUrl).getAll()).sort();
    expect(names).toEqual(['api', 'db']);
    // Nothing was stopped: the stack still takes writes.
    const res = await fetch(`${ep.serviceUrl}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ event_id: 'after-external-run', actor: 'a', action: 'b', payload: {} }),
    });
    expect(res.status).toBe(201);
  }, 120_000);
});
