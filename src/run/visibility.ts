/**
 * The visibility part of assemble() (pure): the reader's evidence and the final scan judged by
 * src/scan/checks/visibility.ts, turned into findings, the verdict's input and the report section.
 */
import type { FaultRecord } from '../chaos/fault-log.ts';
import type { Report } from '../report/model.ts';
import {
  DEFAULT_VISIBILITY_MAX_MS,
  judgeVisibility,
  lagHistogram,
  provenLag,
  type VisibilityJudgement,
} from '../scan/checks/visibility.ts';
import type { Finding } from '../scan/types.ts';
import type { RunEvidence } from './evidence.ts';
import type { VisibilityInput } from './verdict.ts';

/** Points of the lag-over-time chart kept in the report at most (delayed ones always kept). */
const MAX_POINTS = 2000;

export interface RunVisibility {
  findings: Finding[];
  judgement: VisibilityJudgement;
  verdict: VisibilityInput;
  report: NonNullable<Report['visibility']>;
}

export function runVisibility(ev: RunEvidence, faults: readonly FaultRecord[]): RunVisibility | undefined {
  const vis = ev.visibility;
  const scenario = ev.loaded.scenario;
  if (!scenario.workload.visibility || !vis) return undefined;
  const limits = {
    maxMs: scenario.expect.visibility?.max ?? DEFAULT_VISIBILITY_MAX_MS,
    ...(scenario.expect.visibility?.p50 !== undefined ? { p50Ms: scenario.expect.visibility.p50 } : {}),
    ...(scenario.expect.visibility?.p99 !== undefined ? { p99Ms: scenario.expect.visibility.p99 } : {}),
  };
  const scan = ev.scan;
  const missingFindings = (scan?.findings ?? []).filter((f) => f.kind === 'missing' && f.eventId);
  const judgement = judgeVisibility(
    vis,
    {
      complete: scan !== undefined && scan.error === undefined,
      missing: new Set(missingFindings.map((f) => f.eventId as string)),
      missingListed: scan !== undefined && missingFindings.length >= (scan.counts.missing ?? 0),
    },
    limits,
    faults,
  );
  const delayedIds = new Set(judgement.findings.map((f) => f.eventId));
  const resolved = vis.samples.filter((s) => s.seenAt !== undefined || delayedIds.has(s.eventId));
  const step = Math.max(1, Math.ceil(resolved.length / MAX_POINTS));
  const points = resolved
    .filter((s, i) => i % step === 0 || delayedIds.has(s.eventId))
    .map((s) => ({
      t: Math.round(s.ackAt),
      provenMs: Math.round(provenLag(s)),
      ...(s.seenAt !== undefined ? { lagMs: Math.round(s.seenAt - s.ackAt) } : { atScan: true }),
      ...(delayedIds.has(s.eventId) ? { delayed: true } : {}),
    }));
  const lags = vis.samples.flatMap((s) => (s.seenAt !== undefined ? [s.seenAt - s.ackAt] : []));
  return {
    findings: judgement.findings,
    judgement,
    verdict: {
      delayed: judgement.delayed,
      ...(judgement.notChecked ? { notChecked: judgement.notChecked } : {}),
      proven: judgement.proven,
      limits,
    },
    report: {
      via: vis.via,
      sample: vis.sample,
      pollMs: vis.pollMs,
      timeoutMs: vis.timeoutMs,
      limitMs: limits.maxMs,
      offered: vis.offered,
      followed: vis.samples.length,
      fates: judgement.fates,
      readErrors: judgement.readErrors,
      lag: judgement.lag,
      proven: judgement.proven,
      histogram: lagHistogram(lags),
      points,
      ...(judgement.notChecked ? { notChecked: judgement.notChecked } : {}),
    },
  };
}
