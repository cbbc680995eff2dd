/**
 * Executes the fault plan against the clock: each fault applied at its offset and healed after
 * its duration, actual times recorded. Every active fault is healed on abort and at the end.
 *
 * Faults the plan puts one after the other on the same target stay in that order: a fault waits
 * until every earlier fault on its target that was planned to end before it has healed. A slow
 * heal (a database's crash recovery under load) would otherwise be cut short by the next fault,
 * and the run would report that the first fault failed to heal when the plan was the cause.
 */
import { causeNotInMessage } from '../errors.ts';
import { sleep, waitFor } from '../sleep.ts';
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

function formatLate(ms: number): string {
  return ms < 1000 ? `${Math.round(ms)} ms` : `${(ms / 1000).toFixed(1)} s`;
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
  // runs[j] settles once fault j has healed (or failed, or given up on abort); healed holds those.
  const healed = new Set<number>();
  let runs: Promise<void>[] = [];
  const before = (p: PlannedFault) =>
    plan.flatMap((q, j) =>
      q !== p && faultTarget(q.fault) === faultTarget(p.fault) && q.at + q.for <= p.at ? [j] : [],
    );
  const runOne = async (p: PlannedFault, r: FaultRecord) => {
    await sleepUntil(clock, p.at, signal);
    if (signal?.aborted) return;
    const waits = before(p);
    const pending = waits.filter((j) => !healed.has(j));
    if (pending.length > 0) {
      await waitFor(Promise.all(pending.map((j) => runs[j])), signal);
      if (signal?.aborted) return;
      const late = clock() - p.at;
      if (late >= 1)
        r.waitedFor = `started ${formatLate(late)} late: ${pending.map((j) => plan[j]?.id).join(', ')} on ${r.target} had not healed yet`;
    }
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
  // runOne reads runs only after its first await, when every run exists.
  runs = plan.map((p, i) =>
    runOne(p, records[i] as FaultRecord).finally(() => {
      healed.add(i);
    }),
  );
  await Promise.all(runs);
  return records;
}
