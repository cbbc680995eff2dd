/**
 * The chain check: each entry's stored hash against the recomputed one, each prev_hash against the
 * previous entry's hash, and the sequence (gaps, repeats, disorder, forks). One incident yields one
 * finding: a deleted entry is one gap, not a cascade of broken links over the rest of the log; an
 * adjacent swapped pair is one disorder finding (the check looks one entry ahead for that).
 */
import type { HashRecipe } from '../recipe.ts';
import { isUnreadable, type LogEntry, type SourceItem } from '../types.ts';
import { type Check, type Emit, finding } from './check.ts';

const CHECK = 'chain';
/** How many recent entries a link may point back to and still be recognised (forks). */
const RING = 16;

interface Seen {
  seq: number;
  hash: string;
  prevHash: string;
  /** Its own stored hash did not match: the next link mismatch is the same incident. */
  contentBad: boolean;
  children: number;
}

export interface ChainCheckOptions {
  recipe: HashRecipe;
}

/**
 * Everything the chain check carries from one entry to the next: with it, a range of the log can be
 * checked on its own and the results joined (range-scan.ts). Plain data (structured-clonable).
 */
export interface ChainState {
  prev?: Seen;
  /** prev is the ring's last element (an unreadable item's placeholder is not in the ring). */
  prevInRing: boolean;
  ring: Seen[];
  started: boolean;
  held?: LogEntry;
  heldHash?: string;
  linkUnknown: boolean;
  seqLoose: boolean;
  /** undefined: no fork since the state was imported (or the check made); see forkReads. */
  lastForkAt?: number;
}

/** observeHashed(item, hash): item with the hash the recipe would compute for it, when known. */
export type ChainCheck = Check & {
  observeHashed(item: SourceItem, recomputed: string | undefined): void;
  /** The state now (a copy). lastForkAt is left out while it is still the one the check started with. */
  exportState(): ChainState;
  /** Continues from a state (lastForkAt absent: -Infinity, as a new check). */
  importState(s: ChainState): void;
  /**
   * The seqs at which the fork rule read lastForkAt while it was still the starting one: a range
   * checked from a guessed start state behaves as with the true state T when, for each of them,
   * `seq - T.lastForkAt > 16` (range-merge.ts).
   */
  readonly forkReads: number[];
};

export function createChainCheck(emit: Emit, opts: ChainCheckOptions): ChainCheck {
  const { recipe } = opts;
  let prev: Seen | undefined;
  let started = false;
  let held: LogEntry | undefined;
  let heldHash: string | undefined;
  /** The previous item was unreadable: its hash is unknown, the next link cannot be checked. */
  let linkUnknown = false;
  /** An unreadable item without a seq came before: any higher seq is acceptable next. */
  let seqLoose = false;
  const ring: Seen[] = [];
  // genesis '' means "empty, or zeros": a first parent stored as NULL, empty or all zero bytes.
  const zeroGenesis = (h: string) => recipe.genesis === '' && /^0+$/.test(h);
  let lastForkAt = Number.NEGATIVE_INFINITY;
  /** lastForkAt has not been set since the start (or importState). */
  let forkFromStart = true;
  const forkReads: number[] = [];

  const report = (e: LogEntry, message: string, extra: { expected?: string; found?: string } = {}) =>
    emit(finding('broken-chain', CHECK, { seq: e.seq, line: e.line, eventId: e.eventId, message, ...extra }));

  function checkContent(e: LogEntry, known: string | undefined): boolean {
    if (e.hash === '') return false; // the partial check reports the empty field
    let recomputed: string;
    try {
      recomputed = known ?? recipe.hash(e.prevHash, e);
    } catch (err) {
      report(e, `the hash of seq ${e.seq} cannot be recomputed: ${(err as Error).message}`);
      return true;
    }
    if (recomputed === e.hash) return false;
    report(e, `seq ${e.seq}: stored hash differs from the recomputed one (content changed after hashing)`, {
      expected: recomputed,
      found: e.hash,
    });
    return true;
  }

  function accept(e: LogEntry, contentBad: boolean): void {
    if (e.prevHash !== '') {
      if (prev && prev.hash === e.prevHash) prev.children++;
      else {
        const parent = ring.find((r) => r.hash === e.prevHash);
        if (parent) parent.children++;
      }
    }
    prev = { seq: e.seq, hash: e.hash, prevHash: e.prevHash, contentBad, children: 0 };
    ring.push(prev);
    if (ring.length > RING) ring.shift();
    started = true;
    linkUnknown = false;
    seqLoose = false;
  }

  function farFromLastFork(seq: number): boolean {
    if (forkFromStart) forkReads.push(seq);
    return seq - lastForkAt > RING;
  }

  function checkLink(e: LogEntry, p: Seen): void {
    if (linkUnknown || p.hash === '' || e.prevHash === p.hash) return;
    // An empty prev_hash is the partial check's finding, unless the chain starts at empty (genesis
    // ''): then only the first entry may have it, and here it is a broken link.
    if (e.prevHash === '' && recipe.genesis !== '') return;
    if (p.contentBad) return; // the previous entry's own finding covers this incident
    const target = ring.find((r) => r !== p && r.hash === e.prevHash);
    if (target) {
      if (target.children > 0) {
        report(
          e,
          `fork: seq ${e.seq} follows seq ${target.seq}, which already has a successor (two entries claim the same predecessor)`,
          { expected: p.hash, found: e.prevHash },
        );
        lastForkAt = e.seq;
        forkFromStart = false;
      } else if (farFromLastFork(e.seq)) {
        report(e, `seq ${e.seq} links to seq ${target.seq}, skipping seq ${target.seq + 1}..${p.seq}`, {
          expected: p.hash,
          found: e.prevHash,
        });
      } // else: the other branch of a fork just reported, going on
      return;
    }
    report(
      e,
      `seq ${e.seq}: prev_hash differs from the hash of seq ${p.seq} (that entry was rewritten, or this link was edited)`,
      { expected: p.hash, found: e.prevHash },
    );
  }

  function process(e: LogEntry, known: string | undefined): void {
    const contentBad = checkContent(e, known);
    const p = prev;
    if (p === undefined) {
      if (!started && e.prevHash !== '' && e.prevHash !== recipe.genesis && !zeroGenesis(e.prevHash)) {
        report(
          e,
          `the log starts at seq ${e.seq} whose prev_hash is not the genesis value: the entries before it are missing`,
          { expected: recipe.genesis, found: e.prevHash },
        );
      }
      accept(e, contentBad);
      return;
    }
    if (e.seq === p.seq + 1 || (seqLoose && e.seq > p.seq)) {
      if (!contentBad) checkLink(e, p); // one finding per entry: its own hash already failed
    } else if (e.seq > p.seq) {
      const from = p.seq + 1;
      const to = e.seq - 1;
      const range = from === to ? `seq ${from} is` : `seq ${from}..${to} (${to - from + 1} entries) are`;
      const intact = e.prevHash !== '' && e.prevHash === p.hash;
      report(
        e,
        intact
          ? `${range} absent, but seq ${e.seq} links to seq ${p.seq}: a numbering gap, no entry removed from the chain`
          : `${range} missing: a gap in the sequence`,
        { expected: String(from), found: String(e.seq) },
      );
    } else if (e.seq === p.seq && e.hash === p.hash && e.prevHash === p.prevHash) {
      report(e, `seq ${e.seq} is stored twice (identical entries)`, {
        expected: String(p.seq + 1),
        found: String(e.seq),
      });
      return; // the copy changes nothing about what follows
    } else if (e.seq === p.seq) {
      const sibling = e.prevHash !== '' && e.prevHash === p.prevHash;
      report(
        e,
        sibling
          ? `fork: two different entries claim seq ${e.seq} after the same predecessor`
          : `seq ${e.seq} is repeated by a different entry`,
        { expected: p.hash, found: e.hash },
      );
      if (sibling) {
        lastForkAt = e.seq;
        forkFromStart = false;
      }
    } else {
      report(e, `seq ${e.seq} is stored after seq ${p.seq}: entries out of order`, {
        expected: String(p.seq + 1),
        found: String(e.seq),
      });
    }
    accept(e, contentBad);
  }

  /** `next` came right after `h` but belongs before it: one swapped pair. */
  function isSwap(h: LogEntry, next: LogEntry): boolean {
    if (next.seq >= h.seq) return false;
    if (prev === undefined)
      return !started && next.prevHash === recipe.genesis && h.prevHash !== recipe.genesis;
    return !seqLoose && h.seq > prev.seq + 1 && next.seq === prev.seq + 1;
  }

  function observeHashed(item: SourceItem, recomputed: string | undefined) {
    if (isUnreadable(item)) {
      if (held) {
        process(held, heldHash);
        held = undefined;
      }
      started = true;
      linkUnknown = true;
      if (item.seq !== undefined && (prev === undefined || item.seq > prev.seq)) {
        prev = { seq: item.seq, hash: '', prevHash: '', contentBad: false, children: 0 };
      } else {
        seqLoose = true;
      }
      return;
    }
    const h = held;
    if (h === undefined) {
      held = item;
      heldHash = recomputed;
      return;
    }
    const hHash = heldHash;
    held = undefined;
    if (isSwap(h, item)) {
      report(item, `seq ${item.seq} is stored after seq ${h.seq}: a swapped pair, entries out of order`, {
        expected: String(item.seq),
        found: String(h.seq),
      });
      process(item, recomputed);
      process(h, hHash);
      return;
    }
    process(h, hHash);
    held = item;
    heldHash = recomputed;
  }

  return {
    name: CHECK,
    observe(item: SourceItem) {
      observeHashed(item, undefined);
    },
    observeHashed,
    forkReads,
    exportState(): ChainState {
      const copy = (r: Seen): Seen => ({ ...r });
      const ringCopy = ring.map(copy);
      const prevInRing = prev !== undefined && ring.length > 0 && ring[ring.length - 1] === prev;
      const s: ChainState = {
        prevInRing,
        ring: ringCopy,
        started,
        linkUnknown,
        seqLoose,
      };
      if (prev) s.prev = prevInRing ? ringCopy[ringCopy.length - 1]! : copy(prev);
      if (held) s.held = held;
      if (heldHash !== undefined) s.heldHash = heldHash;
      if (!forkFromStart) s.lastForkAt = lastForkAt;
      return s;
    },
    importState(s: ChainState) {
      ring.length = 0;
      for (const r of s.ring) ring.push({ ...r });
      prev = s.prev === undefined ? undefined : s.prevInRing ? ring[ring.length - 1] : { ...s.prev };
      started = s.started;
      held = s.held;
      heldHash = s.heldHash;
      linkUnknown = s.linkUnknown;
      seqLoose = s.seqLoose;
      lastForkAt = s.lastForkAt ?? Number.NEGATIVE_INFINITY;
      forkFromStart = true;
      forkReads.length = 0;
    },
    finish() {
      if (held) process(held, heldHash);
      held = undefined;
    },
  };
}
