/** Names shared by the scenario language, the service, the scanner and the reports. */

export const FLAW_MODES = [
  'ack-before-commit',
  'async-commit',
  'no-idempotency',
  'unlocked-append',
  'truncate-payload',
  'mutable',
  'api-delete',
  'stale-head-cache',
] as const;
export type FlawMode = (typeof FLAW_MODES)[number];

export const FINDING_KINDS = [
  'missing',
  'partial',
  'broken-chain',
  'duplicate',
  'unexpected',
  'rollback',
  'tamper-undetected',
  'tamper-detected',
  'indeterminate',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

export const TOXIC_TYPES = [
  'latency',
  'bandwidth',
  'slow_close',
  'timeout',
  'reset_peer',
  'slicer',
  'limit_data',
] as const;
export type ToxicType = (typeof TOXIC_TYPES)[number];

export const RUNTIMES = ['auto', 'compose', 'local', 'external'] as const;
export type RuntimeName = (typeof RUNTIMES)[number];
