/** Folds run events into what a terminal shows: phase, progress, rates, active faults. */
import type { PhaseName, RunEvent } from '../events.ts';

export interface ActiveFault {
  id: string;
  kind: string;
  target: string;
  since: number;
  plannedFor: number;
}

export interface RunState {
  scenario?: string;
  runId?: string;
  seed?: number;
  workloadMs: number;
  phase?: PhaseName;
  phaseDetail?: string;
  phaseAt: number;
  workloadStartAt?: number;
  workloadEndAt?: number;
  lastAt: number;
  lastStats?: Extract<RunEvent, { type: 'stats' }>;
  faults: Map<string, ActiveFault>;
  findings: Map<string, number>;
  scanEntries?: number;
  scanTotal?: number;
  interrupted?: string;
}

export function initialState(): RunState {
  return { workloadMs: 0, phaseAt: 0, lastAt: 0, faults: new Map(), findings: new Map() };
}

export function reduce(s: RunState, ev: RunEvent): RunState {
  s.lastAt = Math.max(s.lastAt, ev.at);
  switch (ev.type) {
    case 'run-started':
      s.scenario = ev.scenario;
      s.runId = ev.runId;
      s.seed = ev.seed;
      s.workloadMs = ev.workloadMs;
      break;
    case 'phase-changed':
      if (s.phase === 'workload' && ev.phase !== 'workload') s.workloadEndAt = ev.at;
      s.phase = ev.phase;
      s.phaseDetail = ev.detail;
      s.phaseAt = ev.at;
      if (ev.phase === 'workload') s.workloadStartAt = ev.at;
      break;
    case 'stats':
      s.lastStats = ev;
      break;
    case 'fault-applied':
      if (ev.error === undefined)
        s.faults.set(ev.fault.id, {
          id: ev.fault.id,
          kind: ev.fault.kind,
          target: ev.fault.target,
          since: ev.at,
          plannedFor: ev.fault.plannedFor,
        });
      break;
    case 'fault-healed':
      s.faults.delete(ev.faultId);
      break;
    case 'scan-progress':
      s.scanEntries = ev.entries;
      s.scanTotal = ev.total;
      break;
    case 'finding':
      s.findings.set(ev.finding.kind, (s.findings.get(ev.finding.kind) ?? 0) + 1);
      break;
    case 'interrupted':
      s.interrupted = ev.signal;
      break;
    default:
      break;
  }
  return s;
}

/** How far the workload is, 0..1, at time `at` (ms since the run started). */
export function workloadProgress(s: RunState, at: number): { elapsed: number; fraction: number } {
  if (s.workloadStartAt === undefined || s.workloadMs <= 0) return { elapsed: 0, fraction: 0 };
  const end = s.workloadEndAt ?? at;
  const elapsed = Math.max(0, Math.min(s.workloadMs, end - s.workloadStartAt));
  return { elapsed, fraction: elapsed / s.workloadMs };
}
