/**
 * The clock fault's step and drift over a ClockControl port that keeps the offset it was given and
 * reads it back (the real one, libfaketime files read back from the process, is in
 * test/integration/clock-fault.test.ts).
 */
import { describe, expect, it } from 'vitest';
import { applyClockFault } from '../../../src/chaos/clock-fault.ts';
import { ScenarioError } from '../../../src/errors.ts';
import { parseScenario } from '../../../src/scenario/load.ts';
import { sleep } from '../../../src/sleep.ts';
import type { ClockControl } from '../../../src/stack/clock/clock-control.ts';

function fakeClock(opts: { stuck?: boolean } = {}) {
  const writes: number[] = [];
  let offset = 0;
  const clock: ClockControl = {
    targets: ['auditlog'],
    async set(_t, ms) {
      writes.push(ms);
      if (!opts.stuck) offset = ms;
    },
    async read() {
      return { offsetMs: offset, resolutionMs: 1, via: 'fake' };
    },
  };
  return { clock, writes };
}

describe('clock fault', () => {
  it('drifts: the offset grows with the window and the heal steps it back to true time', async () => {
    const { clock, writes } = fakeClock();
    const outputs: string[] = [];
    const heal = await applyClockFault({ target: 'auditlog', drift: 0.5 }, clock, {
      pollMs: 10,
      onOutput: (_s, r) => outputs.push(r.output),
    });
    await sleep(1100);
    await heal();
    const before = writes.slice(0, -1);
    expect(before[0]).toBe(0);
    // Rewritten each tick, never backwards, about +550 ms after 1.1 s at 500 ms/s.
    expect(before.length).toBeGreaterThanOrEqual(4);
    for (let i = 1; i < before.length; i++) expect(before[i]).toBeGreaterThanOrEqual(before[i - 1] as number);
    expect(before.at(-1)).toBeGreaterThan(450);
    expect(before.at(-1)).toBeLessThan(900);
    expect(writes.at(-1)).toBe(0);
    expect(outputs[0]).toMatch(/drifting \+500ms\/s/);
  });

  it('a drift the target never shows is no effect: the heal fails and leaves true time', async () => {
    const { clock, writes } = fakeClock({ stuck: true });
    const heal = await applyClockFault({ target: 'auditlog', offset: -30_000, drift: 0.1 }, clock, {
      pollMs: 10,
      settleMs: 100,
    });
    await sleep(300);
    await expect(heal()).rejects.toThrow(/had no effect/);
    expect(writes[0]).toBe(-30_000);
    expect(writes.at(-1)).toBe(0);
  });

  it('reads drift from a scenario, and refuses a clock fault that moves nothing', () => {
    const yaml = (f: string) =>
      `version: 1\nname: c\ndescription: d\nworkload: { rate: 10, duration: 10s }\nfaults:\n  - { at: 1s, for: 2s, kind: clock, target: auditlog${f} }\n`;
    const s = parseScenario(yaml(', drift: +50ms/s'), 'c.yml');
    expect(s.faults[0]).toMatchObject({ kind: 'clock', drift: 0.05 });
    expect(parseScenario(yaml(', offset: -30s, drift: -2s/m'), 'c.yml').faults[0]).toMatchObject({
      offset: -30_000,
      drift: -2000 / 60_000,
    });
    const problem = (f: string) => {
      try {
        parseScenario(yaml(f), 'c.yml');
      } catch (e) {
        if (e instanceof ScenarioError) return e.problems.map((p) => p.message).join('; ');
        throw e;
      }
      return 'no problem';
    };
    expect(problem('')).toMatch(/needs an offset/);
    expect(problem(', drift: fast')).toMatch(/is not a drift/);
    expect(problem(', drift: 20s/s')).toMatch(/ten times/);
  });
});
