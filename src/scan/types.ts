/**
 * The data handed between stages (DESIGN.md, "The flow"): entries read from a log, the writers'
 * ledger, checkpoints, findings. Our own vocabulary: no vendor type appears here.
 */
import type { FindingStory } from '../report/story.ts';
import type { FindingKind } from '../scenario/vocabulary.ts';
import type { RangeMerger, RangeRunOptions, RangeSpec } from './range-merge.ts';
import type { RangeContext } from './range-scan.ts';
import type { HashRecipe } from './recipe.ts';

export type { FindingKind };

/** One stored entry, as a source adapter yields it. Hashes are lowercase hex. */
export interface LogEntry {
  seq: number;
  eventId: string;
  /** Exactly as stored; the reference format is RFC 3339 UTC with 6 fractional digits. */
  ts: string;
  actor: string;
  action: string;
  /** The parsed JSON payload. */
  payload: unknown;
  prevHash: string;
  hash: string;
  /** Where it came from (1-based line of a JSONL file), for evidence. */
  line?: number;
  /**
   * The payload's RFC 8785 canonical text, when the source read it as such (the JSONL fast path):
   * the partial check uses it instead of serializing `payload` again.
   */
  canonicalPayload?: string;
  /**
   * The stored text is not I-JSON (strict-json.ts): a duplicate member name or a lone surrogate,
   * which JSON.parse accepted silently. The partial check reports it.
   */
  textIssue?: TextIssue;
  /**
   * What is stored, before parsing: set by sources opened with `stored: true` (openSource), for
   * recipes over the stored text (template recipes, modules). See StoredRecord.
   */
  stored?: StoredRecord;
}

/** An entry's stored form, for recipes that hash what is stored rather than a canonical form. */
export interface StoredRecord {
  /**
   * The payload's stored text: a text/json column as written (jsonb as the server prints it); in a
   * JSONL line or HTTP item, the value's text as it stands in the record (`{"data": "a"}`, `1.50`),
   * or the string itself when the value is a JSON string.
   */
  payload: string;
  /**
   * The value `payload` was parsed into: recipes use the stored text only while entry.payload is
   * still this value (a run's canary that edits the payload replaces it, and must be seen).
   */
  payloadOf: unknown;
  /**
   * The record as read: for JSONL/HTTP the parsed object; for Postgres the mapped columns by
   * column name (text as text, bytea as bytes, other types as the server's text), NULL as null.
   */
  row: () => Record<string, unknown>;
}

/** Why stored JSON text is not I-JSON (RFC 7493), found in the raw text by strict-json.ts. */
export interface TextIssue {
  reason: 'duplicate-member' | 'lone-surrogate';
  /** A sentence for a finding: what and where. */
  message: string;
  /** The duplicated member name (duplicate-member). */
  member?: string;
  /** Offset in the text where the issue is. */
  at: number;
}

/** A stored record that could not even be read as an entry (bad JSON line, missing fields). */
export interface UnreadableEntry {
  unreadable: true;
  line?: number;
  seq?: number;
  eventId?: string;
  reason: string;
  raw?: string;
}

export type SourceItem = LogEntry | UnreadableEntry;

export function isUnreadable(item: SourceItem): item is UnreadableEntry {
  return (item as UnreadableEntry).unreadable === true;
}

/** A source turns storage into a stream of entries in log order; it never holds the log in memory. */
export interface LogSource {
  /** Human description for reports: a path, a redacted URL. */
  readonly describe: string;
  entries(signal?: AbortSignal): AsyncIterable<SourceItem>;
  /** Optional, faster: the same items in log order, in arrays (saves an await per entry). */
  batches?(signal?: AbortSignal): AsyncIterable<SourceItem[]>;
  /**
   * Optional, fastest: the same items as batches(), each batch with, per item, its reference
   * chain v1 hash (referenceHash(prevHash, entry)) when the source could compute it more cheaply
   * than the recipe (undefined where it did not). scanLog uses it only with referenceRecipe().
   */
  referenceHashedBatches?(signal?: AbortSignal): AsyncIterable<HashedBatch>;
  /**
   * Optional: batches whose hashes the storage computed for `recipe` (a PostgreSQL table opened
   * with verifyIn: 'database', sources/pg-verify.ts): a row's hash where the server found the
   * stored one to be the recipe's digest, undefined where the client must hash it. scanLog uses
   * them when it scans with that very recipe object.
   */
  readonly serverHashed?: {
    readonly recipe: HashRecipe;
    batches(signal?: AbortSignal): AsyncIterable<HashedBatch>;
  };
  /**
   * Optional: a plain JSONL file of the reference format that workers can verify in byte ranges
   * (range-merge.ts); scanLog uses it with referenceRecipe(), instead of the batches.
   */
  readonly ranges?: RangeSpec;
  /**
   * Optional: the source verifies itself in ranges of the reference format (a PostgreSQL table in
   * seq ranges, each read and verified by a worker on its own connection), joining each range's
   * summary into `merger` in log order. scanLog uses it with referenceRecipe(), instead of the
   * batches.
   */
  readonly verifyRanges?: (
    context: RangeContext,
    merger: RangeMerger,
    opts: RangeRunOptions,
  ) => Promise<void>;
  /** Checks this source cannot feed, with the reason (e.g. chain: "table has no hash column"). */
  readonly notAvailable?: Readonly<Partial<Record<'chain', string>>>;
  /**
   * Items built in memory (fromArray): they carry whatever `stored` they were given; a source that
   * reads storage must be opened with `stored: true` for a recipe that needsStored.
   */
  readonly inMemory?: boolean;
  /** Releases connections, when the source holds any (Postgres). */
  close?(): Promise<void>;
}

/** A batch of items; hashes[i], when present, is the reference hash recomputed for items[i]. */
export interface HashedBatch {
  items: SourceItem[];
  hashes?: (string | undefined)[];
}

export type Severity = 'violation' | 'warning' | 'info';

export const SEVERITY: Record<FindingKind, Severity> = {
  missing: 'violation',
  partial: 'violation',
  'broken-chain': 'violation',
  duplicate: 'violation',
  unexpected: 'violation',
  rollback: 'violation',
  'tamper-undetected': 'violation',
  'tamper-detected': 'warning',
  indeterminate: 'info',
  delayed: 'violation',
  'clock-backwards': 'violation',
  'ts-outside-window': 'violation',
};

export interface Finding {
  kind: FindingKind;
  severity: Severity;
  message: string;
  seq?: number;
  line?: number;
  eventId?: string;
  expected?: string;
  found?: string;
  /** Which check produced it (chain, partial, duplicate, ledger, checkpoint, tamper). */
  check: string;
  /** Extra evidence, e.g. the fault windows active when the op ran. */
  detail?: Record<string, unknown>;
  /** The entry was in the log before this run (scan option `before`): shown apart, by default a warning. */
  preexisting?: boolean;
  /** The writer's view and the faults around it, added by the run (src/report/story.ts). */
  story?: FindingStory;
}

/**
 * Outcome of one write as the writer saw it (DESIGN.md, "Invariants"). `not-sent`: the load driver
 * never sent it (no writer was free in time, or the run was interrupted first): neither the
 * service's failure nor evidence about it.
 */
export type OpOutcome = 'ok' | 'fail' | 'indeterminate' | 'not-sent';

/** One line of history.ndjson: every op a writer attempted. */
export interface LedgerOp {
  eventId: string;
  outcome: OpOutcome;
  /** SHA-256 hex of the RFC 8785 canonical JSON of the payload sent. */
  payloadDigest: string;
  /** ms since the run's start. */
  invokedAt: number;
  completedAt: number;
  status?: number;
  error?: string;
  attempts: number;
  writer?: number;
  /** The seq the service answered with, when it did. */
  seq?: number;
  /** Workload driver extras (src/workload/): the op's place in the seeded plan. */
  planIndex?: number;
  actor?: string;
  action?: string;
  /** When the open-model schedule said the op should start (ms since the run's start); invokedAt - scheduledAt is how late it started. */
  scheduledAt?: number;
  /** completedAt - invokedAt, retries and backoff included. */
  latencyMs?: number;
  /** Every attempt, in order (all with the same eventId). */
  attemptsDetail?: AttemptDetail[];
}

/** One HTTP attempt of a LedgerOp. */
export interface AttemptDetail {
  /** ms since the run's start. */
  startedAt: number;
  latencyMs: number;
  outcome: OpOutcome;
  status?: number;
  /** refused | unreachable | timeout | reset | aborted | other, with a message. */
  error?: string;
}

/** A signed head the harness observed during the run (GET /checkpoint). */
export interface Checkpoint {
  seq: number;
  hash: string;
  ts: string;
  /** Base64 Ed25519 signature over the checkpoint's canonical JSON {seq, hash, ts}. */
  signature: string;
  /** When the harness read it, ms since the run's start. */
  observedAt?: number;
}

export interface CheckpointSet {
  /** PEM (SPKI) Ed25519 public key that signed them. */
  publicKey: string;
  checkpoints: Checkpoint[];
}
