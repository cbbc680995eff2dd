/**
 * Everything the run's shell reaches outside itself, as ports: the stack, the proxy API, the
 * writers, the health check, the log's head, the tamper runner, the scanner, the report writer,
 * the clock and the random seed. defaultPorts() is the one composition root; tests pass fakes
 * (test/unit/run/shell.test.ts) to drive every exit path in milliseconds.
 */
import { mkdir, rm, rmdir, writeFile } from 'node:fs/promises';
import { performance } from 'node:perf_hooks';
import type { CommandRunner, PendingHeals } from '../chaos/command-fault.ts';
import type { TrafficMeter } from '../chaos/proxy-metrics.ts';
import type { NetworkFaults } from '../chaos/toxiproxy-faults.ts';
import type { Report } from '../report/model.ts';
import type { LoadedScenario } from '../scenario/read.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { RuntimeName } from '../scenario/vocabulary.ts';
import type { RuntimeChoice, RuntimeSource } from '../stack/select.ts';
import type { RuntimeKind, Stack, StackEndpoints } from '../stack/types.ts';
import type { TamperContext, TamperRecord } from '../tamper/probes.ts';
import type { RunWorkloadOptions, WorkloadResult } from '../workload/index.ts';
import type { VisibilityProbe } from '../workload/visibility-reader.ts';
import type { LogBaseline } from './evidence.ts';
import type { ScanStepOptions, ScanStepResult } from './scan-step.ts';

/** One answer of the service's health check; `absent` when the stack names none. */
export type HealthAnswer = { ok: true } | { ok: false; detail: string } | { absent: true };

export interface RunPorts {
  /** Picks the runtime (auto: compose when Docker answers). */
  chooseRuntime(requested: RuntimeName, source?: RuntimeSource): Promise<RuntimeChoice>;
  createStack(
    choice: RuntimeChoice,
    opts: { runId: string; loaded: LoadedScenario; log: (line: string) => void },
  ): Stack;
  /** Checks what can be checked before anything starts (hash recipe, scan source); throws UsageError. */
  preflight(scenario: Scenario, scenarioDir: string): Promise<void>;
  network(toxiproxyUrl: string): NetworkFaults;
  /** The proxies' traffic counters (GET /metrics), read around each proxy fault. */
  traffic(toxiproxyUrl: string): TrafficMeter;
  /** Where the heals of `command` faults are written before they start (the run's state file). */
  pendingHeals(runId: string, runtime: RuntimeKind): PendingHeals;
  /** Runs a `command` fault's start or heal command in a shell. */
  runCommand: CommandRunner;
  runWorkload(opts: RunWorkloadOptions): Promise<WorkloadResult>;
  health(endpoints: StackEndpoints, signal: AbortSignal): Promise<HealthAnswer>;
  /**
   * The log's head before the workload, once the database answers; also checks that the scan's
   * mapping names columns that exist (UsageError) and that the log can be reached (EnvironmentError).
   */
  readBaseline(scenario: Scenario, scenarioDir: string, endpoints: StackEndpoints): Promise<LogBaseline>;
  runTamper(probes: Scenario['tamper'], ctx: TamperContext): Promise<TamperRecord[]>;
  scan(opts: ScanStepOptions): Promise<ScanStepResult>;
  writeReport(dir: string, report: Report, opts: { formats: string[]; secrets: string[] }): Promise<unknown>;
  files: {
    mkdir(dir: string): Promise<void>;
    writeFile(file: string, text: string): Promise<void>;
    /** Removes a report folder that holds nothing (a run stopped before it wrote anything). */
    removeIfEmpty(dir: string): Promise<void>;
    /** Removes a file if it is there. */
    remove(file: string): Promise<void>;
  };
  /** The read path the visibility reader asks (workload.visibility.via), on the given clock. */
  visibilityProbe(scenario: Scenario, endpoints: StackEndpoints, clock: () => number): VisibilityProbe;
  /** Monotonic ms. */
  clock(): number;
  now(): Date;
  /** A seed for a run whose scenario and flags name none. */
  randomSeed(): number;
}

export async function defaultPorts(env: NodeJS.ProcessEnv = process.env): Promise<RunPorts> {
  // Loaded here, not at the top: `auditchaos proxy` and `serve` children must not pay for them.
  const [
    factory,
    toxi,
    workload,
    probes,
    scanStep,
    write,
    baseline,
    health,
    preflight,
    metrics,
    faultState,
    command,
    state,
    visibility,
  ] = await Promise.all([
    import('../stack/factory.ts'),
    import('../chaos/toxiproxy-faults.ts'),
    import('../workload/index.ts'),
    import('../tamper/probes.ts'),
    import('./scan-step.ts'),
    import('../report/write.ts'),
    import('./baseline.ts'),
    import('./health.ts'),
    import('./preflight.ts'),
    import('../chaos/proxy-metrics.ts'),
    import('../stack/fault-state.ts'),
    import('../chaos/command-fault.ts'),
    import('../stack/state.ts'),
    import('../workload/visibility-probes.ts'),
  ]);
  return {
    chooseRuntime: (r, source) => factory.chooseRuntime(r, env, source),
    createStack: factory.createStack,
    preflight: preflight.preflight,
    network: (url) => new toxi.ToxiproxyFaults(url),
    traffic: (url) => new metrics.ToxiproxyMetrics(url),
    pendingHeals: (runId, runtime) => new faultState.FaultStateFile(runId, runtime, state.stateDir(env)),
    runCommand: command.runShellCommand,
    runWorkload: workload.runWorkload,
    health: health.checkHealth,
    readBaseline: baseline.readBaseline,
    runTamper: probes.runTamperProbes,
    scan: scanStep.scanStep,
    writeReport: (dir, report, opts) =>
      write.writeReport(dir, report, {
        formats: opts.formats as Scenario['report']['formats'],
        secrets: opts.secrets,
      }),
    files: {
      mkdir: async (dir) => {
        await mkdir(dir, { recursive: true });
      },
      writeFile: (file, text) => writeFile(file, text),
      removeIfEmpty: (dir) => rmdir(dir).catch(() => undefined),
      remove: (file) => rm(file, { force: true }),
    },
    visibilityProbe: (scenario, ep, clock) => visibility.probeFor(scenario, ep, clock),
    clock: () => performance.now(),
    now: () => new Date(),
    randomSeed: () => Math.floor(Math.random() * 2 ** 31),
  };
}
