import { describe, expect, it } from 'vitest';
import type { FaultRecord } from '../../../src/chaos/fault-log.ts';
import { groupByFault, headlineSentences, nearestFault, storyOf } from '../../../src/report/story.ts';
import type { LedgerOp } from '../../../src/scan/types.ts';

const faults: FaultRecord[] = [
  {
    id: 'f1',
    kind: 'db-down',
    target: 'db',
    params: { mode: 'kill' },
    plannedAt: 6000,
    plannedFor: 3000,
    startedAt: 6040,
    endedAt: 9100,
  },
  {
    id: 'f2',
    kind: 'latency',
    target: 'proxy db',
    params: { latency: 150 },
    plannedAt: 14_000,
    plannedFor: 3000,
    startedAt: 14_030,
    endedAt: 17_000,
  },
  { id: 'f3', kind: 'partition', target: 'proxy api', params: {}, plannedAt: 20_000, plannedFor: 1000 },
];
const op = (invokedAt: number, completedAt: number, extra: Partial<LedgerOp> = {}): LedgerOp => ({
  eventId: `e-${invokedAt}`,
  outcome: 'ok',
  payloadDigest: '00',
  invokedAt,
  completedAt,
  attempts: 1,
  status: 201,
  ...extra,
});

describe('the story of a finding', () => {
  it('names the nearest fault and the gap when none was active (the "faults active: none" case)', () => {
    const s = storyOf(op(5800, 6003), faults);
    expect(s.activeAtSend).toEqual([]);
    expect(s.activeAtAnswer).toEqual([]);
    expect(s.nearest).toEqual({ id: 'f1', label: 'f1 db-down kill (db)', relation: 'before', gapMs: 37 });
    expect(s.text).toBe('sent at 5.80 s, acked at 6.00 s, 37 ms before f1 db-down kill (db)');
  });

  it('says during, after, and what the writer was told, with retries', () => {
    const during = storyOf(op(6100, 6300, { outcome: 'indeterminate', status: 503, attempts: 3 }), faults);
    expect(during.text).toBe(
      'sent at 6.10 s, told HTTP 503 at 6.30 s after 3 attempts, during f1 db-down kill (db)',
    );
    expect(during.activeAtSend).toEqual(['f1 db-down kill (db)']);
    const after = storyOf(op(9200, 9250, { outcome: 'fail', status: undefined, error: 'timeout' }), faults);
    expect(after.nearest).toMatchObject({ id: 'f1', relation: 'after', gapMs: 150 });
    expect(after.text).toContain('told "timeout" at 9.25 s, 150 ms after f1');
    // a fault that never started is nobody's nearest
    expect(nearestFault(faults, 20_500)?.id).toBe('f2');
    expect(storyOf(op(1, 2), []).text).toContain('in a run without faults');
  });

  it('groups by nearest fault in fault order, summarises repeats, and tells the verdict aloud', () => {
    const missing = [0, 1, 2].map((i) => ({
      kind: 'missing',
      severity: 'violation',
      eventId: `m${i}`,
      story: storyOf(op(5800 + i, 5900 + i * 50), faults),
    }));
    const indet = [0, 1].map((i) => ({
      kind: 'indeterminate',
      severity: 'info',
      story: storyOf(op(14_100 + i, 14_300, { outcome: 'indeterminate', status: 503 }), faults),
      detail: { recovered: false },
    }));
    const chain = { kind: 'broken-chain', severity: 'violation' };
    const groups = groupByFault([chain, ...indet, ...missing], faults);
    expect(groups.map((g) => g.faultId)).toEqual(['f1', 'f2', undefined]);
    expect(groups[0]?.summaries.map((s) => s.text)).toEqual(['3 acknowledged writes lost before f1']);
    expect(groups[1]?.summaries.map((s) => s.text)).toEqual([
      '2 writes got HTTP 503 (indeterminate) during f2, none stored',
    ]);
    expect(groups[2]?.title).toBe('near no fault');
    expect(headlineSentences([...missing, chain], { missing: 3, 'broken-chain': 1 })).toEqual([
      '3 acknowledged events were lost, all within 140 ms before f1 db-down kill (db).',
      'The hash chain is broken at 1 place.',
    ]);
    // counts past the findings cap: the sentence says how many of them it looked at
    expect(headlineSentences(missing, { missing: 1000 })[0]).toBe(
      '1000 acknowledged events were lost, the 3 shown within 140 ms before f1 db-down kill (db).',
    );
  });
});
