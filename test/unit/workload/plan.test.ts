import { describe, expect, it } from 'vitest';
import { jcs, payloadDigest } from '../../../src/scan/reference-chain.ts';
import { planWorkload } from '../../../src/workload/index.ts';
import { workloadSpec } from './spec.ts';

const spec = workloadSpec({ rate: '400/s', duration: '2s', writers: 8 });

describe('planWorkload', () => {
  it('is a pure function of the spec and the seed', () => {
    const a = [...planWorkload(spec, 42).ops()];
    const b = [...planWorkload(spec, 42).ops()];
    expect(a).toEqual(b);
    const c = [...planWorkload(spec, 43).ops()];
    expect(c.map((o) => o.payloadDigest)).not.toEqual(a.map((o) => o.payloadDigest));
    expect(Buffer.from(c[0]?.idRandom ?? []).equals(Buffer.from(a[0]?.idRandom ?? []))).toBe(false);
  });

  it('keeps the plan of a given seed stable across versions (changing it must be deliberate)', () => {
    const plan = planWorkload(spec, 42);
    expect(plan.op(0).payloadDigest).toBe('acf288c265d11d7e1d33f93556deaa32ff803250b214c1086b02ecf02404b99c');
    expect(Buffer.from(plan.op(0).idRandom).toString('hex')).toBe('34870efe53aa14c4a04f535c8a876dbe');
    expect(plan.op(799).payloadDigest).toBe(
      '42c94f273e94e085d6525e72029219c6d1faa6eb1207c6e864713fa891bc409b',
    );
  });

  it('generates any op on demand, identical to the same op in order', () => {
    const plan = planWorkload(spec, 7);
    const inOrder = [...plan.ops()];
    expect(plan.op(537)).toEqual(inOrder[537]);
    expect(() => plan.op(plan.count)).toThrow(RangeError);
  });

  it('arrives at the constant rate over the duration', () => {
    const plan = planWorkload(spec, 1);
    expect(plan.count).toBe(800);
    expect(plan.offsetMs(0)).toBe(0);
    expect(plan.offsetMs(1)).toBe(2.5);
    expect(plan.offsetMs(799)).toBeCloseTo(1997.5);
    expect(plan.arrivedBy(-1)).toBe(0);
    expect(plan.arrivedBy(0)).toBe(1);
    expect(plan.arrivedBy(2.49)).toBe(1);
    expect(plan.arrivedBy(2.5)).toBe(2);
    expect(plan.arrivedBy(1000)).toBe(401);
    expect(plan.arrivedBy(10_000)).toBe(800);
    expect(planWorkload(workloadSpec({ rate: '3/s', duration: '1500ms' }), 1).count).toBe(5);
  });

  it('makes payloads of exactly payloadBytes bytes of canonical JSON, digested as the scan will', () => {
    for (const bytes of [0, 5, 11, 12, 256, 4096]) {
      const plan = planWorkload(
        workloadSpec({ rate: 10, duration: '1s', event: { payloadBytes: bytes } }),
        3,
      );
      for (const op of plan.ops()) {
        const parsed = JSON.parse(op.payloadJson) as unknown;
        expect(jcs(parsed)).toBe(op.payloadJson);
        expect(op.payloadDigest).toBe(payloadDigest(parsed));
        expect(Buffer.byteLength(op.payloadJson)).toBe(bytes < 11 ? 2 : bytes);
      }
    }
  });

  it('fills {n} with the 1-based lane (index % writers + 1) and {op} with the index', () => {
    const plan = planWorkload(
      workloadSpec({
        rate: 10,
        duration: '1s',
        writers: 3,
        event: { actor: 'user-{n}', action: 'act-{op}' },
      }),
      1,
    );
    expect([...plan.ops()].map((o) => o.actor)).toEqual([
      'user-1',
      'user-2',
      'user-3',
      'user-1',
      'user-2',
      'user-3',
      'user-1',
      'user-2',
      'user-3',
      'user-1',
    ]);
    expect(plan.op(4).action).toBe('act-4');
  });

  it('gives distinct id randomness to every op', () => {
    const plan = planWorkload(workloadSpec({ rate: 1000, duration: '20s' }), 9);
    const seen = new Set<string>();
    for (const op of plan.ops()) seen.add(Buffer.from(op.idRandom.subarray(6)).toString('hex'));
    expect(seen.size).toBe(plan.count);
  });
});
