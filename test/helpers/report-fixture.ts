/**
 * A realistic Report for the report tests: a 60 s run against a service with the async-commit
 * flaw, a DB kill, a latency storm and a partition, three tamper probes, findings of several kinds.
 */

import type { FaultRecord, Report, ReportFinding } from '../../src/report/model.ts';
import { headlineSentences, storyOf } from '../../src/report/story.ts';
import type { LedgerOp } from '../../src/scan/types.ts';
import { parseScenario } from '../../src/scenario/load.ts';

export const FIXTURE_SCENARIO_YAML = `version: 1
name: db-downtime
description: Postgres is killed for 8 s mid-run; every acknowledged event must survive.
seed: 42
stack: { runtime: local, flaws: [async-commit] }
workload:
  rate: 400/s
  duration: 60s
  request: { headers: { x-tenant: acme } }
faults:
  - { at: 10s, for: 8s, kind: db-down, mode: kill }
  - { at: 25s, for: 6s, kind: latency, proxy: db, latency: 300ms, jitter: 100ms }
  - { at: 40s, for: 4s, kind: partition, proxy: api, direction: downstream }
tamper:
  - { via: sql, name: update-payload, statement: "UPDATE audit_log SET payload = '{}' WHERE seq = 5" }
  - { via: sql, name: delete-triggers-off, statement: "ALTER TABLE audit_log DISABLE TRIGGER ALL; DELETE FROM audit_log WHERE seq = 7" }
  - { via: api, name: api-delete, method: DELETE, path: "/events/{first}" }
expect:
  availability: ">= 70%"
  latency: { p99: "< 2s" }
`;

const hex = (n: number, salt: string) => {
  let h = '';
  let x = n * 2654435761 + salt.length * 97;
  while (h.length < 64) {
    x = (x * 1103515245 + 12345) % 2 ** 31;
    h += x.toString(16).padStart(8, '0');
  }
  return h.slice(0, 64);
};
const uuid = (n: number) => `0193a1b2-${String(n).padStart(4, '0')}-7000-8000-${String(n).padStart(12, '0')}`;

export function fixtureFaults(): FaultRecord[] {
  return [
    {
      id: 'f1',
      kind: 'db-down',
      target: 'db',
      params: { mode: 'kill' },
      plannedAt: 10_000,
      plannedFor: 8000,
      startedAt: 10_004,
      endedAt: 18_120,
    },
    {
      id: 'f2',
      kind: 'latency',
      target: 'proxy db',
      params: { latency: 300, jitter: 100, direction: 'both' },
      plannedAt: 25_000,
      plannedFor: 6000,
      startedAt: 25_002,
      endedAt: 31_010,
    },
    {
      id: 'f3',
      kind: 'partition',
      target: 'proxy api',
      params: { direction: 'downstream', mode: 'blackhole' },
      plannedAt: 40_000,
      plannedFor: 4000,
      startedAt: 40_001,
      endedAt: 44_003,
    },
  ];
}

function series(): Report['series'] {
  return Array.from({ length: 60 }, (_, t) => {
    const dbDown = t >= 10 && t < 18;
    const slow = t >= 25 && t < 31;
    const part = t >= 40 && t < 44;
    const wobble = (t * 37) % 11;
    return {
      t,
      ok: dbDown ? (t === 10 ? 180 : 0) : part ? 0 : slow ? 150 + wobble : 392 + wobble,
      errors: dbDown ? 360 + wobble : 0,
      indeterminate: part ? 40 + (wobble % 3) : dbDown && t === 10 ? 12 : 0,
      p50: part ? null : dbDown ? 2.1 : slow ? 310 + wobble : 3.2 + wobble / 10,
      p99: part ? null : dbDown ? 2000 : slow ? 480 + wobble : 14 + wobble,
    };
  });
}

function op(
  n: number,
  invokedAt: number,
  completedAt: number,
  outcome: LedgerOp['outcome'],
  status?: number,
  error?: string,
): LedgerOp {
  return {
    eventId: uuid(n),
    outcome,
    payloadDigest: hex(n, 'p'),
    invokedAt,
    completedAt,
    attempts: 1,
    ...(status !== undefined ? { status } : {}),
    ...(error ? { error } : {}),
  };
}

function findings(): ReportFinding[] {
  const out: ReportFinding[] = [];
  for (let i = 0; i < 64; i++) {
    out.push({
      kind: 'missing',
      severity: 'violation',
      message: 'acknowledged (201) but absent from the log',
      eventId: uuid(4000 + i),
      expected: `payload sha256 ${hex(i, 'p')}`,
      check: 'ledger',
      detail: { activeFaults: [] },
      // acknowledged in the 190 ms before the kill, as async-commit loses them
      story: storyOf(op(4000 + i, 9_700 + i * 3, 9_814 + i * 3, 'ok', 201), fixtureFaults()),
    });
  }
  out.push(
    {
      kind: 'broken-chain',
      severity: 'violation',
      message: 'prev_hash of seq 8 does not match the hash of seq 6 (seq 7 is gone)',
      seq: 8,
      eventId: uuid(8),
      expected: hex(7, 'h'),
      found: hex(6, 'h'),
      check: 'chain',
    },
    {
      kind: 'broken-chain',
      severity: 'violation',
      message: 'stored hash differs from the recomputed one',
      seq: 5,
      eventId: uuid(5),
      expected: hex(5, 'r'),
      found: hex(5, 'h'),
      check: 'chain',
    },
    {
      kind: 'tamper-detected',
      severity: 'warning',
      message: 'probe delete-triggers-off succeeded; the chain check caught it',
      seq: 7,
      check: 'tamper',
    },
    {
      kind: 'partial',
      severity: 'violation',
      message: 'payload digest differs from what the writer sent',
      seq: 1203,
      eventId: uuid(1203),
      expected: hex(1203, 'p'),
      found: hex(1203, 'q'),
      check: 'partial',
      detail: { activeFaults: ['f2 latency proxy db'] },
      story: storyOf(op(1203, 26_000, 26_400, 'ok', 201), fixtureFaults()),
    },
    {
      kind: 'indeterminate',
      severity: 'info',
      message: 'timed out; recovered: present in the log',
      eventId: uuid(9001),
      seq: 11_877,
      check: 'ledger',
      detail: { activeFaults: ['f3 partition proxy api'] },
      story: storyOf(op(9001, 41_000, 43_000, 'indeterminate', undefined, 'timeout'), fixtureFaults()),
    },
  );
  return out;
}

export function fixtureReport(): Report {
  const scenario = parseScenario(FIXTURE_SCENARIO_YAML, 'scenarios/db-downtime.yml');
  const fs = findings();
  const s = series();
  const sum = (k: 'ok' | 'errors' | 'indeterminate') => s.reduce((a, p) => a + p[k], 0);
  const ok = sum('ok');
  const fail = sum('errors');
  const indeterminate = sum('indeterminate');
  const attempted = ok + fail + indeterminate;
  return {
    schemaVersion: 1,
    tool: { name: 'auditchaos', version: '0.1.0' },
    runId: '01JDAC2Y8Q6N4W3T5V7X9Z0B1C',
    scenario: {
      name: scenario.name,
      description: scenario.description,
      file: 'scenarios/db-downtime.yml',
      asRun: scenario as unknown as Record<string, unknown>,
    },
    seed: 42,
    overview: {
      subject: 'the reference service with flaws async-commit, local runtime',
      sentences: headlineSentences(fs, { missing: 64, partial: 1, 'broken-chain': 2 }),
    },
    runtime: {
      kind: 'local',
      why: 'no Docker engine answered',
      versions: { node: 'v20.19.5', postgres: '18.0', proxy: 'auditchaos 0.1.0', service: 'auditlog 0.1.0' },
    },
    timings: {
      startedAt: '2026-11-21T23:00:00.000Z',
      endedAt: '2026-11-21T23:01:12.500Z',
      durationMs: 72_500,
      phases: [
        { name: 'stack-up', startMs: 0, durationMs: 3100 },
        { name: 'workload', startMs: 3100, durationMs: 60_000 },
        { name: 'heal', startMs: 63_100, durationMs: 900 },
        { name: 'tamper', startMs: 64_000, durationMs: 400 },
        { name: 'scan', startMs: 64_400, durationMs: 7500 },
        { name: 'report', startMs: 71_900, durationMs: 600 },
      ],
      workloadStartMs: 3100,
    },
    interrupted: false,
    ops: { attempted, ok, fail, indeterminate, availability: ok / attempted },
    latency: { p50: 3.6, p90: 21, p99: 1940, max: 2003 },
    series: s,
    faults: fixtureFaults(),
    tamper: [
      {
        name: 'update-payload',
        via: 'sql',
        request: "UPDATE audit_log SET payload = '{}' WHERE seq = 5",
        outcome: 'refused',
        detail: 'ERROR: audit_log is append-only (trigger audit_log_immutable)',
      },
      {
        name: 'delete-triggers-off',
        via: 'sql',
        request: 'ALTER TABLE audit_log DISABLE TRIGGER ALL; DELETE FROM audit_log WHERE seq = 7',
        outcome: 'accepted',
        detail: 'DELETE 1',
        detection: 'detected',
      },
      {
        name: 'api-delete',
        via: 'api',
        request: 'DELETE /events/0193a1b2-0001-7000-8000-000000000001',
        outcome: 'refused',
        detail: '405 Method Not Allowed',
      },
    ],
    checkpoints: {
      count: 58,
      verified: 58,
      publicKey:
        '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEAGb9ECWmEzf6FQbrBZ9w7lshQhqowtrbLDFw4rXAxZuE=\n-----END PUBLIC KEY-----\n',
    },
    scan: {
      source: 'postgres://auditlog@127.0.0.1:15432/auditlog table audit_log',
      entries: ok - 64,
      checksRun: [
        { name: 'chain', ran: true },
        { name: 'partial', ran: true },
        { name: 'duplicate', ran: true },
        { name: 'ledger', ran: true },
        { name: 'checkpoint', ran: true },
        { name: 'tamper', ran: true },
      ],
      durationMs: 7480,
    },
    findings: fs,
    canaries: { planted: 5, caught: 5, missed: [] },
    thresholds: [
      { name: 'missing', expected: '0', actual: 64, pass: false },
      { name: 'partial', expected: '0', actual: 1, pass: false },
      { name: 'brokenChain', expected: '0', actual: 2, pass: false },
      { name: 'duplicates', expected: '0', actual: 0, pass: true },
      { name: 'unexpected', expected: '0', actual: 0, pass: true },
      { name: 'rollback', expected: '0', actual: 0, pass: true },
      { name: 'tamperUndetected', expected: '0', actual: 0, pass: true },
      { name: 'availability', expected: '>= 70%', actual: ok / attempted, pass: ok / attempted >= 0.7 },
      { name: 'latency.p99', expected: '< 2s', actual: 1940, pass: true },
      {
        name: 'tamper.delete-triggers-off',
        expected: 'refused, or detected by the scan',
        actual: 'accepted, detected',
        pass: true,
      },
    ],
    verdict: {
      status: 'fail',
      reasons: [
        '64 acknowledged events are missing from the log (allowed 0)',
        '2 broken-chain findings (allowed 0)',
        '1 partial entry (allowed 0)',
      ],
    },
    files: ['history.ndjson', 'logs/postgres.log', 'logs/service.log'],
  };
}

/** A clean run: no faults hurt, nothing found, every check ran. */
export function passingReport(): Report {
  const r = fixtureReport();
  return {
    ...r,
    findings: [],
    thresholds: r.thresholds.map((t) =>
      t.name === 'availability' || t.name.startsWith('latency')
        ? { ...t, pass: true }
        : { ...t, actual: 0, pass: true },
    ),
    verdict: { status: 'pass', reasons: [] },
  };
}
