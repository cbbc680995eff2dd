/**
 * One run, end to end (DESIGN.md, "The flow"): stack up, proxies, workload with the chaos timeline,
 * heal and settle, tamper probes, scan with canaries, verdict, report, stack down. Every exit path
 * (success, violation, exception, interrupt) heals faults, writes what it can, and takes the stack
 * down unless asked to keep it.
 */
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { applyFault } from '../chaos/apply.ts';
import { activeFaultsAt, type FaultRecord } from '../chaos/fault-log.ts';
import { planFaults } from '../chaos/plan.ts';
import { runTimeline } from '../chaos/timeline.ts';
import { ToxiproxyFaults } from '../chaos/toxiproxy-faults.ts';
import { AuditChaosError, ExitCode, InterruptedError } from '../errors.ts';
import type { RunEvent, RunSink } from '../report/events.ts';
import type { Report } from '../report/model.ts';
import { redactSecrets } from '../report/redact.ts';
import { FORMAT_FILES, reportDirName, writeReport } from '../report/write.ts';
import type { Finding, LedgerOp } from '../scan/types.ts';
import type { LoadedScenario } from '../scenario/read.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { RuntimeName } from '../scenario/vocabulary.ts';
import type { RuntimeChoice } from '../stack/select.ts';
import type { Stack, StackEndpoints } from '../stack/types.ts';
import { attributeTamper } from '../tamper/attribute.ts';
import { runTamperProbes, type TamperRecord } from '../tamper/probes.ts';
import { runWorkload, type SecondStats, type WorkloadResult } from '../workload/index.ts';
import { newRunId } from './run-id.ts';
import { type ScanStepResult, scanStep } from './scan-step.ts';
import { evaluate, type ThresholdResult } from './verdict.ts';

export const TOOL_VERSION = '0.1.0';

export interface RunDeps {
  /** Picks the runtime (auto: compose when Docker answers). */
  chooseRuntime(requested: RuntimeName): Promise<RuntimeChoice>;
  createStack(
    choice: RuntimeChoice,
    opts: { runId: string; loaded: LoadedScenario; log: (line: string) => void },
  ): Stack;
}

export interface RunOptions {
  loaded: LoadedScenario;
  seed?: number;
  runtime?: RuntimeName;
  /** The report folder; default <reportsRoot>/<scenario>-<UTC time>. */
  outDir?: string;
  reportsRoot: string;
  keepStack?: boolean;
  signal: AbortSignal;
  sink: RunSink;
  deps: RunDeps;
}

export interface RunOutcome {
  report: Report;
  reportDir: string;
  exitCode: ExitCode;
  /** Set with --keep-stack: where the stack that is still up can be reached. */
  keptStack?: StackEndpoints & { runId: string; kind: string };
}

const SETTLE_TIMEOUT_MS = 30_000;

export async function runScenario(opts: RunOptions): Promise<RunOutcome> {
  const { loaded, signal, sink, deps } = opts;
  const scenario = loaded.scenario;
  const started = new Date();
  const tRun = performance.now();
  const at = () => Math.round(performance.now() - tRun);
  const emit = (e: RunEvent) => sink.handle(e);
  const seed = opts.seed ?? scenario.seed ?? Math.floor(Math.random() * 2 ** 31);
  const runId = newRunId(scenario.name, started);
  const reportDir = opts.outDir
    ? path.resolve(opts.outDir)
    : unusedDir(path.resolve(opts.reportsRoot, reportDirName(scenario.name, started)));
  const phases: Report['timings']['phases'] = [];
  let workloadT0 = 0; // run-clock time at which the workload clock starts
  const phase = (name: Parameters<typeof emitPhase>[0], detail?: string) => emitPhase(name, detail);
  function emitPhase(
    name: RunEvent extends infer E
      ? E extends { type: 'phase-changed'; phase: infer P }
        ? P
        : never
      : never,
    detail?: string,
  ) {
    const now = at() - workloadT0;
    const last = phases[phases.length - 1];
    if (last && last.endMs === last.startMs) last.endMs = now;
    phases.push({ name, startMs: now, endMs: now });
    emit({ type: 'phase-changed', at: at(), phase: name, detail });
  }
  const closePhase = () => {
    const last = phases[phases.length - 1];
    if (last) last.endMs = at() - workloadT0;
  };
  const log = (message: string, level: 'info' | 'warn' = 'info') =>
    emit({ type: 'log', at: at(), level, message });

  const choice = await deps.chooseRuntime(opts.runtime ?? scenario.stack.runtime);
  emit({
    type: 'run-started',
    at: 0,
    runId,
    scenario: scenario.name,
    seed,
    workloadMs: scenario.workload.duration,
    runtime: choice.kind,
  });
  log(`runtime ${choice.kind}: ${choice.why}`);
  const stack = deps.createStack(choice, { runId, loaded, log: (l) => log(l) });
  const secrets = (): string[] => [...(stack.secrets ?? [])];

  let endpoints: StackEndpoints | undefined;
  let workload: WorkloadResult | undefined;
  let faults: FaultRecord[] = [];
  let tamper: TamperRecord[] = [];
  let scan: ScanStepResult | undefined;
  let interrupted = false;
  let failure: unknown;
  await mkdir(reportDir, { recursive: true });
  const files: string[] = [];

  try {
    phase('stack-up', choice.kind);
    endpoints = await stack.up(signal);
    closePhase();
    signal.throwIfAborted();

    phase('proxies');
    const network = new ToxiproxyFaults(endpoints.toxiproxyUrl);
    await network.reset();
    closePhase();

    // The workload and the fault timeline share one clock, started together.
    workloadT0 = at();
    for (const p of phases) {
      p.startMs -= workloadT0;
      p.endMs -= workloadT0;
    }
    const t0 = performance.now();
    const clock = () => performance.now() - t0;
    phase('workload');
    const plan = planFaults(scenario.faults, seed);
    const runAbort = new AbortController();
    // Every writer and request listens to it: hundreds of listeners are expected, not a leak.
    setMaxListeners(0, runAbort.signal);
    const onAbort = () => runAbort.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const totals = { attempted: 0, ok: 0, fail: 0, indeterminate: 0 };
    try {
      const [w, f] = await Promise.all([
        runWorkload({
          spec: scenario.workload,
          target: endpoints.serviceUrl,
          seed,
          clock,
          signal: runAbort.signal,
          onSecond: (s) => {
            totals.attempted += s.ok + s.errors + s.indeterminate;
            totals.ok += s.ok;
            totals.fail += s.errors;
            totals.indeterminate += s.indeterminate;
            emit({ type: 'stats', at: at(), ...seriesPoint(s), totals: { ...totals } });
          },
        }),
        runTimeline({
          plan,
          clock,
          signal: runAbort.signal,
          apply: (p) => applyFault(p.fault, p.id, { network, stack }),
          onApplied: (r) =>
            emit({
              type: 'fault-applied',
              at: at(),
              fault: { id: r.id, kind: r.kind, target: r.target, plannedFor: r.plannedFor },
            }),
          onHealed: (r) => emit({ type: 'fault-healed', at: at(), faultId: r.id, error: r.error }),
          onError: (r) => log(`fault ${r.id} (${r.kind} ${r.target}): ${r.error}`, 'warn'),
        }),
      ]);
      workload = w;
      faults = f;
    } finally {
      signal.removeEventListener('abort', onAbort);
    }
    signal.throwIfAborted();

    phase('heal');
    await network.reset();
    phase('settle');
    await waitHealthy(endpoints.serviceDirectUrl ?? endpoints.serviceUrl, SETTLE_TIMEOUT_MS, signal).catch(
      (e: Error) => log(`the service did not report healthy after the faults: ${e.message}`, 'warn'),
    );
    signal.throwIfAborted();

    phase('tamper');
    const acked = workload.ops.filter((o) => o.outcome === 'ok');
    const mapping = scenario.scan.mapping;
    const source = scenario.scan.source;
    tamper = await runTamperProbes(scenario.tamper, {
      databaseUrl: source.kind === 'postgres' ? (source.url ?? endpoints.databaseUrl) : endpoints.databaseUrl,
      serviceUrl: endpoints.serviceDirectUrl ?? endpoints.serviceUrl,
      table: source.kind === 'postgres' ? source.table : 'audit_log',
      seqColumn: mapping.seq,
      eventIdColumn: mapping.eventId,
      vars: tamperVars(acked),
    });
    for (const p of tamper) emit({ type: 'tamper-probed', at: at(), probe: toReportTamper(p) });
    signal.throwIfAborted();

    phase('scan');
    scan = await scanStep({
      scenario,
      scenarioDir: loaded.dir,
      endpoints,
      ledger: workload.ops,
      checkpoints: workload.checkpoints,
      seed,
      signal,
      onProgress: (entries) => emit({ type: 'scan-progress', at: at(), entries }),
    });
    closePhase();
  } catch (e) {
    if (signal.aborted || e instanceof InterruptedError) {
      interrupted = true;
      emit({
        type: 'interrupted',
        at: at(),
        signal:
          signal.reason instanceof InterruptedError
            ? signal.reason.message.replace(/^interrupted by /, '')
            : 'SIGINT',
      });
    } else {
      failure = e;
      log(`run failed: ${describeFailure(e)}`, 'warn');
    }
  }

  // Whatever happened: logs, report, and the stack down.
  try {
    const logDir = path.join(reportDir, 'logs');
    await mkdir(logDir, { recursive: true });
    files.push(...(await stack.collectLogs(logDir)).map((f) => path.relative(reportDir, f)));
  } catch (e) {
    log(`could not collect the stack's logs: ${(e as Error).message}`, 'warn');
  }
  let keptStack: RunOutcome['keptStack'];
  if (opts.keepStack && endpoints && !failure && !interrupted) {
    keptStack = { ...endpoints, runId, kind: stack.kind };
    await stack.detach?.();
  } else {
    phase('stack-down');
    try {
      await stack.down();
    } catch (e) {
      log(`stack down: ${(e as Error).message}`, 'warn');
      failure ??= e;
    }
    closePhase();
  }

  if (workload) {
    const history = workload.ops.map((o) => JSON.stringify(o)).join('\n');
    await writeFile(
      path.join(reportDir, 'history.ndjson'),
      redactSecrets(history ? `${history}\n` : '', secrets()),
    );
    files.push('history.ndjson');
  }

  const { findings, probes } = attributeTamper(
    tamper,
    withFaultEvidence(scan?.findings ?? [], workload?.ops ?? [], faults),
  );
  const checksNotRun = scan
    ? scan.checksRun
        .filter((c) => !c.ran && c.required)
        .map((c) => ({ name: c.name, reason: c.reason ?? 'unknown' }))
    : [];
  const { thresholds, verdict } = evaluate({
    expect: scenario.expect,
    findings,
    ops: { attempted: workload?.counts.attempted ?? 0, ok: workload?.counts.ok ?? 0 },
    latency:
      workload && workload.latency.count > 0
        ? { p50: workload.latency.p50, p99: workload.latency.p99, max: workload.latency.max }
        : undefined,
    canaries: scan?.canaries,
    tamper: probes,
    checksNotRun,
    scanError: scan?.error,
    runError: failure && !scan ? describeFailure(failure) : undefined,
    interrupted,
  });

  const ended = new Date();
  const report: Report = {
    schemaVersion: 1,
    tool: { name: 'auditchaos', version: TOOL_VERSION },
    runId,
    scenario: {
      name: scenario.name,
      description: scenario.description,
      file: loaded.file,
      asRun: scenario as unknown as Record<string, unknown>,
    },
    seed,
    runtime: { kind: choice.kind, why: choice.why, versions: { node: process.version } },
    timings: {
      startedAt: started.toISOString(),
      endedAt: ended.toISOString(),
      durationMs: ended.getTime() - started.getTime(),
      phases,
    },
    interrupted,
    ops: {
      attempted: workload?.counts.attempted ?? 0,
      ok: workload?.counts.ok ?? 0,
      fail: workload?.counts.fail ?? 0,
      indeterminate: workload?.counts.indeterminate ?? 0,
      availability: workload && workload.counts.attempted > 0 ? workload.availability : null,
    },
    latency:
      workload && workload.latency.count > 0
        ? {
            p50: workload.latency.p50,
            p90: workload.latency.p90,
            p99: workload.latency.p99,
            max: workload.latency.max,
          }
        : { p50: null, p90: null, p99: null, max: null },
    series: (workload?.series ?? []).map(seriesPoint),
    faults,
    tamper: probes.map(toReportTamper),
    checkpoints: {
      count: workload?.checkpoints?.checkpoints.length ?? 0,
      verified: scan?.checkpointsVerified ?? 0,
      ...(workload?.checkpoints?.publicKey ? { publicKey: workload.checkpoints.publicKey } : {}),
    },
    scan: scan
      ? {
          source: scan.source,
          entries: scan.entries,
          checksRun: scan.checksRun.map(({ name, ran, reason }) =>
            reason ? { name, ran, reason } : { name, ran },
          ),
          durationMs: scan.durationMs,
        }
      : null,
    findings,
    canaries: scan?.canaries
      ? { planted: scan.canaries.planted, caught: scan.canaries.caught, missed: scan.canaries.missed }
      : null,
    // Canaries have their own section in the report; the verdict already accounts for them.
    thresholds: thresholds.filter((t) => t.name !== 'canaries').map(toReportThreshold),
    verdict:
      failure && verdict.status === 'pass'
        ? { status: 'unknown', reasons: [`the run failed: ${(failure as Error).message}`] }
        : verdict,
    files: [
      ...new Set([...files, ...['json' as const, ...scenario.report.formats].map((f) => FORMAT_FILES[f])]),
    ].sort(),
  };
  phase('report');
  await writeReport(reportDir, report, { formats: scenario.report.formats, secrets: secrets() });
  closePhase();
  const exitCode = interrupted
    ? ExitCode.interrupted
    : failure instanceof AuditChaosError && !workload
      ? failure.exitCode
      : report.verdict.status === 'pass'
        ? ExitCode.ok
        : report.verdict.status === 'fail'
          ? ExitCode.violation
          : ExitCode.inconclusive;
  emit({ type: 'run-finished', at: at(), report, reportDir, exitCode });
  if (failure && !workload && !(failure instanceof AuditChaosError)) throw failure;
  return { report, reportDir, exitCode, keptStack };
}

/** The same scenario twice within a second must not share (and overwrite) a report folder. */
function unusedDir(dir: string): string {
  let candidate = dir;
  for (let n = 2; existsSync(candidate); n++) candidate = `${dir}-${n}`;
  return candidate;
}

/** The error and, for errors of ours, what to do about it: the report is where a user looks. */
function describeFailure(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  return e instanceof AuditChaosError && e.hint ? `${message} (what to do: ${e.hint})` : message;
}

/** One second of the workload as the report and the live view keep it. */
function seriesPoint(s: SecondStats): Report['series'][number] {
  return { t: s.t, ok: s.ok, errors: s.errors, indeterminate: s.indeterminate, p50: s.p50, p99: s.p99 };
}

function tamperVars(acked: LedgerOp[]): Record<string, string> {
  const bySeq = acked
    .filter((o) => o.seq !== undefined)
    .sort((a, b) => (a.seq as number) - (b.seq as number));
  const first = bySeq[0] ?? acked[0];
  const last = bySeq[bySeq.length - 1] ?? acked[acked.length - 1];
  const vars: Record<string, string> = {};
  if (first) vars.first = first.eventId;
  if (last) vars.last = last.eventId;
  if (first?.seq !== undefined) vars.firstSeq = String(first.seq);
  if (last?.seq !== undefined) vars.lastSeq = String(last.seq);
  return vars;
}

function toReportTamper(p: TamperRecord): Report['tamper'][number] {
  const { name, via, request, outcome, detail, detection } = p;
  return detection
    ? { name, via, request, outcome, detail, detection }
    : { name, via, request, outcome, detail };
}

function toReportThreshold(t: ThresholdResult): Report['thresholds'][number] {
  return { name: t.name, expected: t.expected, actual: t.actual, pass: t.pass };
}

/** Adds the faults that were active when each affected op ran, as evidence. */
function withFaultEvidence(findings: Finding[], ops: LedgerOp[], faults: FaultRecord[]): Finding[] {
  if (!faults.length) return findings;
  const byId = new Map(ops.map((o) => [o.eventId, o]));
  return findings.map((f) => {
    const op = f.eventId ? byId.get(f.eventId) : undefined;
    if (!op) return f;
    const active = [
      ...new Set([...activeFaultsAt(faults, op.invokedAt), ...activeFaultsAt(faults, op.completedAt)]),
    ];
    return { ...f, detail: { ...f.detail, activeFaults: active, opWindow: [op.invokedAt, op.completedAt] } };
  });
}

async function waitHealthy(url: string, timeoutMs: number, signal: AbortSignal): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline && !signal.aborted) {
    try {
      const r = await fetch(new URL('/health', url), { signal: AbortSignal.timeout(2000) });
      await r.body?.cancel();
      if (r.ok) return;
      last = `HTTP ${r.status}`;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(last || 'timed out');
}

export type { Scenario };
