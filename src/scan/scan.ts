/**
 * The scan use case: stream a log once through every check that can run, and return the findings,
 * the checks that ran (and why others did not) and the verdict. `scan` and `run` both call it;
 * scanEntries() runs the same pipeline over entries already in memory (the run's canaries).
 */
import { isProgrammingError, UsageError } from '../errors.ts';
import { FINDING_KINDS, type FindingKind } from '../scenario/vocabulary.ts';
import { type ChainCheck, createChainCheck } from './checks/chain.ts';
import type { Check, Emit } from './checks/check.ts';
import { createCheckpointCheck } from './checks/checkpoint.ts';
import { type ClockCheck, type ClockCheckOptions, clockCheckRun, createClockCheck } from './checks/clock.ts';
import { createDuplicateCheck } from './checks/duplicate.ts';
import { buildLedger, createLedgerCheck, type Ledger } from './checks/ledger.ts';
import { createPartialCheck, REQUIRED_FIELDS } from './checks/partial.ts';
import { RangeMerger, type RangeRunOptions, runRanges } from './range-merge.ts';
import { rangeContextOf } from './range-scan.ts';
import { type HashRecipe, REFERENCE_RECIPE_ID, referenceRecipe } from './recipe.ts';
import { batchesOf, fromArray } from './sources/array.ts';
import { fileSpillStore } from './spill-file.ts';
import {
  type CheckpointSet,
  type Finding,
  type HashedBatch,
  isUnreadable,
  type LedgerOp,
  type LogSource,
  SEVERITY,
  type SourceItem,
} from './types.ts';

export interface ScanProgress {
  entries: number;
  seq?: number;
  line?: number;
  elapsedMs: number;
  /** Entries a second since the start. */
  rate: number;
}

export interface ScanOptions {
  source: LogSource;
  /** Default: the reference chain format v1. */
  recipe?: HashRecipe;
  /** The run's history (every op); enables the ledger cross-check and the payload digests. */
  ledger?: Iterable<LedgerOp> | Ledger;
  /** Signed checkpoints observed during the run; enables the checkpoint check. */
  checkpoints?: CheckpointSet;
  /** Tolerances (and the history's wall-clock start) of the clock checks; absent: they do not run. */
  clock?: Pick<ClockCheckOptions, 'backwardsMs' | 'windowMs' | 'epochMs'>;
  /** Findings kept in the result (all are counted); default 1000. */
  maxFindings?: number;
  /**
   * Entries with seq <= lastSeq were in the log before the run: verified (chain, partial,
   * duplicate) but never unexpected; those checks' findings on them carry `preexisting: true` and
   * are counted in countsBefore, apart from `counts`.
   */
  before?: { lastSeq: number };
  /** Called for every finding, in order, including those beyond maxFindings. */
  onFinding?: (f: Finding) => void;
  signal?: AbortSignal;
  onProgress?: (p: ScanProgress) => void;
  progressIntervalMs?: number;
  /** ms clock, for tests. */
  now?: () => number;
}

export interface CheckRun {
  name: string;
  ran: boolean;
  reason?: string;
}

export type VerdictStatus = 'pass' | 'fail' | 'unknown';

export interface ScanVerdict {
  status: VerdictStatus;
  reasons: string[];
}

export interface ScanResult {
  source: string;
  recipe: string;
  /** Items read, unreadable ones included. */
  entries: number;
  unreadable: number;
  firstSeq?: number;
  lastSeq?: number;
  findings: Finding[];
  /** Every finding counted by kind, including those beyond maxFindings (entries of this run only). */
  counts: Record<FindingKind, number>;
  /** The same for entries that were in the log before the run (option `before`). */
  countsBefore: Record<FindingKind, number>;
  findingsOmitted: number;
  checksRun: CheckRun[];
  checkpoints?: { count: number; verified: number };
  ledger?: { ops: number; ok: number; fail: number; indeterminate: number; 'not-sent': number };
  /** Set when the log could not be read to the end: the verdict is then unknown (at best). */
  readError?: string;
  verdict: ScanVerdict;
  durationMs: number;
}

function isLedger(x: ScanOptions['ledger']): x is Ledger {
  return x !== undefined && (x as Ledger).ops instanceof Map && (x as Ledger).digests instanceof Map;
}

/** The checks whose findings are about the content of one stored entry. */
const ENTRY_CHECKS = new Set(['chain', 'partial', 'duplicate']);

export function emptyCounts(): Record<FindingKind, number> {
  return Object.fromEntries(FINDING_KINDS.map((k) => [k, 0])) as Record<FindingKind, number>;
}

export async function scanLog(opts: ScanOptions): Promise<ScanResult> {
  const now = opts.now ?? (() => performance.now());
  const started = now();
  const { source, signal } = opts;
  const recipe = opts.recipe ?? referenceRecipe();
  const maxFindings = opts.maxFindings ?? 1000;
  const findings: Finding[] = [];
  const counts = emptyCounts();
  const countsBefore = emptyCounts();
  const lastSeqBefore = opts.before?.lastSeq ?? Number.NEGATIVE_INFINITY;
  let omitted = 0;
  const emit: Emit = (f) => {
    // Only findings about what an entry holds; a missing event or a rolled-back checkpoint of
    // this run is this run's, whatever seq the service gave it.
    if (f.seq !== undefined && f.seq <= lastSeqBefore && ENTRY_CHECKS.has(f.check)) {
      f.preexisting = true;
      countsBefore[f.kind]++;
    } else counts[f.kind]++;
    opts.onFinding?.(f);
    if (findings.length < maxFindings) findings.push(f);
    else omitted++;
  };

  const checks: Check[] = [];
  const checksRun: CheckRun[] = [];
  const chainUnavailable = source.notAvailable?.chain;
  let chain: ChainCheck | undefined;
  if (chainUnavailable) checksRun.push({ name: 'chain', ran: false, reason: chainUnavailable });
  else {
    chain = createChainCheck(emit, { recipe });
    checks.push(chain);
    checksRun.push({ name: 'chain', ran: true });
  }
  const ledger =
    opts.ledger === undefined ? undefined : isLedger(opts.ledger) ? opts.ledger : buildLedger(opts.ledger);
  checks.push(
    createPartialCheck(emit, {
      required: chainUnavailable
        ? REQUIRED_FIELDS.filter((f) => f !== 'hash' && f !== 'prevHash')
        : REQUIRED_FIELDS,
      ...(ledger ? { payloadDigests: ledger.digests } : {}),
      genesis: recipe.genesis,
    }),
  );
  checksRun.push({
    name: 'partial',
    ran: true,
    ...(ledger ? {} : { reason: 'payload digests not compared: no history given' }),
  });
  const spill = fileSpillStore();
  const duplicate = createDuplicateCheck(emit, { spill });
  checks.push(duplicate);
  checksRun.push({ name: 'duplicate', ran: true });
  let ledgerCheck: Check | undefined;
  if (ledger) {
    ledgerCheck = createLedgerCheck(emit, ledger, opts.before);
    checks.push(ledgerCheck);
    checksRun.push({ name: 'ledger', ran: true });
  } else checksRun.push({ name: 'ledger', ran: false, reason: 'no history given' });
  let checkpointCheck: ReturnType<typeof createCheckpointCheck> | undefined;
  if (opts.checkpoints) {
    checkpointCheck = createCheckpointCheck(emit, opts.checkpoints);
    checks.push(checkpointCheck);
    checksRun.push({ name: 'checkpoint', ran: true });
  } else checksRun.push({ name: 'checkpoint', ran: false, reason: 'no checkpoints given' });
  let clockCheck: ClockCheck | undefined;
  if (opts.clock) {
    clockCheck = createClockCheck(emit, { ...opts.clock, ledger, before: opts.before });
    checks.push(clockCheck);
  }

  let entries = 0;
  let unreadable = 0;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  let readError: string | undefined;
  /** With serverHashed: the entries whose digest the database computed. */
  let byServer = 0;
  const interval = opts.progressIntervalMs ?? 500;
  let nextProgress = started + interval;
  const progress = (item: SourceItem | undefined) => {
    const elapsedMs = now() - started;
    const p: ScanProgress = { entries, elapsedMs, rate: elapsedMs > 0 ? (entries * 1000) / elapsedMs : 0 };
    if (item?.seq !== undefined) p.seq = item.seq;
    if (item?.line !== undefined) p.line = item.line;
    opts.onProgress?.(p);
  };
  // With the reference recipe, a source that hashes cheaply itself hands the chain check its
  // hashes; so does a database that computes this recipe's digests itself (sources/pg-verify.ts).
  const serverHashed = chain && source.serverHashed?.recipe === recipe ? source.serverHashed : undefined;
  const referenceHashed =
    chain && !serverHashed && recipe.id === REFERENCE_RECIPE_ID && source.referenceHashedBatches;
  const hashedBy = serverHashed || referenceHashed ? chain : undefined;
  const rest = hashedBy ? checks.filter((c) => c !== hashedBy) : checks;
  const n = rest.length;
  const stream: AsyncIterable<HashedBatch> = serverHashed
    ? serverHashed.batches(signal)
    : referenceHashed
      ? source.referenceHashedBatches!(signal)
      : plainBatches(batchesOf(source, signal));
  // A recipe over the stored text must get it: hashing a re-rendering instead would be a guess.
  const needStored = recipe.needsStored === true && source.inMemory !== true;
  // A plain JSONL file of the reference format: ranges verified by workers (range-merge.ts).
  const ranges = referenceHashed && !needStored ? source.ranges : undefined;
  // A table that verifies itself in seq ranges (sources/pg-ranges.ts): the same join.
  const verifyRanges = referenceHashed && !needStored && !ranges ? source.verifyRanges : undefined;
  try {
    if ((ranges || verifyRanges) && hashedBy) {
      const merger = new RangeMerger({
        emit,
        chain: hashedBy,
        duplicate,
        ...(ledgerCheck ? { ledger: ledgerCheck } : {}),
        ...(checkpointCheck ? { checkpoint: checkpointCheck } : {}),
      });
      const context = rangeContextOf(ledger, opts.checkpoints, opts.before);
      const sync = () => {
        entries = merger.entries;
        unreadable = merger.unreadable;
        firstSeq = merger.firstSeq;
        lastSeq = merger.lastSeq;
      };
      const run = ranges
        ? (o: RangeRunOptions) => runRanges(ranges, context, merger, o)
        : (o: RangeRunOptions) => verifyRanges!(context, merger, o);
      await run({
        signal,
        onJoined: () => {
          sync();
          if (opts.onProgress && now() >= nextProgress) {
            nextProgress = now() + interval;
            progress(lastSeq === undefined ? undefined : { unreadable: true, reason: '', seq: lastSeq });
          }
        },
      });
      sync();
    } else
      for await (const { items: batch, hashes } of stream) {
        signal?.throwIfAborted();
        for (let b = 0; b < batch.length; b++) {
          const item = batch[b]!;
          if (needStored && !isUnreadable(item) && item.stored === undefined) throw new NoStoredText();
          entries++;
          if (isUnreadable(item)) unreadable++;
          if (item.seq !== undefined) {
            if (firstSeq === undefined) firstSeq = item.seq;
            lastSeq = item.seq;
          }
          // The chain check is first in `checks`: the findings' order is the same either way.
          if (hashedBy) {
            const h = hashes?.[b];
            if (h !== undefined) byServer++;
            hashedBy.observeHashed(item, h);
          }
          for (let c = 0; c < n; c++) rest[c]!.observe(item);
        }
        if (opts.onProgress && now() >= nextProgress) {
          nextProgress = now() + interval;
          progress(batch[batch.length - 1]);
        }
      }
    for (const c of checks) await c.finish(() => batchesOf(source, signal));
    if (serverHashed) {
      const run = checksRun.find((c) => c.name === 'chain');
      if (run)
        run.reason = `the database computed the digests of ${byServer} of ${entries} entries (verify in database); the client hashed the rest`;
    }
    if (clockCheck) checksRun.push(clockCheckRun(clockCheck));
  } catch (e) {
    if (signal?.aborted) throw signal.reason ?? e;
    if (isProgrammingError(e) || e instanceof UsageError) throw e;
    readError = `${source.describe}: ${(e as Error).message ?? String(e)}`;
  } finally {
    spill.dispose();
  }
  if (opts.onProgress) progress(undefined);

  const result: ScanResult = {
    source: source.describe,
    recipe: recipe.name,
    entries,
    unreadable,
    findings,
    counts,
    countsBefore,
    findingsOmitted: omitted,
    checksRun,
    verdict: { status: 'pass', reasons: [] },
    durationMs: Math.round(now() - started),
  };
  if (firstSeq !== undefined) result.firstSeq = firstSeq;
  if (lastSeq !== undefined) result.lastSeq = lastSeq;
  if (readError !== undefined) result.readError = readError;
  if (checkpointCheck && opts.checkpoints)
    result.checkpoints = { count: opts.checkpoints.checkpoints.length, verified: checkpointCheck.verified };
  if (ledger) result.ledger = { ops: ledger.ops.size, ...ledger.counts };
  result.verdict = verdictOf(result);
  return result;
}

class NoStoredText extends Error {
  constructor() {
    super(
      'the hash recipe hashes the stored text, but the source was opened without it (openSource option stored: true): nothing verified',
    );
  }
}

async function* plainBatches(batches: AsyncIterable<SourceItem[]>): AsyncIterable<HashedBatch> {
  for await (const items of batches) yield { items };
}

/** pass: no violation and evidence enough; fail: a violation; unknown: no evidence either way. */
export function verdictOf(
  r: Pick<ScanResult, 'counts' | 'entries' | 'readError' | 'checksRun'>,
): ScanVerdict {
  const reasons: string[] = [];
  for (const kind of FINDING_KINDS) {
    const c = r.counts[kind];
    if (c > 0 && SEVERITY[kind] === 'violation') reasons.push(`${c} ${kind} finding${c > 1 ? 's' : ''}`);
  }
  if (reasons.length) {
    if (r.readError) reasons.push(`the log was not read to the end: ${r.readError}`);
    return { status: 'fail', reasons };
  }
  if (r.readError) reasons.push(`the log could not be read to the end: ${r.readError}`);
  for (const c of r.checksRun) {
    if (c.name === 'chain' && !c.ran) reasons.push(`the chain check could not run: ${c.reason}`);
  }
  if (r.entries === 0 && !r.readError) reasons.push('the log is empty: nothing to verify');
  if (reasons.length) return { status: 'unknown', reasons };
  return { status: 'pass', reasons: [`${r.entries} entries, no violation`] };
}

/** The checks over entries already in memory (e.g. a copy with planted canaries). */
export function scanEntries(
  items: readonly SourceItem[],
  opts: Omit<ScanOptions, 'source'> = {},
): Promise<ScanResult> {
  return scanLog({ ...opts, source: fromArray(items) });
}
