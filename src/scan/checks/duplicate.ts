/**
 * The duplicate check: an event id stored more than once. The first pass keeps a 64-bit fingerprint
 * of each id (8 bytes in an open-addressing table, not the strings). With a spill store, the table
 * has a fixed size: when it is full its fingerprints go to the store as one sorted run and it starts
 * again, so memory stays flat however long the log; at the end the runs are merged to find
 * fingerprints seen twice. Ids whose fingerprint repeats are then confirmed exactly by a second read
 * of the log (only when there are any), so a fingerprint collision never becomes a finding.
 */
import type { SourceItem } from '../types.ts';
import { type Check, type Emit, finding } from './check.ts';

const CHECK = 'duplicate';

/** Two independent 32-bit FNV-1a-style hashes over UTF-16 code units, with a final avalanche. */
export function fingerprint(s: string): [number, number] {
  fingerprintTo(s, pair, 0);
  return [pair[0]!, pair[1]!];
}
const pair = new Uint32Array(2);

/** fingerprint(s) written to out[at], out[at + 1] (no array made: the range workers' hot path). */
export function fingerprintTo(s: string, out: Uint32Array, at: number): void {
  let a = 0x811c9dc5;
  let b = 0x01000193 ^ s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    a = Math.imul(a ^ c, 0x01000193);
    b = Math.imul(b ^ c, 0x5bd1e995);
    b ^= b >>> 15;
  }
  a ^= a >>> 16;
  a = Math.imul(a, 0x85ebca6b);
  a ^= a >>> 13;
  b ^= b >>> 16;
  b = Math.imul(b, 0xc2b2ae35);
  b ^= b >>> 16;
  out[at] = a >>> 0;
  out[at + 1] = (b | 1) >>> 0; // b is never 0: 0/0 marks an empty slot
}

/** A set of 64-bit fingerprints: 8 bytes a slot, kept under 70 % full. */
export class FingerprintSet {
  private slots: Uint32Array;
  private mask: number;
  size = 0;

  constructor(initialCapacity = 1 << 16) {
    let cap = 1 << 4;
    while (cap < initialCapacity) cap <<= 1;
    this.slots = new Uint32Array(cap * 2);
    this.mask = cap - 1;
  }

  get bytes(): number {
    return this.slots.byteLength;
  }

  /** Adds the fingerprint; false when it was already there. */
  add(a: number, b: number): boolean {
    let i = a & this.mask;
    const s = this.slots;
    for (;;) {
      const sb = s[i * 2 + 1]!;
      if (sb === 0) break;
      if (sb === b && s[i * 2] === a) return false;
      i = (i + 1) & this.mask;
    }
    s[i * 2] = a;
    s[i * 2 + 1] = b;
    this.size++;
    if (this.size * 10 > (this.mask + 1) * 7) this.grow();
    return true;
  }

  private grow(): void {
    const old = this.slots;
    const cap = (this.mask + 1) * 2;
    this.slots = new Uint32Array(cap * 2);
    this.mask = cap - 1;
    for (let j = 0; j < old.length; j += 2) {
      const b = old[j + 1]!;
      if (b === 0) continue;
      const a = old[j]!;
      let i = a & this.mask;
      while (this.slots[i * 2 + 1] !== 0) i = (i + 1) & this.mask;
      this.slots[i * 2] = a;
      this.slots[i * 2 + 1] = b;
    }
  }

  addString(s: string): boolean {
    const [a, b] = fingerprint(s);
    return this.add(a, b);
  }

  /** Every fingerprint as a 64-bit value (b * 2^32 + a), sorted ascending. */
  sortedValues(): BigUint64Array {
    const out = new BigUint64Array(this.size);
    const o32 = new Uint32Array(out.buffer);
    const s = this.slots;
    let j = 0;
    for (let i = 0; i < s.length; i += 2) {
      if (s[i + 1] === 0) continue;
      o32[j++] = s[i]!;
      o32[j++] = s[i + 1]!;
    }
    return out.sort();
  }

  /**
   * sortedValues() without a copy: the fingerprints are moved to the front of the table's own
   * memory and sorted there (a spill then costs no second 23 MiB array). The table is unusable
   * until clear().
   */
  takeSorted(): BigUint64Array {
    const s = this.slots;
    let j = 0;
    for (let i = 0; i < s.length; i += 2) {
      if (s[i + 1] === 0) continue;
      s[j++] = s[i]!; // j <= i: nothing unread is overwritten
      s[j++] = s[i + 1]!;
    }
    return new BigUint64Array(s.buffer, s.byteOffset, this.size).sort();
  }

  clear(): void {
    this.slots.fill(0);
    this.size = 0;
  }
}

export function fingerprintValue(s: string): bigint {
  const [a, b] = fingerprint(s);
  return (BigInt(b) << 32n) | BigInt(a);
}

/** Where full fingerprint tables go as sorted runs (src/scan/spill-file.ts keeps them in temp files). */
export interface SpillStore {
  write(run: BigUint64Array): void;
  /** Run i, in order, in chunks. */
  read(index: number): Iterable<BigUint64Array>;
  readonly runs: number;
}

export interface DuplicateCheckOptions {
  /** Without a store the table grows with the log (8-16 B an id); with one it stays at maxSlots. */
  spill?: SpillStore;
  /** Table size (slots of 8 bytes) before a spill; default 2^22 (32 MiB, ~2.9 million ids). */
  maxSlots?: number;
}

/** Pair i of a (a, b) pair array is before pair j in 64-bit value order (b * 2^32 + a). */
function pairLess(x: Uint32Array, i: number, y: Uint32Array, j: number): boolean {
  const xb = x[i + 1]!;
  const yb = y[j + 1]!;
  return xb < yb || (xb === yb && x[i]! < y[j]!);
}

/**
 * The pairs of every run in one array sorted by value (native sort: ~30 ms for a million ids here,
 * against ~100-300 ms for merging the sorted runs pairwise in JavaScript, which also competed with
 * the range workers for the cores); `repeat` gets each value found more than once, inside a run or
 * across runs. The runs themselves are not changed.
 */
function sortRuns(runs: Uint32Array[], repeat: (a: number, b: number) => void): Uint32Array {
  let n = 0;
  for (const r of runs) n += r.length;
  const all = new Uint32Array(n);
  let o = 0;
  for (const r of runs) {
    all.set(r, o);
    o += r.length;
  }
  new BigUint64Array(all.buffer, 0, n / 2).sort();
  for (let i = 2; i < n; i += 2)
    if (all[i] === all[i - 2] && all[i + 1] === all[i - 1]) repeat(all[i]!, all[i + 1]!);
  return all;
}

/** Pair (a, b) is in the sorted pair array x (binary search). */
function hasPair(x: Uint32Array, a: number, b: number): boolean {
  let lo = 0;
  let hi = x.length / 2;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    const xb = x[mid * 2 + 1]!;
    const xa = x[mid * 2]!;
    if (xb < b || (xb === b && xa < a)) lo = mid + 1;
    else hi = mid;
  }
  return lo * 2 < x.length && x[lo * 2] === a && x[lo * 2 + 1] === b;
}

/** The union of two sorted pair arrays, sorted; `repeat` gets each value found in both. */
function mergePairs(x: Uint32Array, y: Uint32Array, repeat: (a: number, b: number) => void): Uint32Array {
  const out = new Uint32Array(x.length + y.length);
  let i = 0;
  let j = 0;
  let o = 0;
  while (i < x.length && j < y.length) {
    if (pairLess(y, j, x, i)) {
      out[o++] = y[j++]!;
      out[o++] = y[j++]!;
    } else {
      if (x[i] === y[j] && x[i + 1] === y[j + 1]) repeat(x[i]!, x[i + 1]!);
      out[o++] = x[i++]!;
      out[o++] = x[i++]!;
    }
  }
  out.set(x.subarray(i), o);
  out.set(y.subarray(j), o + x.length - i);
  return out;
}

/** Values present more than once across sorted sources (k-way merge). */
function repeatsAcross(sources: Iterable<BigUint64Array>[]): Set<bigint> {
  const iters = sources.map((s) => s[Symbol.iterator]());
  const chunks: (BigUint64Array | undefined)[] = iters.map(() => undefined);
  const pos = iters.map(() => 0);
  const next = (k: number): boolean => {
    while (chunks[k] === undefined || pos[k]! >= chunks[k]!.length) {
      const r = iters[k]!.next();
      if (r.done) {
        chunks[k] = undefined;
        return false;
      }
      chunks[k] = r.value;
      pos[k] = 0;
    }
    return true;
  };
  const live = new Set<number>();
  for (let k = 0; k < iters.length; k++) if (next(k)) live.add(k);
  const repeats = new Set<bigint>();
  let last: bigint | undefined;
  while (live.size) {
    let min: bigint | undefined;
    let at = -1;
    for (const k of live) {
      const v = chunks[k]![pos[k]!]!;
      if (min === undefined || v < min) {
        min = v;
        at = k;
      }
    }
    if (min === last) repeats.add(min!);
    last = min;
    pos[at]!++;
    if (!next(at)) live.delete(at);
  }
  return repeats;
}

interface Occurrence {
  seq?: number;
  line?: number;
}

export function createDuplicateCheck(
  emit: Emit,
  opts: DuplicateCheckOptions = {},
): Check & {
  readonly fingerprints: FingerprintSet;
  /**
   * observe() for each id of a range known only by its (a, b) fingerprint pair, in any order: a
   * range's fingerprints, kept as they are and sorted together with the other runs when the spill
   * store takes them or the check finishes (no table insert, whose cache misses cost the main
   * thread ~0.4 us an id). The array is read, never changed.
   */
  observeRun(pairs: Uint32Array): void;
  /**
   * Sorts the runs given so far, now (a caller with a core to spare: the range runner once its last
   * ranges are out), so that what finish() has left is the runs given after: a small sort and a
   * merge instead of one sort of everything.
   */
  compactRuns(): void;
} {
  const maxSlots = opts.maxSlots ?? 1 << 22;
  const fingerprints = new FingerprintSet(Math.min(1 << 16, maxSlots));
  const suspects = new Set<string>();
  const spill = opts.spill;
  /** Fingerprints seen twice in the table (ids known only by fingerprint). */
  const suspectPairs = new Set<bigint>();
  const threshold = Math.floor(maxSlots * 0.7) - 1;
  const room = () => {
    if (spill && fingerprints.size >= threshold) {
      spill.write(fingerprints.takeSorted());
      fingerprints.clear();
    }
  };
  const repeat = (a: number, b: number) => {
    suspectPairs.add((BigInt(b) << 32n) | BigInt(a));
  };
  /** The runs observeRun was given since the last compaction, in any order. */
  let runs: Uint32Array[] = [];
  /** The runs before them, sorted (compactRuns), repeats inside found. */
  let base: Uint32Array | undefined;
  let runIds = 0;
  /** Every run so far as one sorted array; what is left is merged with the sorted base. */
  const mergeRuns = (): Uint32Array | undefined => {
    if (runs.length) {
      const sorted = sortRuns(runs, repeat);
      base = base ? mergePairs(base, sorted, repeat) : sorted;
      runs = [];
    }
    return base;
  };
  return {
    name: CHECK,
    fingerprints,
    observe(item: SourceItem) {
      const id = item.eventId;
      if (id === undefined || id === '') return;
      room();
      if (!fingerprints.addString(id)) suspects.add(id);
    },
    observeRun(pairs: Uint32Array) {
      if (pairs.length === 0) return;
      runs.push(pairs);
      runIds += pairs.length / 2;
      // Memory stays flat with a spill store: the runs go to it as one run, as a full table does.
      if (spill && runIds >= threshold) {
        const all = mergeRuns()!;
        spill.write(new BigUint64Array(all.buffer, all.byteOffset, all.length / 2));
        base = undefined;
        runIds = 0;
      }
    },
    compactRuns() {
      mergeRuns();
    },
    async finish(reread) {
      // Repeats inside and across the runs are found here; what is left: the runs against the
      // spilled runs (merged below with the table) or against the table.
      if (spill && spill.runs > 0) {
        const held = mergeRuns();
        if (held) spill.write(new BigUint64Array(held.buffer, held.byteOffset, held.length / 2));
      } else if (fingerprints.size > 0) {
        const held = mergeRuns();
        if (held) {
          const t = fingerprints.takeSorted();
          mergePairs(new Uint32Array(t.buffer, t.byteOffset, t.length * 2), held, repeat);
          fingerprints.clear();
        }
      } else if (runs.length) {
        // Nothing else to compare with (a range scan): the runs after the base need not be merged
        // into it, only looked up in it.
        const rest = sortRuns(runs, repeat);
        if (base)
          for (let i = 0; i < rest.length; i += 2)
            if (hasPair(base, rest[i]!, rest[i + 1]!)) repeat(rest[i]!, rest[i + 1]!);
      }
      runs = [];
      base = undefined;
      let suspectValues: Set<bigint> | undefined = suspectPairs.size ? new Set(suspectPairs) : undefined;
      if (spill && spill.runs > 0) {
        // the table is not needed as a table any more: its last run is sorted in place
        const sources: Iterable<BigUint64Array>[] = [[fingerprints.takeSorted()]];
        for (let i = 0; i < spill.runs; i++) sources.push(spill.read(i));
        const across = repeatsAcross(sources);
        if (suspectValues) for (const v of across) suspectValues.add(v);
        else suspectValues = across;
      }
      if (suspects.size === 0 && !suspectValues?.size) return;
      const seen = new Map<string, Occurrence[]>();
      for await (const batch of reread()) {
        for (const item of batch) {
          const id = item.eventId;
          if (id === undefined || id === '') continue;
          if (!suspects.has(id) && !suspectValues?.has(fingerprintValue(id))) continue;
          const occ: Occurrence = {};
          if (item.seq !== undefined) occ.seq = item.seq;
          if (item.line !== undefined) occ.line = item.line;
          const list = seen.get(id);
          if (list) list.push(occ);
          else seen.set(id, [occ]);
        }
      }
      for (const [id, list] of seen) {
        if (list.length < 2) continue; // a fingerprint collision, not a duplicate
        const first = list[0]!;
        for (const again of list.slice(1)) {
          emit(
            finding('duplicate', CHECK, {
              seq: again.seq,
              line: again.line,
              eventId: id,
              message: `event id ${id} is stored ${list.length} times (first at ${first.seq !== undefined ? `seq ${first.seq}` : `line ${first.line}`})`,
              expected: first.seq !== undefined ? String(first.seq) : undefined,
              found: again.seq !== undefined ? String(again.seq) : undefined,
              detail: { occurrences: list },
            }),
          );
        }
      }
    },
  };
}
