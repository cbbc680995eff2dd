/** The fault plan: the scenario's faults expanded (repeats, seeded start jitter) into timed windows. Pure. */
import { seededRandom, streamOf, uniform } from '../random.ts';
import type { Fault } from '../scenario/schema.ts';

export interface PlannedFault {
  /** f1, f2, ... in scenario order; repeats are f1.1, f1.2, ... */
  id: string;
  fault: Fault;
  /** ms since the workload's start */
  at: number;
  for: number;
}

export function planFaults(faults: readonly Fault[], seed: number): PlannedFault[] {
  const rnd = seededRandom(seed, streamOf('faults'));
  const plan: PlannedFault[] = [];
  faults.forEach((fault, i) => {
    const count = fault.count ?? 1;
    for (let k = 0; k < count; k++) {
      const jitter = fault.startJitter ? Math.round(uniform(rnd) * fault.startJitter) : 0;
      plan.push({
        id: count > 1 ? `f${i + 1}.${k + 1}` : `f${i + 1}`,
        fault,
        at: fault.at + k * (fault.every ?? 0) + jitter,
        for: fault.for,
      });
    }
  });
  return plan.sort((a, b) => a.at - b.at || a.id.localeCompare(b.id));
}

/** What a fault aims at, for the fault log and the report: a proxy, the database or a service replica. */
export function faultTarget(f: Fault): string {
  switch (f.kind) {
    case 'db-down':
      return f.mode === 'proxy' ? `proxy:${f.proxy}` : 'database';
    case 'service-down':
      return f.replica === undefined ? 'service' : `service[${f.replica}]`;
    case 'down':
      return f.replica === undefined ? `service:${f.target}` : `service:${f.target}[${f.replica}]`;
    case 'clock':
      return `clock:${f.target}`;
    case 'packet':
      return `service:${f.target}`;
    case 'command':
      return `command:${f.start.length > 40 ? `${f.start.slice(0, 39)}…` : f.start}`;
    default:
      return `proxy:${f.proxy}`;
  }
}

/** The fault's own parameters (everything but timing), for the fault log. */
export function faultParams(f: Fault): Record<string, unknown> {
  const { at: _a, for: _f, every: _e, count: _c, startJitter: _s, kind: _k, ...rest } = f;
  return rest;
}
