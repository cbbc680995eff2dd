/**
 * One run's imperative shell (plan/apply's "apply"): it walks the phases — stack up, proxies, the
 * log's head, workload with the fault timeline and health samples, heal, recovery, scan, tamper
 * probes and the scan after them — and only gathers evidence through its ports. Whatever happens
 * (success, violation, exception, interrupt), it heals, takes the stack down unless asked to keep
 * it, and hands the evidence to assemble(), the one function that decides report, verdict and exit
 * code. Stages are in DESIGN.md, "The run pipeline".
 */
import { setMaxListeners } from 'node:events';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { applyFault } from '../chaos/apply.ts';
import type { CommandResult } from '../chaos/command-fault.ts';
import { effectBetween, proxyOfFault } from '../chaos/fault-effect.ts';
import { type PlannedFault, planFaults } from '../chaos/plan.ts';
import { runTimeline } from '../chaos/timeline.ts';
import type { Heal, NetworkFaults } from '../chaos/toxiproxy-faults.ts';
import { type ExitCode, InterruptedError } from '../errors.ts';
import type { PhaseName, RunEvent, RunSink } from '../report/events.ts';
import {
  CHECKPOINTS_FILE,
  checkpointsFileText,
  HISTORY_FILE,
  INCOMPLETE_FILE,
  LOG_FILE,
} from '../report/evidence-files.ts';
import type { Report } from '../report/model.ts';
import { redactSecrets } from '../report/redact.ts';
import { reportDirName } from '../report/write.ts';
import { scanSourceUrl } from '../scan/source-url.ts';
import type { LedgerOp } from '../scan/types.ts';
import type { LoadedScenario } from '../scenario/read.ts';
import type { RuntimeName } from '../scenario/vocabulary.ts';
import { sleep } from '../sleep.ts';
import type { Stack, StackEndpoints } from '../stack/types.ts';
import type { WorkloadResult } from '../workload/index.ts';
import { startVisibilityReader, type VisibilityReader } from '../workload/visibility-reader.ts';
import { assemble, describeFailure } from './assemble.ts';
import type { HealthSample, RecoveryEvidence, RunEvidence } from './evidence.ts';
import { defaultPorts, type RunPorts } from './ports.ts';
import { newRunId } from './run-id.ts';

export const TOOL_VERSION = '0.1.0';

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
  /** Ports to use instead of the real parts (defaultPorts()); tests pass fakes. */
  ports?: Partial<RunPorts>;
}

export interface RunOutcome {
  report: Report;
  reportDir: string;
  exitCode: ExitCode;
  /** The error that stopped the run, when one did (the CLI prints a bug's stack). */
  failure?: unknown;
  /** Set with --keep-stack: where the stack that is still up can be reached. */
  keptStack?: StackEndpoints & { runId: string; kind: string };
}

/** How often the health check is asked during the workload and while waiting for recovery. */
const HEALTH_EVERY_MS = 500;
const RECOVERY_POLL_MS = 250;

/** Checks a scenario before anything starts (hash recipe, scan source): exit 2 on a bad setting. */
export async function preflightRun(loaded: LoadedScenario, ports?: Partial<RunPorts>): Promise<void> {
  const preflight = ports?.preflight ?? (await defaultPorts()).preflight;
  await preflight(loaded.scenario, loaded.dir);
}

export async function runScenario(opts: RunOptions): Promise<RunOutcome> {
  const ports: RunPorts = { ...(await defaultPorts()), ...opts.ports };
  const { loaded, signal, sink } = opts;
  const scenario = loaded.scenario;
  // A bad setting stops here, before a report folder or a stack exists.
  await ports.preflight(scenario, loaded.dir);

  const startedAt = ports.now();
  const tRun = ports.clock();
  const at = () => Math.round(ports.clock() - tRun);
  const emit = (e: RunEvent) => sink.handle(e);
  const log = (message: string, level: 'info' | 'warn' = 'info') =>
    emit({ type: 'log', at: at(), level, message });
  const seed = opts.seed ?? scenario.seed ?? ports.randomSeed();
  const runId = newRunId(scenario.name, startedAt);
  const reportDir = opts.outDir
    ? path.resolve(opts.outDir)
    : unusedDir(path.resolve(opts.reportsRoot, reportDirName(scenario.name, startedAt)));

  const ev: RunEvidence = {
    runId,
    loaded: { scenario, file: loaded.file },
    seed,
    runtime: { kind: 'local', why: '', versions: { node: process.version } },
    toolVersion: TOOL_VERSION,
    startedAt,
    endedAt: startedAt,
    phases: [],
    teardownErrors: [],
    faults: [],
    faultErrors: [],
    faultEffects: {},
    health: [],
    recoveryOps: [],
    tamper: [],
    files: [],
    secrets: [],
  };

  // Phases are kept on the run's clock (ms since it started): a start and a length, never negative.
  let current: PhaseName = 'stack-up';
  let phaseOpen = false;
  const closePhase = () => {
    const last = ev.phases[ev.phases.length - 1];
    if (last && phaseOpen) last.durationMs = Math.max(0, at() - last.startMs);
    phaseOpen = false;
  };
  const phase = (name: PhaseName, detail?: string) => {
    closePhase();
    ev.phases.push({ name, startMs: Math.max(0, at()), durationMs: 0 });
    phaseOpen = true;
    current = name;
    emit({ type: 'phase-changed', at: at(), phase: name, detail });
  };

  let stack: Stack | undefined;
  let endpoints: StackEndpoints | undefined;
  let wclock = () => ports.clock() - tRun; // replaced by the workload clock once it starts
  let clockEpochMs: number | undefined; // the workload clock's 0 on the wall clock (clock checks)
  const ledger = (): LedgerOp[] => [...(ev.workload?.ops ?? []), ...ev.recoveryOps];
  // workload.visibility: follows acked events from the workload's start until just before the scan.
  let reader: VisibilityReader | undefined;
  const finishReader = async (stop: AbortSignal) => {
    const r = reader;
    reader = undefined;
    if (r) ev.visibility = await r.finish(lastAck(ledger()), stop);
  };

  try {
    const choice = await ports.chooseRuntime(
      opts.runtime ?? scenario.stack.runtime,
      opts.runtime ? 'flag' : 'scenario',
    );
    ev.runtime = { kind: choice.kind, why: choice.why, versions: { node: process.version } };
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
    await ports.files.mkdir(reportDir);
    // A run killed before its report (SIGKILL, power loss) leaves a folder that says so.
    await ports.files.writeFile(path.join(reportDir, INCOMPLETE_FILE), incompleteNote(runId, startedAt));
    stack = ports.createStack(choice, { runId, loaded, log: (l) => log(l) });
    const st = stack;
    ev.secrets = [...(st.secrets ?? []), ...(scanSourceUrl(scenario.scan.source)?.values ?? [])];

    phase('stack-up', choice.kind);
    endpoints = await st.up(signal);
    ev.secrets = [...(st.secrets ?? []), ...(scanSourceUrl(scenario.scan.source)?.values ?? [])];
    const ep = endpoints;
    closePhase();
    signal.throwIfAborted();

    phase('proxies');
    const network = ports.network(ep.toxiproxyUrl);
    await network.reset();
    closePhase();

    phase('baseline');
    ev.baseline = await ports.readBaseline(scenario, loaded.dir, ep);
    if (ev.baseline.entries > 0)
      log(
        `the log already holds ${ev.baseline.entries} entries (up to seq ${ev.baseline.lastSeq ?? '?'}): they are verified, and shown apart`,
      );
    closePhase();
    signal.throwIfAborted();

    // The workload, the fault timeline and the health samples share one clock, started together.
    ev.workloadStartMs = Math.max(0, at());
    const w0 = ports.clock();
    clockEpochMs = startedAt.getTime() + (w0 - tRun);
    wclock = () => ports.clock() - w0;
    phase('workload');
    await workloadPhase(ep, network, st);
    signal.throwIfAborted();

    phase('heal');
    await network.reset();
    closePhase();

    phase('recovery');
    ev.recovery = await waitForRecovery(ep);
    closePhase();
    signal.throwIfAborted();

    if (reader) {
      phase('visibility', 'waiting for the followed events to become readable');
      await finishReader(signal);
      closePhase();
      signal.throwIfAborted();
    }

    phase('scan');
    ev.scan = await ports.scan({
      scenario,
      scenarioDir: loaded.dir,
      endpoints: ep,
      ledger: ledger(),
      checkpoints: ev.workload?.checkpoints,
      seed,
      ...(ev.baseline.lastSeq !== undefined ? { before: { lastSeq: ev.baseline.lastSeq } } : {}),
      keepKeys: scenario.tamper.length > 0,
      ...(clockEpochMs !== undefined ? { clockEpochMs } : {}),
      saveLogTo: path.join(reportDir, LOG_FILE),
      signal,
      onProgress: (entries) => emit({ type: 'scan-progress', at: at(), entries }),
    });
    if (ev.scan.savedLog) ev.files.push(path.relative(reportDir, ev.scan.savedLog));
    closePhase();
    signal.throwIfAborted();

    if (scenario.tamper.length > 0 && ev.scan.error === undefined) {
      phase('tamper');
      const mapping = scenario.scan.mapping;
      const source = scenario.scan.source;
      ev.tamper = await ports.runTamper(scenario.tamper, {
        databaseUrl:
          source.kind === 'postgres' ? (scanSourceUrl(source)?.url ?? ep.databaseUrl) : ep.databaseUrl,
        serviceUrl: ep.serviceDirectUrl ?? ep.serviceUrl,
        table: source.kind === 'postgres' ? source.table : 'audit_log',
        seqColumn: mapping.seq,
        eventIdColumn: mapping.eventId,
        vars: tamperVars(ledger().filter((o) => o.outcome === 'ok')),
      });
      closePhase();
      signal.throwIfAborted();
      if (ev.tamper.some((p) => p.outcome === 'accepted' || p.outcome === 'appended')) {
        phase('scan', 'after the tamper probes');
        ev.scanAfterTamper = await ports
          .scan({
            scenario,
            scenarioDir: loaded.dir,
            endpoints: ep,
            ledger: ledger(),
            checkpoints: ev.workload?.checkpoints,
            seed,
            ...(ev.baseline.lastSeq !== undefined ? { before: { lastSeq: ev.baseline.lastSeq } } : {}),
            ...(ev.scan.keys ? { against: ev.scan.keys } : {}),
            ...(clockEpochMs !== undefined ? { clockEpochMs } : {}),
            canaries: false,
            signal,
          })
          .catch((e: unknown) => {
            // A probe that destroyed the table makes the second scan fail: evidence, not bad input.
            if (signal.aborted) throw e;
            log(`the scan after the tamper probes failed: ${describeFailure(e)}`, 'warn');
            return undefined;
          });
        closePhase();
      }
      // Emitted after the second scan, with the outcome assemble() will report.
      for (const p of ev.tamper)
        emit({
          type: 'tamper-probed',
          at: at(),
          probe: { name: p.name, via: p.via, request: p.request, outcome: p.outcome, detail: p.detail },
        });
    }
  } catch (e) {
    if (signal.aborted || e instanceof InterruptedError) {
      const name =
        signal.reason instanceof InterruptedError
          ? signal.reason.message.replace(/^interrupted by /, '')
          : 'SIGINT';
      ev.interrupted = { signal: name, phase: current };
      emit({ type: 'interrupted', at: at(), signal: name });
    } else {
      ev.failure = { phase: current, error: e };
      log(`run failed in ${current}: ${describeFailure(e)}`, 'warn');
    }
  }

  // A run cut short still closes the reader's connections.
  await finishReader(AbortSignal.abort()).catch(() => undefined);
  // Whatever happened: logs, the stack down (or kept), the history, then the verdict.
  let keptStack: RunOutcome['keptStack'];
  if (stack) {
    try {
      const logDir = path.join(reportDir, 'logs');
      await ports.files.mkdir(logDir);
      ev.files.push(...(await stack.collectLogs(logDir)).map((f) => path.relative(reportDir, f)));
    } catch (e) {
      log(`could not collect the stack's logs: ${(e as Error).message}`, 'warn');
    }
    if (opts.keepStack && endpoints && !ev.failure && !ev.interrupted) {
      keptStack = { ...endpoints, runId, kind: stack.kind };
      await stack.detach?.();
    } else {
      phase('stack-down');
      try {
        await stack.down();
      } catch (e) {
        log(`stack down: ${(e as Error).message}`, 'warn');
        ev.teardownErrors.push({ phase: 'stack-down', error: e });
      }
      closePhase();
    }
  }
  phase('report');
  // The writers' history and the checkpoints they saw: with log.jsonl.gz, what `scan` replays.
  const ops = ledger();
  if (ops.length > 0 || ev.workload) {
    const history = ops.map((o) => JSON.stringify(o)).join('\n');
    await ports.files.writeFile(
      path.join(reportDir, HISTORY_FILE),
      redactSecrets(history ? `${history}\n` : '', ev.secrets),
    );
    ev.files.push(HISTORY_FILE);
  }
  const cps = ev.workload?.checkpoints;
  if (cps?.publicKey && cps.checkpoints.length > 0) {
    await ports.files.writeFile(path.join(reportDir, CHECKPOINTS_FILE), checkpointsFileText(cps));
    ev.files.push(CHECKPOINTS_FILE);
  }

  const decide = () => {
    ev.endedAt = ports.now();
    return assemble(ev);
  };
  let decided = decide();
  try {
    await ports.files.mkdir(reportDir);
    await ports.writeReport(reportDir, decided.report, {
      formats: scenario.report.formats,
      secrets: ev.secrets,
    });
    // Ctrl-C while the report was written: the report must say so, and the exit code too.
    if (signal.aborted && !ev.interrupted) {
      ev.interrupted = { signal: signalName(signal), phase: 'report' };
      decided = decide();
      await ports.writeReport(reportDir, decided.report, {
        formats: scenario.report.formats,
        secrets: ev.secrets,
      });
    }
    await ports.files.remove(path.join(reportDir, INCOMPLETE_FILE));
  } catch (e) {
    if (!ev.failure) ev.failure = { phase: 'report', error: e };
    log(`the report could not be written to ${reportDir}: ${describeFailure(e)}`, 'warn');
    decided = decide();
  }
  closePhase();
  emit({ type: 'run-finished', at: at(), report: decided.report, reportDir, exitCode: decided.exitCode });
  return {
    report: decided.report,
    reportDir,
    exitCode: decided.exitCode,
    ...(ev.failure ? { failure: ev.failure.error } : {}),
    ...(keptStack ? { keptStack } : {}),
  };

  async function workloadPhase(ep: StackEndpoints, network: NetworkFaults, st: Stack): Promise<void> {
    const plan = planFaults(scenario.faults, seed);
    const runAbort = new AbortController();
    // Every writer and request listens to it: hundreds of listeners are expected, not a leak.
    setMaxListeners(0, runAbort.signal);
    const onAbort = () => runAbort.abort(signal.reason);
    signal.addEventListener('abort', onAbort, { once: true });
    const totals = { attempted: 0, ok: 0, fail: 0, indeterminate: 0 };
    const sampling = new AbortController();
    const sampler = sampleHealth(ep, AbortSignal.any([sampling.signal, runAbort.signal]));
    const traffic = ports.traffic(ep.toxiproxyUrl);
    const pending = ports.pendingHeals(runId, st.kind);
    const outputs = new Map<string, { start?: string; heal?: string }>();
    /** Applies one fault; a proxy fault's traffic is read before it and again before its heal. */
    const apply = async (p: PlannedFault): Promise<Heal> => {
      const proxy = proxyOfFault(p.fault);
      const before = proxy ? await traffic.read(proxy).catch(() => undefined) : undefined;
      const heal = await applyFault(p.fault, p.id, {
        network,
        stack: st,
        onPacketEffect: (id, e) => {
          ev.faultEffects[id] = e;
        },
        commands: {
          pending,
          run: ports.runCommand,
          cwd: loaded.dir,
          onOutput: (stage: 'start' | 'heal', r: CommandResult) => {
            const o = outputs.get(p.id) ?? {};
            o[stage] = r.output;
            outputs.set(p.id, o);
          },
        },
      });
      if (!proxy) return heal;
      return async () => {
        const after = await traffic.read(proxy).catch(() => undefined);
        ev.faultEffects[p.id] = effectBetween(before, after);
        await heal();
      };
    };
    const timeline = runTimeline({
      plan,
      clock: wclock,
      signal: runAbort.signal,
      apply,
      onApplied: (r) =>
        emit({
          type: 'fault-applied',
          at: at(),
          fault: { id: r.id, kind: r.kind, target: r.target, plannedFor: r.plannedFor },
        }),
      onHealed: (r) => emit({ type: 'fault-healed', at: at(), faultId: r.id, error: r.error }),
      onError: (r, e) => {
        ev.faultErrors.push({
          id: r.id,
          stage: r.error?.startsWith('apply') ? 'apply' : 'heal',
          error: e,
        });
        log(`fault ${r.id} (${r.kind} ${r.target}): ${r.error}`, 'warn');
      },
    });
    // Awaited below, after the writers; handled now so that an early rejection is not "unhandled".
    timeline.catch(() => undefined);
    const vis = scenario.workload.visibility;
    if (vis)
      reader = startVisibilityReader({
        spec: vis,
        seed,
        probe: ports.visibilityProbe(scenario, ep, wclock),
        clock: wclock,
        signal: runAbort.signal,
      });
    const following = reader;
    try {
      const w = await ports
        .runWorkload({
          spec: scenario.workload,
          target: ep.serviceUrl,
          seed,
          clock: wclock,
          signal: runAbort.signal,
          ...(following ? { onOp: (op: LedgerOp) => following.offer(op) } : {}),
          onSecond: (s) => {
            totals.attempted += s.ok + s.errors + s.indeterminate;
            totals.ok += s.ok;
            totals.fail += s.errors;
            totals.indeterminate += s.indeterminate;
            emit({
              type: 'stats',
              at: at(),
              t: s.t,
              ok: s.ok,
              errors: s.errors,
              indeterminate: s.indeterminate,
              p50: s.p50,
              p99: s.p99,
              totals: { ...totals },
            });
          },
        })
        .catch((e: unknown) => {
          // The writers failed: the faults still active are healed now, before the error goes on.
          runAbort.abort(e);
          throw e;
        });
      ev.workload = w;
    } finally {
      signal.removeEventListener('abort', onAbort);
      // Every fault is healed before this phase ends, on every path (the timeline heals on abort).
      ev.faults = await timeline;
      for (const r of ev.faults) {
        const o = outputs.get(r.id);
        if (o) r.output = o;
      }
      sampling.abort();
      await sampler;
    }
  }

  /** Health samples every HEALTH_EVERY_MS until stopped; stops at once when the stack has no check. */
  async function sampleHealth(ep: StackEndpoints, stop: AbortSignal): Promise<void> {
    while (!stop.aborted) {
      const t = wclock();
      const a = await ports.health(ep, stop).catch(() => undefined);
      if (a === undefined || stop.aborted) return;
      if ('absent' in a) return;
      ev.health.push(a.ok ? { t, ok: true } : { t, ok: false, detail: a.detail });
      await sleep(HEALTH_EVERY_MS, stop).catch(() => undefined);
    }
  }

  /**
   * After the last fault healed: the health check must answer and a write be acknowledged again
   * within expect.recovery. What the workload saw after the heal counts; what it did not, the
   * recovery check asks for itself, with writes of its own (part of the ledger).
   */
  async function waitForRecovery(ep: StackEndpoints): Promise<RecoveryEvidence> {
    const limitMs = scenario.expect.recovery;
    const applied = ev.faults.filter((f) => f.startedAt !== undefined);
    if (applied.length === 0) return { limitMs };
    const lastHealAt = Math.max(...applied.map((f) => f.endedAt ?? wclock()));
    const rec: RecoveryEvidence = { lastHealAt, limitMs };
    const healthAbsent = 'absent' in (await ports.health(ep, signal));
    if (healthAbsent) rec.healthAbsent = true;
    const firstHealthy = (samples: HealthSample[]) => samples.find((s) => s.ok && s.t >= lastHealAt)?.t;
    const firstAck = (ops: readonly LedgerOp[]) =>
      ops
        .filter((o) => o.outcome === 'ok' && o.completedAt >= lastHealAt)
        .reduce<number | undefined>(
          (m, o) => (m === undefined || o.completedAt < m ? o.completedAt : m),
          undefined,
        );
    if (!healthAbsent) rec.healthyAt = firstHealthy(ev.health);
    rec.ackedAt = firstAck(ev.workload?.ops ?? []);
    const deadline = lastHealAt + limitMs;
    let probe = 0;
    while (
      (rec.ackedAt === undefined || (!healthAbsent && rec.healthyAt === undefined)) &&
      wclock() < deadline
    ) {
      signal.throwIfAborted();
      if (!healthAbsent && rec.healthyAt === undefined) {
        const t = wclock();
        const a = await ports.health(ep, signal);
        if ('ok' in a && a.ok) rec.healthyAt = t;
        else if ('detail' in a) rec.lastError = a.detail;
      }
      if (rec.ackedAt === undefined && (healthAbsent || rec.healthyAt !== undefined)) {
        const w = await recoveryWrite(ep, ++probe, deadline);
        ev.recoveryOps.push(...w.ops);
        rec.ackedAt = firstAck(w.ops);
        const failed = w.ops.find((o) => o.outcome !== 'ok');
        if (rec.ackedAt === undefined && failed)
          rec.lastError = `a write after the heal: ${failed.error ?? `HTTP ${failed.status}`}`;
      }
      if (rec.ackedAt === undefined || (!healthAbsent && rec.healthyAt === undefined))
        await sleep(RECOVERY_POLL_MS, signal);
    }
    return rec;
  }

  /** One write of the scenario's own kind, sent as the workload would, on its clock. */
  function recoveryWrite(ep: StackEndpoints, n: number, deadline: number): Promise<WorkloadResult> {
    const timeout = Math.max(100, Math.min(scenario.workload.timeout, deadline - wclock()));
    return ports.runWorkload({
      spec: {
        ...scenario.workload,
        rate: 1,
        duration: 1,
        writers: 1,
        timeout,
        retry: { attempts: 1, backoff: 0 },
        checkpoint: false,
      },
      target: ep.serviceUrl,
      seed: seed + n,
      clock: wclock,
      signal,
      checkpoints: false,
      drainMs: timeout,
    });
  }
}

function incompleteNote(runId: string, startedAt: Date): string {
  return (
    `incomplete: run ${runId} (started ${startedAt.toISOString()}, CLI pid ${process.pid}) ` +
    'stopped before it wrote its report: the CLI was killed, or is still running.\n' +
    'Nothing in this folder is a verdict. `auditchaos down` takes down what the run left.\n'
  );
}

/** The last acknowledged write (by ack time): the visibility reader always follows it. */
function lastAck(ops: readonly LedgerOp[]): LedgerOp | undefined {
  let last: LedgerOp | undefined;
  for (const o of ops) if (o.outcome === 'ok' && (!last || o.completedAt >= last.completedAt)) last = o;
  return last;
}

function signalName(signal: AbortSignal): string {
  return signal.reason instanceof InterruptedError
    ? signal.reason.message.replace(/^interrupted by /, '')
    : 'SIGINT';
}

/** The same scenario twice within a second must not share (and overwrite) a report folder. */
function unusedDir(dir: string): string {
  let candidate = dir;
  for (let n = 2; existsSync(candidate); n++) candidate = `${dir}-${n}`;
  return candidate;
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
