/**
 * The load driver's own health: ops it could not send are `not-sent` (not failures of the
 * service), and a driver that fell behind makes availability and latency unknown. A fake HTTP
 * client that answers slowly stands in for the service; the run around it uses the fake ports.
 */
import { describe, expect, it } from 'vitest';
import { ExitCode } from '../../../src/errors.ts';
import { runScenario } from '../../../src/run/run-scenario.ts';
import { evaluate } from '../../../src/run/verdict.ts';
import { emptyCounts } from '../../../src/scan/scan.ts';
import type { LedgerOp } from '../../../src/scan/types.ts';
import type { HttpClient } from '../../../src/workload/index.ts';
import { judgeDriver, runWorkload } from '../../../src/workload/index.ts';
import {
  ackedOps,
  fakePorts,
  fakeScenario,
  reportsRoot,
  scanResult,
  silentSink,
  workloadResult,
} from '../../helpers/fake-run.ts';
import { workloadSpec } from './spec.ts';

/** Acknowledges every request after `ms`. */
function slowClient(ms: number): HttpClient & { sent: number } {
  const c = {
    sent: 0,
    async send() {
      c.sent++;
      await new Promise((r) => setTimeout(r, ms));
      return { status: 201, body: `{"seq":${c.sent}}` };
    },
    abortAll() {},
    async close() {},
  };
  return c;
}

const notSentOps = (n: number): LedgerOp[] =>
  Array.from({ length: n }, (_, i) => ({
    eventId: `ns${i}`,
    outcome: 'not-sent' as const,
    payloadDigest: 'd',
    invokedAt: i,
    completedAt: 300,
    attempts: 0,
    error: 'not sent: still waiting for a free writer 50 ms after the last arrival',
  }));

describe('the load driver at a rate it cannot reach', () => {
  it('records what it could not send as not-sent, outside attempted and availability', async () => {
    const client = slowClient(20);
    const r = await runWorkload({
      spec: workloadSpec({ rate: '1000/s', duration: '300ms', writers: 1, timeout: '1s' }),
      seed: 1,
      client,
      checkpoints: false,
      drainMs: 50,
    });
    const notSent = r.ops.filter((o) => o.outcome === 'not-sent');
    expect(r.planned).toBe(300);
    // One writer at 20 ms a request sends ~17 in 350 ms; the rest never leaves.
    expect(client.sent).toBeGreaterThan(3);
    expect(client.sent).toBeLessThan(40);
    expect(notSent.length).toBe(300 - client.sent);
    expect(
      notSent.every(
        (o) => o.attempts === 0 && /^not sent: still waiting for a free writer/.test(o.error ?? ''),
      ),
    ).toBe(true);
    expect(r.counts.fail).toBe(0);
    expect(r.counts.notSent).toBe(notSent.length);
    expect(r.counts.attempted).toBe(client.sent);
    expect(r.availability).toBe(1);
    expect(r.driver).toMatchObject({ notSent: notSent.length, notSentBehind: notSent.length, arrived: 300 });
    expect(r.driver.loopLagP99Ms).toBeGreaterThanOrEqual(0);
    const h = judgeDriver(r.driver);
    expect(h.fellBehind).toBe(true);
    expect(h.share).toBeCloseTo(notSent.length / 300, 5);
    expect(h.reason).toMatch(
      /^the load driver fell behind: \d+ of 300 requests \(\d+\.\d%\) were never sent/,
    );
  });

  it('keeps up within its share: 1% not sent is not behind, more is; extreme loop lag is', () => {
    const base = { notSent: 1, notSentBehind: 1, arrived: 100, loopLagP99Ms: 20, loopLagMaxMs: 40 };
    expect(judgeDriver(base).fellBehind).toBe(false);
    expect(judgeDriver({ ...base, notSent: 2, notSentBehind: 2 }).fellBehind).toBe(true);
    // Not sent because the run was interrupted: not the driver's lag.
    expect(judgeDriver({ ...base, notSent: 50, notSentBehind: 0 }).fellBehind).toBe(false);
    const lag = judgeDriver({ ...base, loopLagP99Ms: 900 });
    expect(lag.fellBehind).toBe(true);
    expect(lag.reason).toMatch(/event loop lagged 900 ms at p99/);
    expect(judgeDriver({ ...base, arrived: 0, notSent: 0, notSentBehind: 0 }).share).toBe(0);
  });

  it('makes availability and latency thresholds unknown, not a pass or a fail', () => {
    const { thresholds, verdict } = evaluate({
      expect: {
        ...fakeScenario().scenario.expect,
        availability: '>= 99%',
        latency: { p99: '< 1ms' },
      },
      counts: emptyCounts(),
      ops: { attempted: 100, ok: 50 },
      latency: { p50: 5, p99: 9, max: 10 },
      canaries: { planted: 5, caught: 5, missed: [] },
      tamper: [],
      checksNotRun: [],
      scanned: true,
      driverBehind: 'the load driver fell behind: 4780 of 5000 requests (95.6%) were never sent',
    });
    const avail = thresholds.find((t) => t.name === 'availability');
    expect(avail).toMatchObject({ actual: null, pass: false });
    expect(avail?.display).toMatch(/^not checked: the load driver fell behind.*\(measured 50\.0%\)$/);
    expect(thresholds.find((t) => t.name === 'latency.p99')).toMatchObject({ actual: null, pass: false });
    expect(verdict.status).toBe('unknown');
    expect(verdict.reasons).toEqual([
      'the load driver fell behind: 4780 of 5000 requests (95.6%) were never sent; not judged: availability, latency.p99',
    ]);
  });

  it('a run whose driver fell behind reports it, verdict unknown, exit 4; a violation still fails', async () => {
    const behind = workloadResult([...ackedOps(20), ...notSentOps(80)]);
    const { ports } = fakePorts({ runWorkload: async () => behind });
    const loaded = fakeScenario('expect: { availability: ">= 50%" }');
    const out = await runScenario({
      loaded,
      reportsRoot: reportsRoot(),
      signal: new AbortController().signal,
      sink: silentSink,
      ports,
    });
    expect(out.report.driver).toMatchObject({ notSent: 80, share: 0.8, fellBehind: true });
    expect(out.report.driver?.reason).toMatch(/^the load driver fell behind: 80 of 100 requests/);
    expect(out.report.ops).toMatchObject({ attempted: 20, ok: 20, fail: 0, availability: 1 });
    expect(out.report.verdict.status).toBe('unknown');
    expect(out.report.verdict.reasons.join('\n')).toMatch(/the load driver fell behind/);
    expect(out.exitCode).toBe(ExitCode.inconclusive);

    const lost = fakePorts({
      runWorkload: async () => behind,
      scan: async () =>
        scanResult([
          { kind: 'missing', severity: 'violation', message: 'gone', eventId: 'e1', check: 'ledger' },
        ]),
    }).ports;
    const failed = await runScenario({
      loaded,
      reportsRoot: reportsRoot(),
      signal: new AbortController().signal,
      sink: silentSink,
      ports: lost,
    });
    expect(failed.report.verdict.status).toBe('fail');
    expect(failed.exitCode).toBe(ExitCode.violation);

    const kept = workloadResult(ackedOps(20));
    const ok = await runScenario({
      loaded,
      reportsRoot: reportsRoot(),
      signal: new AbortController().signal,
      sink: silentSink,
      ports: fakePorts({ runWorkload: async () => kept }).ports,
    });
    expect(ok.report.driver).toMatchObject({ notSent: 0, share: 0, fellBehind: false });
    expect(ok.report.verdict.status).toBe('pass');
  });

  it("ops left unsent while a fault held every writer are the fault's evidence, not the driver falling behind", async () => {
    // A 100 ms service kill from 0 ms: writers wait on it, and 80 arrivals inside it find none free.
    const held = (at: number) =>
      notSentOps(80).map((o, i) => ({ ...o, scheduledAt: at + i, invokedAt: at + i }));
    const loaded = fakeScenario(`faults:
  - { at: 0ms, for: 100ms, kind: service-down, mode: kill }
`);
    const judge = async (ops: LedgerOp[]) => {
      const { ports } = fakePorts({
        runWorkload: async () => {
          await new Promise((r) => setTimeout(r, 150));
          return workloadResult([...ackedOps(20), ...ops]);
        },
      });
      return runScenario({
        loaded,
        reportsRoot: reportsRoot(),
        signal: new AbortController().signal,
        sink: silentSink,
        ports,
      });
    };
    const during = await judge(held(10));
    expect(during.report.driver).toMatchObject({ notSent: 80, fellBehind: false });
    expect(during.report.verdict.status).toBe('pass');
    // The same backlog long after the fault and its retry slack: the driver's own shortfall.
    const after = await judge(held(600_000));
    expect(after.report.driver).toMatchObject({ notSent: 80, fellBehind: true });
    expect(after.report.verdict.status).toBe('unknown');
  });
});
