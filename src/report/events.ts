/**
 * The events of a run, as one discriminated union. `run` emits them; the TTY live view, the
 * plain CI log and the JSON-lines output are three sinks rendering the same stream
 * (src/report/terminal/). `at` is ms since the run started (stack-up included).
 */
import type { FaultRecord, Report, ReportFinding, TamperRecord } from './model.ts';

export type PhaseName =
  | 'stack-up'
  | 'proxies'
  | 'baseline'
  | 'workload'
  | 'heal'
  | 'recovery'
  | 'visibility'
  | 'tamper'
  | 'scan'
  | 'report'
  | 'stack-down';

export type RunEvent =
  | {
      type: 'run-started';
      at: number;
      runId: string;
      scenario: string;
      seed: number;
      /** Planned workload duration, ms: the denominator of the progress bar. */
      workloadMs: number;
      runtime?: string;
    }
  | { type: 'phase-changed'; at: number; phase: PhaseName; detail?: string }
  | {
      type: 'stats';
      at: number;
      /** Second of the workload this sample closes (the series point's t). */
      t: number;
      /** This second: acknowledged, failed, indeterminate writes and latency. */
      ok: number;
      errors: number;
      indeterminate: number;
      p50: number | null;
      p99: number | null;
      /** Running totals since the workload started. */
      totals: { attempted: number; ok: number; fail: number; indeterminate: number };
    }
  | {
      type: 'fault-applied';
      at: number;
      fault: Pick<FaultRecord, 'id' | 'kind' | 'target' | 'plannedFor'>;
      error?: string;
    }
  | { type: 'fault-healed'; at: number; faultId: string; error?: string }
  | { type: 'tamper-probed'; at: number; probe: TamperRecord }
  | { type: 'scan-progress'; at: number; entries: number; total?: number }
  | { type: 'finding'; at: number; finding: ReportFinding }
  | { type: 'log'; at: number; level: 'info' | 'warn'; message: string }
  | { type: 'interrupted'; at: number; signal: string }
  | {
      type: 'run-finished';
      at: number;
      report: Report;
      /** The report folder, as the user should open it. */
      reportDir: string;
      exitCode: number;
    };

export type RunEventType = RunEvent['type'];

/** Where run events go. `close` stops timers and leaves the terminal clean (cursor shown). */
export interface RunSink {
  handle(event: RunEvent): void;
  close(): void;
}

/** Fans events out to several sinks (e.g. the live view and a JSON-lines file). */
export function teeSinks(...sinks: RunSink[]): RunSink {
  return {
    handle: (ev) => {
      for (const s of sinks) s.handle(ev);
    },
    close: () => {
      for (const s of sinks) s.close();
    },
  };
}
