/**
 * Executes the fault plan against the clock: each fault applied at its offset and healed after
 * its duration, actual times recorded. Every active fault is healed on abort and at the end.
 */
import { causeNotInMessage } from '../errors.ts';
import { sleep } from '../sleep.ts';
import type { FaultRecord } from './fault-log.ts';
import { faultParams, faultTarget, type PlannedFault } from './plan.ts';
import type { Heal } from './toxiproxy-faults.ts';

export interface TimelineEvents {
  onApplied?: (r: FaultRecord) => void;
  onHealed?: (r: FaultRecord) => void;
  onError?: (r: FaultRecord, e: unknown) => void;
}

export interface TimelineOptions extends TimelineEvents {
  plan: readonly PlannedFault[];
  apply: (p: PlannedFault) => Promise<Heal>;
  /** ms since the workload's start */
  clock: () => number;
  signal?: AbortSignal;
}

const sleepUntil = (clock: () => number, t: number, signal?: AbortSignal) => sleep(t - clock(), signal);

function errorText(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  const cause = causeNotInMessage(e);
  return cause === undefined ? msg : `${msg}: ${cause}`;
}

export async function runTimeline(opts: TimelineOptions): Promise<FaultRecord[]> {
  const { plan, apply, clock, signal } = opts;
  const records = plan.map<FaultRecord>((p) => ({
    id: p.id,
    kind: p.fault.kind,
    target: faultTarget(p.fault),
    params: faultParams(p.fault),
    plannedAt: p.at,
    plannedFor: p.for,
  }));
  const runOne = async (p: PlannedFault, r: FaultRecord) => {
    await sleepUntil(clock, p.at, signal);
    if (signal?.aborted) return;
    let heal: Heal;
    try {
      heal = await apply(p);
      r.startedAt = clock();
      opts.onApplied?.(r);
    } catch (e) {
      r.error = `apply failed: ${errorText(e)}`;
      opts.onError?.(r, e);
      return;
    }
    await sleepUntil(clock, (r.startedAt ?? p.at) + p.for, signal);
    try {
      await heal();
    } catch (e) {
      r.error = `heal failed: ${errorText(e)}`;
      opts.onError?.(r, e);
    }
    r.endedAt = clock();
    opts.onHealed?.(r);
  };
  await Promise.all(plan.map((p, i) => runOne(p, records[i] as FaultRecord)));
  return records;
}
