/**
 * The duplicate check: an event id stored more than once. Memory stays bounded by a fixed cost per
 * id: the first pass keeps a 64-bit fingerprint of each id (8 bytes in an open-addressing table,
 * not the strings), and only the ids whose fingerprint repeats are confirmed exactly by a second
 * read of the log (a fingerprint collision is about 1 in 10^6 on 10 million ids; it never becomes a
 * finding because the second pass compares the real strings).
 */
import type { SourceItem } from '../types.ts';
import { type Check, type Emit, finding } from './check.ts';

const CHECK = 'duplicate';

/** Two independent 32-bit FNV-1a-style hashes over UTF-16 code units, with a final avalanche. */
function fingerprint(s: string): [number, number] {
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
  return [a >>> 0, (b | 1) >>> 0]; // b is never 0: 0/0 marks an empty slot
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
}

interface Occurrence {
  seq?: number;
  line?: number;
}

export function createDuplicateCheck(emit: Emit): Check & { readonly fingerprints: FingerprintSet } {
  const fingerprints = new FingerprintSet();
  const suspects = new Set<string>();
  return {
    name: CHECK,
    fingerprints,
    observe(item: SourceItem) {
      const id = item.eventId;
      if (id === undefined || id === '') return;
      if (!fingerprints.addString(id)) suspects.add(id);
    },
    async finish(reread) {
      if (suspects.size === 0) return;
      const seen = new Map<string, Occurrence[]>();
      for await (const batch of reread()) {
        for (const item of batch) {
          const id = item.eventId;
          if (id === undefined || !suspects.has(id)) continue;
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
