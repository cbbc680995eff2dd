/**
 * The one place that decides (plan/apply's "plan"): from the evidence a run gathered, the report,
 * the verdict and the exit code. Pure: no I/O, no clock, no randomness; every exit path of a run
 * is a value of RunEvidence and is tested as one (test/unit/run/assemble.test.ts).
 */
import { noEffectReason, proxyOfFault } from '../chaos/fault-effect.ts';
import { activeFaultsAt, type FaultRecord } from '../chaos/fault-log.ts';
import { planFaults } from '../chaos/plan.ts';
import { ExitCode, exitCodeOf, InterruptedError, isAuditChaosError } from '../errors.ts';
import type { Report } from '../report/model.ts';
import { headlineSentences, storyOf } from '../report/story.ts';
import { clockCheckSettings } from '../scan/checks/clock.ts';
import { emptyCounts } from '../scan/scan.ts';
import type { Finding, FindingKind, LedgerOp } from '../scan/types.ts';
import { FINDING_KINDS, INVARIANTS } from '../scenario/vocabulary.ts';
import { attributeTamper } from '../tamper/attribute.ts';
import type { TamperRecord } from '../tamper/probes.ts';
import { judgeDriver, type WorkloadResult } from '../workload/index.ts';
import type { RecoveryEvidence, RunEvidence } from './evidence.ts';
import { evaluate, type RecoveryInput, type ThresholdResult, type Verdict } from './verdict.ts';
import { runVisibility } from './visibility.ts';

export interface Assembled {
  report: Report;
  verdict: Verdict;
  exitCode: ExitCode;
}

/** Worst first, within one run: an interrupt, a bug, a violation, then the environment and input. */
const EXIT_PRIORITY: ExitCode[] = [
  ExitCode.interrupted,
  ExitCode.internal,
  ExitCode.violation,
  ExitCode.environment,
  ExitCode.usage,
  ExitCode.inconclusive,
  ExitCode.ok,
];

export function worstExitCode(codes: readonly number[]): ExitCode {
  return EXIT_PRIORITY.find((c) => codes.includes(c)) ?? ExitCode.ok;
}

/** The error and, for errors of ours, what to do about it: the report is where a user looks. */
export function describeFailure(e: unknown): string {
  const message = e instanceof Error ? e.message : String(e);
  if (!isAuditChaosError(e)) return `internal error in auditchaos: ${message}`;
  return e.hint ? `${message} (what to do: ${e.hint})` : message;
}

function addCounts(into: Record<FindingKind, number>, from: Readonly<Record<FindingKind, number>>) {
  for (const k of FINDING_KINDS) into[k] += from[k];
}

/** Tamper probes judged by the findings the scan after them has and the scan before did not. */
function judgeTamper(ev: RunEvidence): {
  probes: TamperRecord[];
  findings: Finding[];
  counts: Record<FindingKind, number>;
  countsBefore: Record<FindingKind, number>;
} {
  const probes = ev.tamper.map((p) => ({ ...p, affected: { ...p.affected } }));
  const counts = emptyCounts();
  const countsBefore = emptyCounts();
  const after = ev.scanAfterTamper;
  if (!after || after.error !== undefined || !after.fresh || !after.freshCounts)
    return { probes, findings: [], counts, countsBefore };
  const { findings, probes: judged } = attributeTamper(probes, after.fresh);
  // Fresh findings a probe explains are folded into its tamper-detected finding; the rest are new
  // violations that appeared after the workload (counted exactly, from the fresh counts).
  const kept = new Set(findings);
  const explained = emptyCounts();
  for (const f of after.fresh) if (!kept.has(f)) explained[f.kind]++;
  for (const k of FINDING_KINDS) counts[k] = Math.max(0, (after.freshCounts[k] ?? 0) - explained[k]);
  for (const f of findings) if (f.check === 'tamper') counts[f.kind]++;
  for (const f of findings)
    if (f.preexisting) {
      countsBefore[f.kind]++;
      counts[f.kind] = Math.max(0, counts[f.kind] - 1);
    }
  return { probes: judged, findings, counts, countsBefore };
}

/**
 * Ties each finding about a write to its story: what the writer was told and the faults around it
 * (active at send and at the answer, the nearest one with the gap). detail.activeFaults stays for
 * readers of older reports.
 */
function withFaultEvidence(findings: Finding[], ops: LedgerOp[], faults: FaultRecord[]): Finding[] {
  const byId = new Map(ops.map((o) => [o.eventId, o]));
  return findings.map((f) => {
    const op = f.eventId ? byId.get(f.eventId) : undefined;
    if (!op) return f;
    const story = storyOf(op, faults);
    const active = [
      ...new Set([...activeFaultsAt(faults, op.invokedAt), ...activeFaultsAt(faults, op.completedAt)]),
    ];
    return {
      ...f,
      story,
      ...(faults.length
        ? { detail: { ...f.detail, activeFaults: active, opWindow: [op.invokedAt, op.completedAt] } }
        : {}),
    };
  });
}

/** The counts of the finding kinds whose threshold failed: the ones the header tells aloud. */
function failedCounts(thresholds: { name: string; pass: boolean }[], counts: Record<string, number>) {
  const out: Record<string, number> = {};
  for (const t of thresholds) {
    const kind = INVARIANTS.find((i) => i.expectKey === t.name)?.kind;
    if (kind && !t.pass) out[kind] = counts[kind] ?? 0;
  }
  return out;
}

/**
 * Ops the driver never sent because every writer was still waiting on a fault's effect: arrived
 * while a fault was active, or within one op's worst case (timeouts, retries, backoff) after it
 * healed. A dead service holds the writers; that is the fault's evidence, not the driver falling
 * behind, and must not turn a run unknown.
 */
function heldByFaults(
  w: WorkloadResult,
  faults: FaultRecord[],
  scenario: RunEvidence['loaded']['scenario'],
): number {
  const { timeout, retry } = scenario.workload;
  const slack = retry.attempts * (timeout + retry.backoff);
  const windows = faults
    .filter((f) => f.startedAt !== undefined)
    .map((f) => [f.startedAt as number, (f.endedAt ?? Number.POSITIVE_INFINITY) + slack] as const);
  let n = 0;
  for (const op of w.ops) {
    if (op.outcome !== 'not-sent' || !op.error?.startsWith('not sent: still waiting')) continue;
    const t = op.scheduledAt ?? op.invokedAt;
    if (windows.some(([a, b]) => t >= a && t <= b)) n++;
  }
  return n;
}

/** The system under test in a few words, for the report's header. */
function subjectOf(ev: RunEvidence): string {
  const st = ev.loaded.scenario.stack as { flaws?: string[]; services?: Record<string, { role?: string }> };
  const named = st.services
    ? Object.entries(st.services).find(([, s]) => s.role === 'service')?.[0]
    : undefined;
  const who = named
    ? `service ${named}`
    : ev.runtime.kind === 'external'
      ? 'the external stack'
      : 'the reference service';
  const flaws = st.flaws?.length
    ? ` with flaws ${st.flaws.join(', ')}`
    : named || ev.runtime.kind === 'external'
      ? ''
      : ' (correct: no flaws)';
  return `${who}${flaws}, ${ev.runtime.kind} runtime`;
}

/** Tamper invariants are checked only when every probe ran and every change was scanned afterwards. */
function tamperNotChecked(ev: RunEvidence, probes: TamperRecord[]): Record<string, string> {
  const wanted = ev.loaded.scenario.tamper.length;
  if (wanted === 0) return {};
  if (probes.length < wanted)
    return { tamper: `${wanted - probes.length} of ${wanted} tamper probes did not run` };
  const after = ev.scanAfterTamper;
  const changed = probes.some((p) => p.outcome === 'accepted' || p.outcome === 'appended');
  if (changed && (after === undefined || after.error !== undefined || after.fresh === undefined))
    return { tamper: 'the scan after the tamper probes did not run to the end' };
  return {};
}

function recoveryInput(r: RecoveryEvidence | undefined): RecoveryInput | undefined {
  if (!r || r.lastHealAt === undefined) return undefined;
  const times = [r.ackedAt, r.healthAbsent ? r.ackedAt : r.healthyAt];
  const recovered = times.every((t) => t !== undefined)
    ? Math.max(...(times as number[])) - r.lastHealAt
    : undefined;
  return {
    limitMs: r.limitMs,
    ...(recovered !== undefined ? { recoveredInMs: Math.max(0, Math.round(recovered)) } : {}),
    ...(r.lastError ? { reason: r.lastError } : {}),
  };
}

function afterHeal(w: WorkloadResult | undefined, lastHealAt: number) {
  const ops = (w?.ops ?? []).filter((o) => o.invokedAt >= lastHealAt);
  return { attempted: ops.length, ok: ops.filter((o) => o.outcome === 'ok').length };
}

/** The fault log as reported: each applied proxy fault with its effect, and why it had none. */
function faultsWithEffect(ev: RunEvidence): Report['faults'] {
  const planned = new Map(planFaults(ev.loaded.scenario.faults, ev.seed).map((p) => [p.id, p.fault]));
  return ev.faults.map((r) => {
    const fault = planned.get(r.id);
    if (!fault || r.startedAt === undefined) return r;
    if (proxyOfFault(fault) === undefined && fault.kind !== 'packet') return r;
    const effect = ev.faultEffects[r.id] ?? 'unknown';
    const why = noEffectReason(fault, effect);
    return why === undefined ? { ...r, effect } : { ...r, effect, noEffect: why };
  });
}

export function assemble(ev: RunEvidence): Assembled {
  const scenario = ev.loaded.scenario;
  const faults = faultsWithEffect(ev);
  const w = ev.workload;
  const scan = ev.scan;
  const tamper = judgeTamper(ev);
  const findings = [
    ...withFaultEvidence(scan?.findings ?? [], [...(w?.ops ?? []), ...ev.recoveryOps], ev.faults),
    ...tamper.findings,
  ];
  const visibility = runVisibility(ev, ev.faults);
  if (visibility) findings.push(...withFaultEvidence(visibility.findings, w?.ops ?? [], ev.faults));
  const counts = emptyCounts();
  const countsBefore = emptyCounts();
  if (scan) {
    addCounts(counts, scan.counts);
    addCounts(countsBefore, scan.countsBefore);
  }
  if (visibility) counts.delayed += visibility.judgement.delayed;
  addCounts(counts, tamper.counts);
  addCounts(countsBefore, tamper.countsBefore);

  const interrupted = ev.interrupted !== undefined;
  const failure = ev.failure;
  const checksNotRun = scan
    ? scan.checksRun
        .filter((c) => !c.ran && c.required)
        .map((c) => ({ name: c.name, reason: c.reason ?? 'unknown' }))
    : [];
  const recovery = recoveryInput(ev.recovery);
  const driver = w
    ? judgeDriver({
        ...w.driver,
        notSentBehind: Math.max(0, w.driver.notSentBehind - heldByFaults(w, ev.faults, scenario)),
      })
    : undefined;
  const { thresholds, verdict } = evaluate({
    expect: scenario.expect,
    counts,
    countsBefore,
    ops: { attempted: w?.counts.attempted ?? 0, ok: w?.counts.ok ?? 0 },
    latency:
      w && w.latency.count > 0 ? { p50: w.latency.p50, p99: w.latency.p99, max: w.latency.max } : undefined,
    canaries: scan?.canaries,
    tamper: tamper.probes,
    checksNotRun,
    scanned: scan !== undefined,
    notChecked: tamperNotChecked(ev, tamper.probes),
    ...(recovery ? { recovery } : {}),
    ...(scan?.error !== undefined ? { scanError: scan.error } : {}),
    ...(failure ? { runError: `${failure.phase}: ${describeFailure(failure.error)}` } : {}),
    faultErrors: ev.faultErrors.map((f) => {
      const r = ev.faults.find((x) => x.id === f.id);
      return `${f.id} (${r?.kind ?? 'fault'} ${r?.target ?? ''}) ${f.stage}: ${(f.error as Error)?.message ?? String(f.error)}`;
    }),
    faultEffects: {
      applied: faults.filter((f) => f.startedAt !== undefined).length,
      noEffect: faults.flatMap((f) => (f.noEffect ? [`${f.id}: ${f.noEffect}`] : [])),
    },
    interrupted,
    ...(driver?.reason ? { driverBehind: driver.reason } : {}),
    ...(visibility ? { visibility: visibility.verdict } : {}),
    ...(clockCheckSettings(scenario) ? { optInChecks: ['clock'] } : {}),
  });

  const codes: number[] = [exitCodeOf({ verdict: verdict.status })];
  if (interrupted) codes.push(ExitCode.interrupted);
  if (failure && !(failure.error instanceof InterruptedError))
    codes.push(exitCodeOf({ error: failure.error }));
  for (const f of ev.faultErrors) codes.push(exitCodeOf({ error: f.error }));
  // A stack that would not go down is the environment's failure, whatever the verdict was.
  for (const t of ev.teardownErrors) codes.push(exitCodeOf({ error: t.error }));
  const exitCode = worstExitCode(codes);

  const reasons = [...verdict.reasons];
  for (const t of ev.teardownErrors) reasons.push(`${t.phase} failed: ${describeFailure(t.error)}`);
  const report: Report = {
    schemaVersion: 1,
    tool: { name: 'auditchaos', version: ev.toolVersion },
    runId: ev.runId,
    scenario: {
      name: scenario.name,
      description: scenario.description,
      file: ev.loaded.file,
      asRun: scenario as unknown as Record<string, unknown>,
    },
    seed: ev.seed,
    overview: {
      subject: subjectOf(ev),
      sentences: headlineSentences(findings, failedCounts(thresholds, counts)),
    },
    runtime: ev.runtime,
    timings: {
      startedAt: ev.startedAt.toISOString(),
      endedAt: ev.endedAt.toISOString(),
      durationMs: ev.endedAt.getTime() - ev.startedAt.getTime(),
      phases: ev.phases,
      ...(ev.workloadStartMs !== undefined ? { workloadStartMs: ev.workloadStartMs } : {}),
    },
    interrupted,
    ops: {
      attempted: w?.counts.attempted ?? 0,
      ok: w?.counts.ok ?? 0,
      fail: w?.counts.fail ?? 0,
      indeterminate: w?.counts.indeterminate ?? 0,
      availability: w && w.counts.attempted > 0 ? w.availability : null,
    },
    latency:
      w && w.latency.count > 0
        ? { p50: w.latency.p50, p90: w.latency.p90, p99: w.latency.p99, max: w.latency.max }
        : { p50: null, p90: null, p99: null, max: null },
    driver: driver ?? null,
    series: (w?.series ?? []).map((s) => ({
      t: s.t,
      ok: s.ok,
      errors: s.errors,
      indeterminate: s.indeterminate,
      p50: s.p50,
      p99: s.p99,
    })),
    faults,
    tamper: tamper.probes.map(toReportTamper),
    checkpoints: {
      count: w?.checkpoints?.checkpoints.length ?? 0,
      verified: scan?.checkpointsVerified ?? 0,
      ...(w?.checkpoints?.publicKey ? { publicKey: w.checkpoints.publicKey } : {}),
    },
    scan: scan
      ? {
          source: scan.source,
          entries: scan.entries,
          checksRun: scan.checksRun.map(({ name, ran, reason }) =>
            reason ? { name, ran, reason } : { name, ran },
          ),
          durationMs: scan.durationMs,
          counts,
          countsBefore,
          findingsOmitted: scan.findingsOmitted,
          ...(ev.baseline
            ? {
                before: {
                  entries: ev.baseline.entries,
                  ...(ev.baseline.lastSeq !== undefined ? { lastSeq: ev.baseline.lastSeq } : {}),
                },
              }
            : {}),
        }
      : null,
    recovery:
      ev.recovery?.lastHealAt !== undefined
        ? {
            limitMs: ev.recovery.limitMs,
            lastHealAt: ev.recovery.lastHealAt,
            ...(ev.recovery.healthyAt !== undefined ? { healthyAt: ev.recovery.healthyAt } : {}),
            ...(ev.recovery.ackedAt !== undefined ? { ackedAt: ev.recovery.ackedAt } : {}),
            ...(recovery?.recoveredInMs !== undefined ? { recoveredInMs: recovery.recoveredInMs } : {}),
            ...(ev.recovery.lastError ? { lastError: ev.recovery.lastError } : {}),
            afterHeal: afterHeal(w, ev.recovery.lastHealAt),
          }
        : null,
    ...(visibility ? { visibility: visibility.report } : {}),
    findings,
    canaries: scan?.canaries
      ? { planted: scan.canaries.planted, caught: scan.canaries.caught, missed: scan.canaries.missed }
      : null,
    // Canaries have their own section in the report; the verdict already accounts for them.
    thresholds: thresholds.filter((t) => t.name !== 'canaries').map(toReportThreshold),
    verdict: { status: verdict.status, reasons },
    // writeReport adds the report's own files.
    files: [...new Set(ev.files)].sort(),
  };
  return { report, verdict: report.verdict, exitCode };
}

function toReportTamper(p: TamperRecord): Report['tamper'][number] {
  const { name, via, request, outcome, detail, detection } = p;
  return detection
    ? { name, via, request, outcome, detail, detection }
    : { name, via, request, outcome, detail };
}

function toReportThreshold(t: ThresholdResult): Report['thresholds'][number] {
  const r = { name: t.name, expected: t.expected, actual: t.actual, pass: t.pass };
  return t.display !== undefined ? { ...r, note: t.display } : r;
}
