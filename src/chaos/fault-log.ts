/** One line of the fault log: what was planned, and when it really started and ended. */
export interface FaultRecord {
  id: string;
  kind: string;
  target: string;
  params: Record<string, unknown>;
  plannedAt: number;
  plannedFor: number;
  /** ms since the workload's start; absent when it never started */
  startedAt?: number;
  endedAt?: number;
  error?: string;
  /** Set when it started late because an earlier fault on its target had not healed yet. */
  waitedFor?: string;
  /** `command` faults: what the start and heal commands printed (cut). */
  output?: { start?: string; heal?: string };
}

/** The faults active at time t (ms since start), for evidence on findings. */
export function activeFaultsAt(log: readonly FaultRecord[], t: number): string[] {
  return log
    .filter(
      (f) => f.startedAt !== undefined && f.startedAt <= t && (f.endedAt ?? Number.POSITIVE_INFINITY) >= t,
    )
    .map((f) => `${f.id} ${f.kind} ${f.target}`);
}
