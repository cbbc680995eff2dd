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

/** A generator of uint32 values determined by `seed` and `stream` (e.g. the op index). */
export function seededRandom(seed: number, stream = 0): Random32 {
  // Mix the high and low halves of both so that seeds and indexes above 2^32 still differ.
  const s0 = splitmix32((seed >>> 0) ^ splitmix32(Math.floor(seed / 2 ** 32)));
  const s1 = splitmix32((stream >>> 0) ^ splitmix32(Math.floor(stream / 2 ** 32) ^ 0x5bd1e995));
  let a = splitmix32(s0 ^ 0xa5a5a5a5);
  let b = splitmix32(s1 ^ a);
  let c = splitmix32(a ^ b ^ 0x1b873593);
  let d = 1;
  const next = (): number => {
    const t = (((a + b) | 0) + d) | 0;
    d = (d + 1) | 0;
    a = b ^ (b >>> 9);
    b = (c + (c << 3)) | 0;
    c = (c << 21) | (c >>> 11);
    c = (c + t) | 0;
    return t >>> 0;
  };
  for (let i = 0; i < 12; i++) next();
  return next;
}
