/**
 * Visibility lag on the local runtime (real PostgreSQL, the reference service, the built-in
 * proxy): the late-visible flaw is caught as `delayed` and not as missing by the shipped
 * scenario; the correct service passes it over 5 seeds; and a
 * read path (a toy server on a real socket) that makes entries visible a known 200 ms after their
 * ack is measured at that lag.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSink } from '../../src/report/events.ts';
import type { Report } from '../../src/report/model.ts';
import { runScenario } from '../../src/run/run-scenario.ts';
import { judgeVisibility } from '../../src/scan/checks/visibility.ts';
import type { LedgerOp } from '../../src/scan/types.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import type { FlawMode } from '../../src/scenario/vocabulary.ts';
import { sleep } from '../../src/sleep.ts';
import { createStack } from '../../src/stack/factory.ts';
import { apiProbe } from '../../src/workload/visibility-probes.ts';
import { startVisibilityReader } from '../../src/workload/visibility-reader.ts';
import { scaled, shiftedPorts, shipped } from '../helpers/scenarios.ts';

const silent: RunSink = { handle() {}, close() {} };
let reportsRoot: string;

beforeAll(async () => {
  reportsRoot = await mkdtemp(path.join(tmpdir(), 'auditchaos-visibility-'));
});
afterAll(() => rm(reportsRoot, { recursive: true, force: true }));

async function run(
  edit: (s: Scenario) => Scenario,
  flaws: FlawMode[],
  opts: { seed?: number; offset: number },
): Promise<Report> {
  const loaded = await shipped('visibility-lag');
  const scenario = shiftedPorts(edit(loaded.scenario), opts.offset);
  scenario.stack = { ...scenario.stack, flaws };
  const r = await runScenario({
    loaded: { ...loaded, scenario },
    ...(opts.seed !== undefined ? { seed: opts.seed } : {}),
    runtime: 'local',
    reportsRoot,
    signal: new AbortController().signal,
    sink: silent,
    ports: { chooseRuntime: async () => ({ kind: 'local', why: 'test' }), createStack },
  });
  return r.report;
}

const kinds = (r: Report) => [
  ...new Set(r.findings.filter((f) => f.severity === 'violation').map((f) => f.kind)),
];

describe('visibility lag (local runtime)', () => {
  it('catches late-visible as delayed, and not as missing: every entry is stored in the end', async () => {
    const r = await run((s) => scaled(s, 0.5), ['late-visible'], { offset: 3100 });
    expect(r.verdict.status).toBe('fail');
    expect(kinds(r)).toEqual(['delayed']);
    expect(r.scan?.counts?.missing).toBe(0);
    const v = r.visibility;
    expect(v).toBeDefined();
    // The flaw's default delay is 1 s: every followed event is read late (limit 500 ms), and late
    // events are proven so by a read that missed them. How many are proven depends on how soon the
    // reader's first read comes: on a loaded machine (CI runs test files side by side) it can come
    // after the second, and then proves nothing either way (proven 0: p50 was 0 in such runs).
    expect(v?.fates.seen).toBe(v?.followed);
    expect(v?.lag.p50).toBeGreaterThan(500);
    expect(v?.proven.max).toBeGreaterThan(500);
    expect(r.scan?.counts?.delayed).toBeGreaterThan(0);
    expect(r.thresholds.find((t) => t.name === 'delayed')?.pass).toBe(false);
    const f = r.findings.find((x) => x.kind === 'delayed');
    expect(f?.message).toMatch(/still not readable .* later \(limit 0\.50 s\)/);
  }, 90_000);

  it('passes the correct service over 5 seeds', async () => {
    const seeds = [1, 2, 3, 4, 5];
    const results: { seed: number; report: Report }[] = [];
    const lane = async (offset: number) => {
      for (let seed = seeds.shift(); seed !== undefined; seed = seeds.shift())
        results.push({ seed, report: await run((s) => scaled(s, 0.3), [], { seed, offset }) });
    };
    await Promise.all([lane(3200), lane(3300)]);
    const wrong = results
      .filter(({ report }) => report.verdict.status !== 'pass' || kinds(report).length > 0)
      .map(
        ({ seed, report }) => `seed ${seed}: ${report.verdict.status} ${report.verdict.reasons.join('; ')}`,
      );
    expect(wrong).toEqual([]);
    for (const { report } of results) {
      expect(report.visibility?.followed).toBeGreaterThan(10);
      expect(report.thresholds.find((t) => t.name === 'delayed')?.pass).toBe(true);
    }
  }, 180_000);

  it('measures a read path that makes entries visible 200 ms after the ack: p50 within 200..250 ms', async () => {
    // A toy service on a real socket: GET /events/{id} answers 404 until 200 ms after the ack.
    const DELAY = 200;
    const visibleAt = new Map<string, number>();
    const server = createServer((req, res) => {
      const id = decodeURIComponent((req.url ?? '').replace(/^\/events\//, ''));
      const at = visibleAt.get(id);
      res.writeHead(at !== undefined && performance.now() >= at ? 200 : 404).end();
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
    const { port } = server.address() as AddressInfo;
    try {
      const clock = () => performance.now();
      const reader = startVisibilityReader({
        spec: { sample: 1, via: 'api', path: '/events/{eventId}', poll: 20, timeout: 5000, concurrency: 16 },
        seed: 1,
        clock,
        signal: new AbortController().signal,
        probe: apiProbe({
          baseUrl: `http://127.0.0.1:${port}`,
          path: '/events/{eventId}',
          concurrency: 16,
          clock,
        }),
      });
      let last: LedgerOp | undefined;
      for (let n = 0; n < 100; n++) {
        const ackAt = clock();
        const eventId = `ev-${n}`;
        visibleAt.set(eventId, ackAt + DELAY);
        last = {
          eventId,
          outcome: 'ok',
          payloadDigest: '',
          invokedAt: ackAt,
          completedAt: ackAt,
          attempts: 1,
        };
        reader.offer(last);
        await sleep(20);
      }
      const ev = await reader.finish(last, new AbortController().signal);
      const j = judgeVisibility(
        ev,
        { complete: true, missing: new Set(), missingListed: true },
        { maxMs: 1000 },
      );
      console.log(
        `visibility lag of a 200 ms read path: p50 ${j.lag.p50?.toFixed(1)} ms, p99 ${j.lag.p99?.toFixed(1)} ms; proven p50 ${j.proven.p50?.toFixed(1)} ms; ${ev.samples.length} events`,
      );
      expect(ev.samples).toHaveLength(100);
      expect(j.fates.seen).toBe(100);
      // Tolerance: the lag as read is the delay plus at most one poll (20 ms) and a read's round
      // trip (a loaded 2-core machine: allow 30 ms); it is never below the delay. The proven lag
      // (last read that missed it) is at most the delay.
      expect(j.lag.p50).toBeGreaterThanOrEqual(DELAY);
      expect(j.lag.p50).toBeLessThanOrEqual(DELAY + 50);
      expect(j.proven.p50).toBeLessThanOrEqual(DELAY);
      expect(j.proven.p50).toBeGreaterThanOrEqual(DELAY - 50);
      expect(j.delayed).toBe(0);
    } finally {
      await new Promise((r) => server.close(r));
    }
  });
});
