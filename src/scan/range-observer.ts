/**
 * The per-entry work of one range, whatever the range is cut from (a seq range of a table here;
 * range-scan.ts does the same for byte ranges of a file): the chain check from a start state, the
 * partial check, "no writer attempted it", the first occurrence of each ledger id and the entries
 * checkpoints name as events, and the event-id fingerprints. Events are in the order the one-thread
 * scan emits findings (per entry: chain, partial, ledger, checkpoint).
 */
import type { ChainState } from './checks/chain.ts';
import { createChainCheck } from './checks/chain.ts';
import type { Emit } from './checks/check.ts';
import { fingerprintTo } from './checks/duplicate.ts';
import { buildLedger, createLedgerCheck, type Ledger } from './checks/ledger.ts';
import { createPartialCheck, REQUIRED_FIELDS } from './checks/partial.ts';
import { filledCanonical } from './line-items.ts';
import { referenceRecipe } from './recipe.ts';
import { type Finding, isUnreadable, type LedgerOp, type SourceItem } from './types.ts';

export const RANGE_SUMMARY_VERSION = 1;

/** What every range of one scan shares (sent once to each worker). */
export interface RangeContext {
  /** The ledger's ops (one per event id), when a history is given. */
  ledgerOps?: LedgerOp[];
  before?: { lastSeq: number };
  /** The seqs signed checkpoints name. */
  checkpointSeqs?: number[];
}

/** The entry a checkpoint names, as the checkpoint check needs it. */
export interface CheckpointItem {
  seq: number;
  unreadable?: true;
  hash?: string;
  line?: number;
  eventId?: string;
}

export type RangeEvent =
  | { f: Finding }
  | { present: { eventId: string; seq?: number; line?: number } }
  | { cp: CheckpointItem };

/** A range's result. Versioned: summaries are written to files and merged elsewhere (scan merge). */
export interface RangeSummary {
  version: typeof RANGE_SUMMARY_VERSION;
  /** The file (or the table's description) and the range's place in it: byte offsets for a file, [index, index + 1) for a seq range. */
  file: string;
  start: number;
  end: number;
  /** Lines in the range, blank ones included (0 for a table). */
  lines: number;
  /** Items (non-blank lines), unreadable ones included. */
  entries: number;
  unreadable: number;
  firstSeq?: number;
  lastSeq?: number;
  maxSeq?: number;
  /** The chain state the range was checked from; startExact: it is the true one. */
  startState: ChainState;
  startExact: boolean;
  /** ChainCheck.forkReads after the start. */
  forkReads: number[];
  endState: ChainState;
  events: RangeEvent[];
  /**
   * (a, b) fingerprint pairs of every non-empty event id (value b * 2^32 + a), in log order; a
   * summary file lists them sorted by value (summary-file.ts); the duplicate check takes them in
   * any order and sorts all the ranges' pairs together once.
   */
  fingerprints: Uint32Array;
}

let ledgerFor: { ops: LedgerOp[] | undefined; ledger: Ledger | undefined } = {
  ops: undefined,
  ledger: undefined,
};
function ledgerOf(ops: LedgerOp[] | undefined): Ledger | undefined {
  if (ledgerFor.ops !== ops) ledgerFor = { ops, ledger: ops ? buildLedger(ops) : undefined };
  return ledgerFor.ledger;
}

export interface RangeObserver {
  /** Warm-up entries (before the range): the chain check only, silently. */
  warm(item: SourceItem, hash: string | undefined): void;
  /** Ends the warm-up (or sets the true start state): what the summary's startState will be. */
  start(state?: ChainState): void;
  observe(item: SourceItem, hash: string | undefined): void;
  /** The summary; `where` names the range (file or source, and its start and end positions). */
  summary(
    where: { file: string; start: number; end: number; lines: number },
    startExact: boolean,
  ): RangeSummary;
}

export function createRangeObserver(ctx: RangeContext): RangeObserver {
  const recipe = referenceRecipe();
  const events: RangeEvent[] = [];
  let warm = true;
  const emit: Emit = (f) => {
    if (!warm) events.push({ f });
  };
  const chain = createChainCheck(emit, { recipe });
  const ledger = ledgerOf(ctx.ledgerOps);
  const digests = ledger !== undefined && ledger.digests.size > 0;
  const partial = createPartialCheck(emit, {
    required: REQUIRED_FIELDS,
    ...(ledger ? { payloadDigests: ledger.digests } : {}),
    genesis: recipe.genesis,
  });
  const ledgerCheck = ledger ? createLedgerCheck(emit, ledger, ctx.before) : undefined;
  const lastSeqBefore = ctx.before?.lastSeq ?? Number.NEGATIVE_INFINITY;
  const presentHere = new Set<string>();
  const cpSeqs = ctx.checkpointSeqs?.length ? new Set(ctx.checkpointSeqs) : undefined;
  let fps = new Uint32Array(1 << 16);
  let nf = 0;
  let entries = 0;
  let unreadable = 0;
  let firstSeq: number | undefined;
  let lastSeq: number | undefined;
  let maxSeq: number | undefined;
  let startState: ChainState | undefined;

  return {
    warm(item, hash) {
      chain.observeHashed(item, hash);
    },
    start(state) {
      if (state) chain.importState(state);
      startState = chain.exportState();
      chain.forkReads.length = 0;
      warm = false;
    },
    observe(item, hash) {
      entries++;
      if (isUnreadable(item)) unreadable++;
      const seq = item.seq;
      if (seq !== undefined) {
        if (firstSeq === undefined) firstSeq = seq;
        lastSeq = seq;
        if (maxSeq === undefined || seq > maxSeq) maxSeq = seq;
      }
      chain.observeHashed(item, hash);
      // A canonical entry with every field non-empty is clean for the partial check, unless a
      // payload digest is to be compared.
      if (digests || !filledCanonical(item)) partial.observe(item);
      const id = item.eventId;
      if (id !== undefined && id !== '') {
        if (nf + 2 > fps.length) {
          const f2 = new Uint32Array(fps.length * 2);
          f2.set(fps);
          fps = f2;
        }
        fingerprintTo(id, fps, nf);
        nf += 2;
        if (ledgerCheck && ledger && (seq === undefined || seq > lastSeqBefore)) {
          if (!ledger.ops.has(id))
            ledgerCheck.observe(item); // "no writer attempted it": no state
          else if (!presentHere.has(id)) {
            presentHere.add(id);
            const p: { eventId: string; seq?: number; line?: number } = { eventId: id };
            if (seq !== undefined) p.seq = seq;
            if (item.line !== undefined) p.line = item.line;
            events.push({ present: p });
          }
        }
      }
      if (cpSeqs && seq !== undefined && cpSeqs.has(seq)) {
        const cp: CheckpointItem = { seq };
        if (isUnreadable(item)) cp.unreadable = true;
        else {
          cp.hash = item.hash;
          cp.eventId = item.eventId;
        }
        if (item.line !== undefined) cp.line = item.line;
        events.push({ cp });
      }
    },
    summary(where, startExact) {
      if (!startState) throw new Error('range observer: start() was not called');
      const s: RangeSummary = {
        version: RANGE_SUMMARY_VERSION,
        ...where,
        entries,
        unreadable,
        startState,
        startExact,
        forkReads: [...chain.forkReads],
        endState: chain.exportState(),
        events,
        fingerprints: fps.slice(0, nf),
      };
      if (firstSeq !== undefined) s.firstSeq = firstSeq;
      if (lastSeq !== undefined) s.lastSeq = lastSeq;
      if (maxSeq !== undefined) s.maxSeq = maxSeq;
      return s;
    },
  };
}
