import { describe, expect, it } from 'vitest';
import { evaluate } from '../../../src/run/verdict.ts';
import {
  judgeVisibility,
  lagHistogram,
  percentile,
  type ScanPresence,
} from '../../../src/scan/checks/visibility.ts';
import type { LedgerOp } from '../../../src/scan/types.ts';
import { parseScenario } from '../../../src/scenario/load.ts';
import {
  isSampled,
  type ReadAnswer,
  startVisibilityReader,
  type VisibilityEvidence,
  type VisibilitySample,
} from '../../../src/workload/visibility-reader.ts';

const clean: ScanPresence = { complete: true, missing: new Set(), missingListed: true };
const limits = { maxMs: 500 };

function evidence(samples: Partial<VisibilitySample>[]): VisibilityEvidence {
  return {
    via: 'api',
    sample: 1,
    pollMs: 20,
    timeoutMs: 30_000,
    offered: samples.length,
    samples: samples.map((s, i) => ({ eventId: `e${i}`, ackAt: 1000, reads: 1, readErrors: 0, ...s })),
  };
}

describe('judgeVisibility', () => {
  it('flags an event proven not readable past the limit as delayed, with the fault active meanwhile', () => {
    const j = judgeVisibility(
      evidence([{ seenAt: 1010 }, { lastAbsentAt: 1900, seenAt: 1920, reads: 40 }]),
      clean,
      limits,
      [{ id: 'f1', kind: 'db-down', target: 'database', startedAt: 1500, endedAt: 3000 }],
    );
    expect(j.delayed).toBe(1);
    const f = j.findings[0];
    expect(f?.kind).toBe('delayed');
    expect(f?.eventId).toBe('e1');
    expect(f?.detail?.provenLagMs).toBe(900);
    expect(f?.detail?.faultsWhileNotReadable).toEqual(['f1 db-down database']);
    expect(j.lag.max).toBe(920);
    expect(j.proven.max).toBe(900);
  });

  it('never makes an event late from failed reads alone: an outage of the read path proves nothing', () => {
    const j = judgeVisibility(evidence([{ seenAt: 9000, reads: 300, readErrors: 299 }]), clean, limits);
    expect(j.delayed).toBe(0);
    expect(j.lag.p50).toBe(8000);
    expect(j.proven.p50).toBe(0);
  });

  it('leaves an event the scan lacks to `missing`, and calls one only the scan found delayed', () => {
    const never = { lastAbsentAt: 31_000, gaveUpAt: 31_010, reads: 1500 };
    const missing = judgeVisibility(
      evidence([never]),
      { complete: true, missing: new Set(['e0']), missingListed: true },
      limits,
    );
    expect(missing.delayed).toBe(0);
    expect(missing.fates.missing).toBe(1);
    const atScan = judgeVisibility(evidence([never]), clean, limits);
    expect(atScan.delayed).toBe(1);
    expect(atScan.fates['seen-at-scan']).toBe(1);
    expect(atScan.findings[0]?.message).toMatch(/seen only at the final scan/);
  });

  it('does not guess when the scan could not tell (it failed, or its missing list was cut)', () => {
    const never = { lastAbsentAt: 31_000, gaveUpAt: 31_010 };
    for (const scan of [
      { ...clean, complete: false },
      { ...clean, missingListed: false },
    ]) {
      const j = judgeVisibility(evidence([never]), scan, limits);
      expect(j.delayed).toBe(0);
      expect(j.fates.unresolved).toBe(1);
    }
  });

  it('is not checked when nothing was followed or every read failed', () => {
    expect(judgeVisibility(evidence([]), clean, limits).notChecked).toMatch(/no event/);
    expect(
      judgeVisibility(evidence([{ reads: 5, readErrors: 5, lastError: 'HTTP 503' }]), clean, limits)
        .notChecked,
    ).toMatch(/every read .* failed \(HTTP 503\)/);
  });

  it('percentiles are nearest-rank; the histogram puts each lag in its bucket', () => {
    expect(percentile([1, 2, 3, 4], 0.5)).toBe(2);
    expect(percentile([1, 2, 3, 4], 0.99)).toBe(4);
    expect(percentile([], 0.5)).toBeNull();
    const h = lagHistogram([5, 10, 11, 250, 99_999]);
    expect(h.find((b) => b.le === 10)?.count).toBe(2);
    expect(h.find((b) => b.le === 20)?.count).toBe(1);
    expect(h.find((b) => b.le === 500)?.count).toBe(1);
    expect(h.at(-1)).toEqual({ le: null, count: 1 });
  });
});

describe('the delayed invariant in the verdict', () => {
  const base = {
    counts: {
      missing: 0,
      partial: 0,
      'broken-chain': 0,
      duplicate: 0,
      unexpected: 0,
      rollback: 0,
      'tamper-undetected': 0,
      'tamper-detected': 0,
      indeterminate: 0,
      delayed: 0,
      'clock-backwards': 0,
      'ts-outside-window': 0,
    },
    ops: { attempted: 10, ok: 10 },
    tamper: [],
    checksNotRun: [],
    scanned: true,
    canaries: { planted: 5, caught: 5, missed: [] },
  };
  const scenario = (extra: string) =>
    parseScenario(
      `version: 1\nname: v\ndescription: d\nworkload: { rate: 10, duration: 1s${extra} }\nexpect: { visibility: { max: 500ms, p99: 200ms } }\n`,
      'v.yml',
    );

  it('is no row at all in a run that follows no event', () => {
    const s = scenario('');
    const { thresholds, verdict } = evaluate({ ...base, expect: s.expect });
    expect(thresholds.map((t) => t.name)).not.toContain('delayed');
    expect(verdict.status).toBe('pass');
  });

  it('fails on a delayed event and on the proven p99; is unknown when not checked', () => {
    const s = scenario(', visibility: { sample: 1 }');
    const limitsOf = { maxMs: 500, p99Ms: 200 };
    const fail = evaluate({
      ...base,
      counts: { ...base.counts, delayed: 2 },
      expect: s.expect,
      visibility: { delayed: 2, proven: { p50: 100, p99: 900 }, limits: limitsOf },
    });
    expect(fail.verdict.status).toBe('fail');
    expect(fail.verdict.reasons.join('\n')).toMatch(/delayed: expected <= 0, got 2/);
    expect(fail.verdict.reasons.join('\n')).toMatch(/visibility\.p99/);
    const unknown = evaluate({
      ...base,
      expect: s.expect,
      visibility: {
        delayed: 0,
        notChecked: 'every read failed',
        proven: { p50: null, p99: null },
        limits: limitsOf,
      },
    });
    expect(unknown.verdict.status).toBe('unknown');
    expect(unknown.verdict.reasons.join('\n')).toMatch(/every read failed/);
  });
});

describe('the visibility reader', () => {
  const op = (eventId: string, completedAt: number, outcome: LedgerOp['outcome'] = 'ok'): LedgerOp => ({
    eventId,
    outcome,
    payloadDigest: '',
    invokedAt: completedAt - 1,
    completedAt,
    attempts: 1,
  });

  it('samples by a hash of (seed, event id): the same share, the same events on a replay', () => {
    const ids = Array.from({ length: 4000 }, (_, i) => `id-${i}`);
    const picked = ids.filter((id) => isSampled(id, 7, 0.1));
    expect(picked.length).toBeGreaterThan(300);
    expect(picked.length).toBeLessThan(500);
    expect(ids.filter((id) => isSampled(id, 7, 0.1))).toEqual(picked);
    expect(ids.filter((id) => isSampled(id, 8, 0.1))).not.toEqual(picked);
  });

  it('follows acked events until found, always follows the last ack, and gives up at its timeout', async () => {
    let now = 0;
    const visibleAt = new Map([
      ['a', 50],
      ['last', 10],
    ]);
    const reads: string[][] = [];
    const reader = startVisibilityReader({
      spec: { sample: 1, via: 'api', path: '/events/{eventId}', poll: 5, timeout: 200, concurrency: 4 },
      seed: 1,
      clock: () => now,
      signal: new AbortController().signal,
      probe: {
        read: async (ids) => {
          reads.push(ids);
          const t = now;
          now += 5;
          return new Map(
            ids.map((id): [string, ReadAnswer] => {
              const at = visibleAt.get(id);
              if (id === 'flaky')
                return [id, { state: 'error', sentAt: t, answeredAt: now, error: 'HTTP 503' }];
              return [
                id,
                { state: at !== undefined && t >= at ? 'found' : 'absent', sentAt: t, answeredAt: now },
              ];
            }),
          );
        },
        close: async () => undefined,
      },
    });
    reader.offer(op('a', 0));
    reader.offer(op('never', 0));
    reader.offer(op('flaky', 0));
    reader.offer(op('failed-write', 0, 'fail'));
    const ev = await reader.finish(op('last', 0), new AbortController().signal);
    const by = new Map(ev.samples.map((s) => [s.eventId, s]));
    expect([...by.keys()].sort()).toEqual(['a', 'flaky', 'last', 'never']);
    expect(ev.offered).toBe(4);
    expect(by.get('a')?.seenAt).toBeGreaterThanOrEqual(50);
    expect(by.get('a')?.lastAbsentAt).toBeLessThan(50);
    expect(by.get('last')?.last).toBe(true);
    expect(by.get('never')?.seenAt).toBeUndefined();
    expect(by.get('never')?.gaveUpAt).toBeGreaterThanOrEqual(200);
    expect(by.get('flaky')?.readErrors).toBe(by.get('flaky')?.reads);
    expect(by.get('flaky')?.lastAbsentAt).toBeUndefined();
    // One read per followed event per round.
    for (const r of reads) expect(new Set(r).size).toBe(r.length);
  });
});

describe('workload.visibility in the scenario', () => {
  const text = (vis: string, rest = '') =>
    `version: 1\nname: v\ndescription: d\nworkload: { rate: 10, duration: 1s, visibility: ${vis} }\n${rest}`;

  it('fills in the defaults', () => {
    const s = parseScenario(text('{}'), 'v.yml');
    expect(s.workload.visibility).toEqual({
      sample: 0.1,
      via: 'api',
      path: '/events/{eventId}',
      poll: 20,
      timeout: 30_000,
      concurrency: 16,
    });
    expect(s.expect.delayed).toBe(0);
  });

  const problems = (t: string): string => {
    try {
      parseScenario(t, 'v.yml');
      return '';
    } catch (e) {
      return ((e as { problems?: { message: string }[] }).problems ?? []).map((p) => p.message).join('\n');
    }
  };

  it('refuses a source it cannot query by id, a timeout within the limit, a path without the id', () => {
    expect(problems(text('{ via: source }', 'scan: { source: { kind: jsonl, path: x.jsonl } }\n'))).toMatch(
      /only a postgres scan.source allows/,
    );
    expect(problems(text('{ timeout: 2s }', 'expect: { visibility: { max: 5s } }\n'))).toMatch(
      /must be longer than expect.visibility.max/,
    );
    expect(problems(text('{ path: /events }'))).toMatch(/must contain \{eventId\}/);
  });
});
