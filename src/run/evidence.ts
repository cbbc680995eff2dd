/**
 * What the imperative shell of a run gathers (src/run/shell.ts) and the one pure function that
 * decides from it (src/run/assemble.ts). Everything here is data: no handles, no promises.
 */
import type { FaultEffect } from '../chaos/fault-effect.ts';
import type { FaultRecord } from '../chaos/fault-log.ts';
import type { PhaseName } from '../report/events.ts';
import type { Report } from '../report/model.ts';
import type { LoadedScenario } from '../scenario/read.ts';
import type { RuntimeKind } from '../stack/types.ts';
import type { TamperRecord } from '../tamper/probes.ts';
import type { WorkloadResult } from '../workload/index.ts';
import type { VisibilityEvidence } from '../workload/visibility-reader.ts';
import type { ScanStepResult } from './scan-step.ts';

/** One sample of the service's health check (ms on the workload clock). */
export interface HealthSample {
  t: number;
  ok: boolean;
  detail?: string;
}

/** The log as it was before the workload: entries up to lastSeq are not this run's. */
export interface LogBaseline {
  entries: number;
  lastSeq?: number;
  lastHash?: string;
}

/**
 * The liveness evidence: after the last fault healed, when the health check answered and when a
 * write was acknowledged again (ms on the workload clock), within `limitMs`.
 */
export interface RecoveryEvidence {
  /** The time the last fault was healed; undefined when the scenario has no fault. */
  lastHealAt?: number;
  limitMs: number;
  /** First healthy answer at or after lastHealAt; undefined: never within the limit. */
  healthyAt?: number;
  /** The service has no health check to ask (only writes tell). */
  healthAbsent?: boolean;
  /** First acknowledged write sent at or after lastHealAt. */
  ackedAt?: number;
  /** What the last failed health check or write said. */
  lastError?: string;
}

/** Where a run stopped before its end, and why. */
export interface PhaseFailure {
  phase: PhaseName;
  error: unknown;
}

export interface RunEvidence {
  runId: string;
  loaded: Pick<LoadedScenario, 'scenario' | 'file'>;
  seed: number;
  runtime: { kind: RuntimeKind; why: string; versions: Record<string, string> };
  toolVersion: string;
  startedAt: Date;
  endedAt: Date;
  phases: Report['timings']['phases'];
  /** When the workload clock started, ms since the run started (fault and op times are on it). */
  workloadStartMs?: number;
  /** Set when Ctrl-C / SIGTERM cut the run short, with the phase it was in. */
  interrupted?: { signal: string; phase: PhaseName };
  /** The first error that stopped the run, with its phase. */
  failure?: PhaseFailure;
  /** Errors after the run's end that change nothing about the evidence (stack down, log collection). */
  teardownErrors: PhaseFailure[];
  baseline?: LogBaseline;
  workload?: WorkloadResult;
  faults: FaultRecord[];
  /** Faults that could not be applied or healed, with the error objects (for the exit code). */
  faultErrors: { id: string; stage: 'apply' | 'heal'; error: unknown }[];
  /** Per applied proxy fault (by id), what its proxy carried while it was active. */
  faultEffects: Record<string, FaultEffect>;
  health: HealthSample[];
  recovery?: RecoveryEvidence;
  /** Writes the recovery check sent after the workload (part of the ledger, not of availability). */
  recoveryOps: WorkloadResult['ops'];
  tamper: TamperRecord[];
  /** With workload.visibility: what the reader saw of the acknowledged events it followed. */
  visibility?: VisibilityEvidence;
  /** The scan that judges the run: before any tamper probe ran. */
  scan?: ScanStepResult;
  /** With tamper probes: the scan after them; its new findings are the probes' evidence. */
  scanAfterTamper?: ScanStepResult;
  /** Report files written besides the report itself (logs/, history.ndjson), relative. */
  files: string[];
  secrets: string[];
}
