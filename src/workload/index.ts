/** The workload driver's public API (see docs/workload.md). */
export {
  type CheckpointPoller,
  type CheckpointPollResult,
  type PollCheckpointsOptions,
  pollCheckpoints,
} from './checkpoints.ts';
export {
  type DriverHealth,
  judgeDriver,
  LOOP_LAG_P99_LIMIT_MS,
  NOT_SENT_SHARE_LIMIT,
} from './driver-health.ts';
export { createHttpClient, type HttpClient, type HttpReply, type HttpRequest } from './http-client.ts';
export { attemptOutcome, backoffMs, opOutcome, shouldRetry, type TransportError } from './outcome.ts';
export { type PlannedOp, planWorkload, type WorkloadPlan, type WorkloadSpec } from './plan.ts';
export { type DriverSample, type RunWorkloadOptions, runWorkload, type WorkloadResult } from './run.ts';
export { type LatencySummary, type OutcomeCounts, type SecondStats, WorkloadStats } from './stats.ts';
export { compileBodyTemplate, DEFAULT_BODY_TEMPLATE } from './template.ts';
