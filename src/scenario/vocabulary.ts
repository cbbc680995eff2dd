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
  'crash-on-db-error',
  'late-visible',
  'app-clock',
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
  'delayed',
  'clock-backwards',
  'ts-outside-window',
] as const;
export type FindingKind = (typeof FINDING_KINDS)[number];

/** `expect` keys that limit a count of findings (the schema's expect block has one per invariant). */
export type ExpectCountKey =
  | 'missing'
  | 'partial'
  | 'brokenChain'
  | 'duplicates'
  | 'unexpected'
  | 'rollback'
  | 'tamperUndetected'
  | 'delayed'
  | 'clockBackwards'
  | 'tsOutsideWindow';

/**
 * The invariants a run checks: the violation kinds of the finding taxonomy (DESIGN.md), each with
 * the scan check that produces it and the `expect` key that sets how many are allowed.
 */
export interface InvariantSpec {
  kind: FindingKind;
  title: string;
  check: string;
  expectKey: ExpectCountKey;
  /**
   * Judged only when the scenario asks for its check (the clock checks: a clock fault or
   * expect.clock); otherwise neither a threshold nor a row in the report.
   */
  optIn?: true;
}

export const INVARIANTS: readonly InvariantSpec[] = [
  { kind: 'missing', title: 'every acknowledged event is in the log', check: 'ledger', expectKey: 'missing' },
  { kind: 'partial', title: 'no entry is truncated or incomplete', check: 'partial', expectKey: 'partial' },
  {
    kind: 'broken-chain',
    title: 'the hash chain and sequence are intact',
    check: 'chain',
    expectKey: 'brokenChain',
  },
  {
    kind: 'duplicate',
    title: 'no event id is stored twice',
    check: 'duplicate',
    expectKey: 'duplicates',
  },
  {
    kind: 'unexpected',
    title: 'no entry that nobody wrote',
    check: 'ledger',
    expectKey: 'unexpected',
  },
  {
    kind: 'rollback',
    title: 'every signed checkpoint is still in the log',
    check: 'checkpoint',
    expectKey: 'rollback',
  },
  {
    kind: 'tamper-undetected',
    title: 'every successful tamper probe was detected',
    check: 'tamper',
    expectKey: 'tamperUndetected',
  },
  {
    kind: 'delayed',
    title: 'every acknowledged event became readable within expect.visibility.max',
    check: 'visibility',
    expectKey: 'delayed',
    optIn: true,
  },
  {
    kind: 'clock-backwards',
    title: 'ts never goes backwards along seq',
    check: 'clock',
    expectKey: 'clockBackwards',
    optIn: true,
  },
  {
    kind: 'ts-outside-window',
    title: "every entry's ts lies within its writer's send..ack window",
    check: 'clock',
    expectKey: 'tsOutsideWindow',
    optIn: true,
  },
];

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

/** Roles a named stack service plays (stack.services). */
export const SERVICE_ROLES = ['service', 'database', 'other'] as const;
export type ServiceRole = (typeof SERVICE_ROLES)[number];

/** How a `down` fault takes a named service down. */
export const DOWN_MODES = ['kill', 'stop', 'pause', 'restart'] as const;
export type DownMode = (typeof DOWN_MODES)[number];

/** Names of the reference stack: compose/stack.yml's services, the local runtime's processes. */
export const REFERENCE_NAMES = { service: 'auditlog', database: 'postgres', proxy: 'toxiproxy' } as const;
