/**
 * A small seeded PRNG (sfc32, seeded through splitmix32) so that a workload plan is a pure
 * function of (seed, op index): op i can be generated on demand, in any order, with no state
 * carried between ops. Not cryptographic; it only has to be repeatable and well spread.
 */

function splitmix32(x: number): number {
  let z = (x + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}

export type Random32 = () => number;

/** sfc32 state; a class rather than a closure so that making one per op stays cheap. */
class Sfc32 {
  constructor(
    private a: number,
    private b: number,
    private c: number,
    private d: number,
  ) {}
  next(): number {
    const t = (((this.a + this.b) | 0) + this.d) | 0;
    this.d = (this.d + 1) | 0;
    this.a = this.b ^ (this.b >>> 9);
    this.b = (this.c + (this.c << 3)) | 0;
    this.c = (this.c << 21) | (this.c >>> 11);
    this.c = (this.c + t) | 0;
    return t >>> 0;
  }
}

/** A generator of uint32 values determined by `seed` and `stream` (e.g. the op index). */
export function seededRandom(seed: number, stream = 0): Random32 {
  // Mix the high and low halves of both so that seeds and indexes above 2^32 still differ.
  const s0 = splitmix32((seed >>> 0) ^ splitmix32(Math.floor(seed / 2 ** 32)));
  const s1 = splitmix32((stream >>> 0) ^ splitmix32(Math.floor(stream / 2 ** 32) ^ 0x5bd1e995));
  const a = splitmix32(s0 ^ 0xa5a5a5a5);
  const b = splitmix32(s1 ^ a);
  const c = splitmix32(a ^ b ^ 0x1b873593);
  const g = new Sfc32(a, b, c, 1);
  for (let i = 0; i < 12; i++) g.next();
  return g.next.bind(g);
}

/** A float in [0, 1) from a generator. */
export function uniform(r: Random32): number {
  return r() / 4294967296;
}

/** A stream number for a named purpose (faults, canaries, ...), so that each draws independently from one seed. */
export function streamOf(purpose: string): number {
  let h = 2166136261;
  for (let i = 0; i < purpose.length; i++) h = Math.imul(h ^ purpose.charCodeAt(i), 16777619);
  return h >>> 0;
}
