/**
 * Fakes of the run's ports (src/run/ports.ts) for the fast tier: a Stack, a proxy API, writers,
 * a health check, a scanner and a report writer that run in memory, so every exit path of a run
 * takes milliseconds. Each fake records what was asked of it.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { FindingSet } from '../../src/run/finding-set.ts';
import type { RunPorts } from '../../src/run/ports.ts';
import type { ScanStepOptions, ScanStepResult } from '../../src/run/scan-step.ts';
import { emptyCounts } from '../../src/scan/scan.ts';
import type { Finding, LedgerOp } from '../../src/scan/types.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import type { LoadedScenario } from '../../src/scenario/read.ts';
import type { Stack, StackEndpoints } from '../../src/stack/types.ts';
import type { TamperRecord } from '../../src/tamper/probes.ts';
import type { WorkloadResult } from '../../src/workload/index.ts';

export function fakeScenario(extra = ''): LoadedScenario {
  const text = `version: 1
name: fake
description: fake ports
workload: { rate: 10/s, duration: 200ms }
${extra}`;
  return { file: 'fake.yml', dir: process.cwd(), scenario: parseScenario(text, 'fake.yml') };
}

export const ENDPOINTS: StackEndpoints = {
  toxiproxyUrl: 'http://127.0.0.1:1',
  serviceUrl: 'http://127.0.0.1:2',
  databaseUrl: 'postgres://u:secretpw@127.0.0.1:3/db',
  proxies: {},
};

export function ackedOps(n: number, from = 0, every = 10): LedgerOp[] {
  return Array.from({ length: n }, (_, i) => ({
    eventId: `e${from + i}`,
    outcome: 'ok' as const,
    payloadDigest: 'd',
    invokedAt: (from + i) * every,
    completedAt: (from + i) * every + 2,
    attempts: 1,
    seq: from + i + 1,
  }));
}

export function workloadResult(
  all: LedgerOp[],
  driver: Partial<WorkloadResult['driver']> = {},
): WorkloadResult {
  const ops = all.filter((o) => o.outcome !== 'not-sent');
  const notSent = all.length - ops.length;
  const ok = ops.filter((o) => o.outcome === 'ok').length;
  const fail = ops.filter((o) => o.outcome === 'fail').length;
  const lat = { count: ops.length, p50: 2, p90: 2, p99: 2, max: 2, mean: 2 };
  return {
    ops: all,
    counts: {
      attempted: ops.length,
      ok,
      fail,
      indeterminate: ops.length - ok - fail,
      notSent,
      requests: ops.length,
    },
    availability: ops.length ? ok / ops.length : 0,
    latency: lat,
    ackedLatency: lat,
    series: [],
    lateness: lat,
    startedAt: 0,
    endedAt: 200,
    planned: all.length,
    aborted: false,
    driver: {
      notSent,
      notSentBehind: notSent,
      arrived: all.length,
      loopLagP99Ms: 1,
      loopLagMaxMs: 2,
      ...driver,
    },
  };
}

export function scanResult(findings: Finding[] = [], over: Partial<ScanStepResult> = {}): ScanStepResult {
  const counts = emptyCounts();
  for (const f of findings) counts[f.kind]++;
  return {
    source: 'fake',
    entries: 100,
    findings,
    counts,
    countsBefore: emptyCounts(),
    findingsOmitted: 0,
    checksRun: [
      { name: 'chain', ran: true, required: true },
      { name: 'partial', ran: true, required: false },
      { name: 'duplicate', ran: true, required: true },
      { name: 'ledger', ran: true, required: true },
      { name: 'checkpoint', ran: true, required: true },
    ],
    checkpointsVerified: 1,
    canaries: { planted: 5, caught: 5, missed: [], results: [] },
    durationMs: 1,
    ...over,
  };
}

export interface FakeLog {
  calls: string[];
  /** `command` faults' commands, in the order they ran. */
  commands: string[];
  /** Heals recorded as pending and not yet removed, by fault id. */
  pendingHeals: Map<string, string>;
  downs: number;
  scans: ScanStepOptions[];
  writes: number;
}

/** Ports where everything works; override any to make it fail. */
export function fakePorts(over: Partial<RunPorts> = {}, stackOver: Partial<Stack> = {}) {
  const log: FakeLog = {
    calls: [],
    commands: [],
    pendingHeals: new Map(),
    downs: 0,
    scans: [],
    writes: 0,
  };
  const stack: Stack = {
    kind: 'local',
    runId: 'r',
    up: async () => {
      log.calls.push('up');
      return ENDPOINTS;
    },
    endpoints: () => ENDPOINTS,
    fault: async (target, mode) => {
      log.calls.push(`fault ${target} ${mode}`);
    },
    recover: async (target, mode) => {
      log.calls.push(`recover ${target} ${mode}`);
    },
    dbFault: async () => {
      log.calls.push('dbFault');
    },
    dbRecover: async () => {
      log.calls.push('dbRecover');
    },
    serviceFault: async () => undefined,
    serviceRecover: async () => undefined,
    collectLogs: async () => [],
    down: async () => {
      log.downs++;
      log.calls.push('down');
    },
    secrets: ['secretpw'],
    ...stackOver,
  };
  const ports: RunPorts = {
    chooseRuntime: async () => ({ kind: 'local', why: 'fake' }),
    createStack: () => stack,
    preflight: async () => undefined,
    network: () => ({
      addToxics: async () => async () => undefined,
      disableProxy: async () => async () => undefined,
      reset: async () => {
        log.calls.push('reset');
      },
    }),
    // No counters by default (as real Toxiproxy): every effect is unknown.
    traffic: () => ({ read: async () => undefined }),
    pendingHeals: () => ({
      add: async (h) => {
        log.pendingHeals.set(h.faultId, h.heal);
      },
      remove: async (id) => {
        log.pendingHeals.delete(id);
      },
    }),
    runCommand: async (command) => {
      log.commands.push(command);
      return { exitCode: 0, output: `ran ${command}`, timedOut: false };
    },
    runWorkload: async (o) => {
      log.calls.push(o.spec.writers === 1 && o.checkpoints === false ? 'recovery-write' : 'workload');
      return workloadResult(ackedOps(20));
    },
    health: async () => ({ ok: true }),
    readBaseline: async () => {
      log.calls.push('baseline');
      return { entries: 0 };
    },
    runTamper: async (probes) => {
      log.calls.push('tamper');
      return probes.map<TamperRecord>((p, i) => ({
        name: p.name ?? `p${i}`,
        via: p.via,
        request: 'x',
        outcome: 'refused',
        detail: 'permission denied',
        affected: { changed: [], removed: [], added: [], eventIds: [] },
        expect: p.expect ?? 'detected',
      }));
    },
    scan: async (o) => {
      log.calls.push(o.against ? 'scan-after' : 'scan');
      log.scans.push(o);
      return scanResult([], o.keepKeys ? { keys: new FindingSet() } : {});
    },
    writeReport: async () => {
      log.writes++;
      log.calls.push('report');
    },
    files: {
      mkdir: async () => undefined,
      writeFile: async () => undefined,
      removeIfEmpty: async () => undefined,
      remove: async () => undefined,
    },
    // Every followed event is found at the first read.
    visibilityProbe: (_s, _e, clock) => ({
      read: async (ids) => {
        log.calls.push('visibility-read');
        const t = clock();
        return new Map(ids.map((id) => [id, { state: 'found' as const, sentAt: t, answeredAt: t }]));
      },
      close: async () => undefined,
    }),
    clock: () => performance.now(),
    now: () => new Date('2026-12-02T00:00:00Z'),
    randomSeed: () => 7,
    ...over,
  };
  return { ports, log, stack };
}

export function reportsRoot(): string {
  return mkdtempSync(path.join(tmpdir(), 'ac-fake-'));
}

export const silentSink = { handle: () => undefined, close: () => undefined };
