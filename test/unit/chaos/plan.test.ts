import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import type { FaultRecord } from '../../../src/chaos/fault-log.ts';
import { activeFaultsAt } from '../../../src/chaos/fault-log.ts';
import { planFaults } from '../../../src/chaos/plan.ts';
import { runTimeline } from '../../../src/chaos/timeline.ts';
import { parseScenario } from '../../../src/scenario/load.ts';

const scenario = parseScenario(
  `version: 1
name: plan
description: d
workload: { rate: 10/s, duration: 60s }
faults:
  - { at: 10s, for: 2s, kind: db-down, mode: pause }
  - { at: 1s, for: 1s, every: 5s, count: 3, startJitter: 1s, kind: partition, proxy: db }
`,
  'x.yml',
);

describe('planFaults', () => {
  it('expands repeats in time order with ids, jitter within bounds', () => {
    const plan = planFaults(scenario.faults, 42);
    expect(plan.map((p) => p.id)).toEqual(['f2.1', 'f2.2', 'f1', 'f2.3']);
    const reps = plan.filter((p) => p.id.startsWith('f2'));
    reps.forEach((p, k) => {
      expect(p.at).toBeGreaterThanOrEqual(1000 + k * 5000);
      expect(p.at).toBeLessThanOrEqual(2000 + k * 5000);
    });
  });

  it('same seed, same plan; another seed, another jitter', () => {
    expect(planFaults(scenario.faults, 7)).toEqual(planFaults(scenario.faults, 7));
    const a = planFaults(scenario.faults, 1).map((p) => p.at);
    const b = planFaults(scenario.faults, 2).map((p) => p.at);
    expect(a).not.toEqual(b);
  });
});

/** The plan of a scenario with these fault lines (YAML flow mappings) and this duration. */
function planOf(duration: string, ...faults: string[]) {
  const yml = `version: 1
name: t
description: d
workload: { rate: 10/s, duration: ${duration} }
faults:
${faults.map((f) => `  - ${f}\n`).join('')}`;
  return planFaults(parseScenario(yml, 'x.yml').faults, 1);
}

describe('runTimeline', () => {
  it('applies and heals each fault at its offsets and records real times', async () => {
    const plan = planOf(
      '2s',
      '{ at: 50ms, for: 400ms, kind: db-down }',
      '{ at: 150ms, for: 50ms, kind: latency, proxy: api, latency: 1ms }',
    );
    const t0 = performance.now();
    const clock = () => performance.now() - t0;
    const events: string[] = [];
    const log = await runTimeline({
      plan,
      clock,
      apply: async (p) => {
        events.push(`apply ${p.id}`);
        return async () => {
          events.push(`heal ${p.id}`);
        };
      },
    });
    // f2 starts after f1 and heals first: apply and heal each follow the clock, not the list.
    expect(events).toEqual(['apply f1', 'apply f2', 'heal f2', 'heal f1']);
    const f1 = log.find((r) => r.id === 'f1') as FaultRecord;
    expect(f1.startedAt).toBeGreaterThanOrEqual(49);
    expect((f1.endedAt ?? 0) - (f1.startedAt ?? 0)).toBeGreaterThanOrEqual(390); // timers may fire ~1 ms early
    const f2 = log.find((r) => r.id === 'f2') as FaultRecord;
    expect(activeFaultsAt(log, ((f2.startedAt ?? 0) + (f2.endedAt ?? 0)) / 2).length).toBe(2);
    expect(activeFaultsAt(log, 10)).toEqual([]);
  });

  it('heals active faults at once on abort and skips those not started; records apply errors', async () => {
    const plan = planOf(
      '20s',
      '{ at: 0s, for: 10s, kind: db-down }',
      '{ at: 0s, for: 10s, kind: service-down }',
      '{ at: 15s, for: 1s, kind: db-down }',
    );
    const ac = new AbortController();
    const healed: string[] = [];
    const t0 = performance.now();
    setTimeout(() => ac.abort(), 50);
    const log = await runTimeline({
      plan,
      clock: () => performance.now() - t0,
      signal: ac.signal,
      apply: async (p) => {
        if (p.fault.kind === 'service-down') throw new Error('no such service');
        return async () => {
          healed.push(p.id);
        };
      },
    });
    expect(performance.now() - t0).toBeLessThan(2000);
    expect(healed).toEqual(['f1']);
    expect(log.find((r) => r.id === 'f2')?.error).toMatch(/apply failed: no such service/);
    expect(log.find((r) => r.id === 'f3')?.startedAt).toBeUndefined();
  });

  it('a fault waits for the earlier fault on its target to heal; other targets do not wait', async () => {
    const plan = planOf(
      '2s',
      '{ at: 0ms, for: 50ms, kind: db-down, mode: kill }',
      '{ at: 100ms, for: 50ms, kind: db-down, mode: kill }',
      '{ at: 120ms, for: 20ms, kind: latency, proxy: api, latency: 1ms }',
    );
    const t0 = performance.now();
    const clock = () => performance.now() - t0;
    const events: string[] = [];
    const ac = new AbortController();
    const log = await runTimeline({
      plan,
      clock,
      signal: ac.signal,
      apply: async (p) => {
        events.push(`apply ${p.id}`);
        return async () => {
          events.push(`healing ${p.id}`);
          // f1's heal is a crash recovery that takes longer than the gap the plan left
          if (p.id === 'f1') await new Promise((r) => setTimeout(r, 300));
          events.push(`healed ${p.id}`);
        };
      },
    });
    expect(events).toEqual([
      'apply f1',
      'healing f1',
      'apply f3',
      'healing f3',
      'healed f3',
      'healed f1',
      'apply f2',
      'healing f2',
      'healed f2',
    ]);
    const byId = (id: string) => log.find((r) => r.id === id) as FaultRecord;
    expect(byId('f1').error).toBeUndefined();
    expect(byId('f2').startedAt).toBeGreaterThanOrEqual(byId('f1').endedAt ?? Number.POSITIVE_INFINITY);
    expect(byId('f2').waitedFor).toMatch(/^started \d+ ms late: f1 on database had not healed yet$/);
    expect(byId('f3').waitedFor).toBeUndefined();
    // the wait for f1 left no listener on the run's signal
    expect(getEventListeners(ac.signal, 'abort')).toEqual([]);
  });

  it('a fault waiting for a heal gives up on abort, and no listener stays on the signal', async () => {
    const plan = planOf(
      '2s',
      '{ at: 0ms, for: 20ms, kind: db-down, mode: kill }',
      '{ at: 40ms, for: 20ms, kind: db-down, mode: kill }',
    );
    const ac = new AbortController();
    const t0 = performance.now();
    const applied: string[] = [];
    let releaseHeal!: () => void;
    const timeline = runTimeline({
      plan,
      clock: () => performance.now() - t0,
      signal: ac.signal,
      apply: async (p) => {
        applied.push(p.id);
        // f1's heal hangs until released: f2 waits for it
        return () => new Promise<void>((r) => (releaseHeal = r));
      },
    });
    await new Promise((r) => setTimeout(r, 100));
    expect(getEventListeners(ac.signal, 'abort').length).toBeGreaterThan(0);
    ac.abort();
    releaseHeal();
    const log = await timeline;
    expect(applied).toEqual(['f1']);
    expect(log.find((r) => r.id === 'f2')?.startedAt).toBeUndefined();
    expect(getEventListeners(ac.signal, 'abort')).toEqual([]);
  });
});
