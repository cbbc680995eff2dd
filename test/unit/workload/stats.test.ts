import { describe, expect, it } from 'vitest';
import type { LedgerOp, OpOutcome } from '../../../src/scan/types.ts';
import { WorkloadStats } from '../../../src/workload/index.ts';

let n = 0;
const op = (outcome: OpOutcome, invokedAt: number, latency: number, attempts = 1): LedgerOp => ({
  eventId: `e${n++}`,
  outcome,
  payloadDigest: 'd',
  invokedAt,
  completedAt: invokedAt + latency,
  attempts,
});

describe('WorkloadStats', () => {
  it('counts outcomes and availability as acked / attempted', () => {
    const s = new WorkloadStats();
    s.add(op('ok', 10, 5));
    s.add(op('ok', 10, 5, 2));
    s.add(op('indeterminate', 10, 5, 3));
    s.add(op('fail', 10, 0, 1));
    s.add(op('not-sent', 10, 0, 0)); // never sent: the driver's, outside attempted and availability
    expect(s.counts).toEqual({ attempted: 4, ok: 2, fail: 1, indeterminate: 1, notSent: 1, requests: 7 });
    expect(s.availability()).toBe(0.5);
    expect(new WorkloadStats().availability()).toBe(0);
  });

  it('reports latency percentiles from the HDR histogram (0.1% precision)', () => {
    const s = new WorkloadStats();
    for (let i = 1; i <= 1000; i++) s.add(op(i % 10 === 0 ? 'indeterminate' : 'ok', 0, i));
    const l = s.latency();
    expect(l.count).toBe(1000);
    expect(l.p50).toBeCloseTo(500, -0.5);
    expect(l.p90).toBeCloseTo(900, -0.5);
    expect(l.p99).toBeCloseTo(990, -0.5);
    expect(l.max).toBeCloseTo(1000, -0.5);
    expect(Math.abs(l.p99 - 990) / 990).toBeLessThan(0.002);
    expect(s.ackedLatency().count).toBe(900);
  });

  it('closes one-second windows by completion time, empty ones included, each once', () => {
    const s = new WorkloadStats(0);
    s.add(op('ok', 100, 10)); // second 0
    s.add(op('ok', 200, 20)); // second 0
    s.add(op('fail', 900, 150)); // completes in second 1
    s.add(op('indeterminate', 2500, 700)); // completes in second 3
    const first = s.closeBefore(1);
    expect(first).toHaveLength(1);
    expect(first[0]).toMatchObject({ t: 0, ok: 2, errors: 0, indeterminate: 0 });
    expect(first[0]?.p50).toBeCloseTo(10, 1);
    expect(first[0]?.max).toBeCloseTo(20, 1);
    expect(s.closeBefore(1)).toEqual([]);
    const rest = s.flush();
    expect(rest.map((x) => x.t)).toEqual([1, 2, 3]);
    expect(rest[0]).toMatchObject({ errors: 1 });
    expect(rest[1]).toEqual({
      t: 2,
      ok: 0,
      errors: 0,
      indeterminate: 0,
      p50: null,
      p90: null,
      p99: null,
      max: null,
    });
    expect(rest[2]).toMatchObject({ indeterminate: 1 });
    expect(rest[2]?.p99).toBeCloseTo(700, 0);
  });

  it('starts the series at the run clock second the workload starts in', () => {
    const s = new WorkloadStats(5300);
    s.add(op('ok', 5400, 900));
    expect(s.flush(7000).map((x) => [x.t, x.ok])).toEqual([
      [5, 0],
      [6, 1],
      [7, 0],
    ]);
  });

  it('counts an op completing in an already closed second overall only', () => {
    const s = new WorkloadStats(0);
    s.closeBefore(3);
    s.add(op('ok', 1000, 10));
    expect(s.lateOps).toBe(1);
    expect(s.counts.ok).toBe(1);
    expect(s.flush()).toEqual([]);
  });

  it('summarizes lateness of starts', () => {
    const s = new WorkloadStats();
    for (let i = 0; i < 100; i++) s.addLateness(i < 98 ? 0 : 250);
    expect(s.lateness().p50).toBe(0);
    expect(s.lateness().max).toBeCloseTo(250, 0);
  });
});
