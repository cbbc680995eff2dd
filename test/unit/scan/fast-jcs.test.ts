import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { fastEntryBody, fastJcs, jcsFast } from '../../../src/scan/fast-jcs.ts';
import { referenceRecipe, settingsRecipe } from '../../../src/scan/recipe.ts';
import {
  canonicalEntryBody,
  GENESIS_PREV_HASH,
  jcs,
  referenceHash,
} from '../../../src/scan/reference-chain.ts';
import type { LogEntry } from '../../../src/scan/types.ts';

const awkward: unknown[] = [
  {},
  [],
  null,
  true,
  0,
  -0,
  1e21,
  1e-7,
  123456789012345680000,
  0.1 + 0.2,
  -1.5e-300,
  Number.MAX_SAFE_INTEGER,
  'plain',
  'quote " backslash \\ newline \n tab \t control \u0001 \u001f del \u007f',
  'unicode é ü 漢字 emoji 😀 lone surrogate \ud800 and \udfff',
  '\u2028\u2029',
  { b: 1, a: 2, c: { z: [3, { y: 1, x: 2 }], a: null } },
  { '10': 'ten', '9': 'nine', '1a': 'x', a: 1, '': 'empty', ' ': 'space' },
  { é: 1, e: 2, '😀': 3, '\ud7ff': 4, '\ue000': 5, ab: 6, a: 7, B: 8 },
  { nested: { deeper: { deepest: [1, [2, [3, { k: 'v', j: -0 }]]] } } },
  { arr: [undefined, 1], und: undefined, n: null },
  [
    { b: 1, a: 1 },
    { d: 1, c: 1 },
  ],
  JSON.parse('{"b":1e400,"a":1E2,"c":0.000001,"d":1.0,"e":-0.0}'.replace('1e400', '1e300')),
  { date: new Date(Date.UTC(2026, 0, 1)) },
  { toJSON: () => ({ z: 1, a: 2 }) },
];

describe('fast canonical JSON', () => {
  it('produces the same bytes as jcs() (the canonicalize package) on awkward values', () => {
    for (const v of awkward) {
      expect(fastJcs(v), JSON.stringify(v)).toBe(jcs(v));
      expect(jcsFast(v), JSON.stringify(v)).toBe(jcs(v));
    }
  });

  it('produces the same entry body and hash as reference-chain.ts', () => {
    const recipe = referenceRecipe();
    for (const [i, payload] of awkward.entries()) {
      const e: LogEntry = {
        seq: i + 1,
        eventId: `id-${i} "quoted" é`,
        ts: '2026-11-21T12:00:00.123456Z',
        actor: 'user 😀',
        action: 'login',
        payload,
        prevHash: GENESIS_PREV_HASH,
        hash: '',
      };
      expect(fastEntryBody(e)).toBe(canonicalEntryBody(e));
      expect(recipe.hash(e.prevHash, e)).toBe(referenceHash(e.prevHash, e));
      const odd = 'abc'; // odd/non-hex prev hashes keep Buffer.from(hex) semantics
      expect(recipe.hash(odd, e)).toBe(referenceHash(odd, e));
      expect(recipe.hash('zz'.repeat(32), e)).toBe(referenceHash('zz'.repeat(32), e));
    }
  });

  it('rejects what JCS rejects', () => {
    for (const v of [Number.NaN, Number.POSITIVE_INFINITY, { a: Number.NaN }, undefined, 1n]) {
      expect(() => jcs(v)).toThrow();
      expect(() => jcsFast(v)).toThrow();
    }
  });

  it('lets a large payload through the scratch buffer', () => {
    const e: LogEntry = {
      seq: 1,
      eventId: 'big',
      ts: '2026-11-21T12:00:00.000000Z',
      actor: 'a',
      action: 'b',
      payload: { data: '漢'.repeat(100_000) },
      prevHash: GENESIS_PREV_HASH,
      hash: '',
    };
    expect(referenceRecipe().hash(e.prevHash, e)).toBe(referenceHash(e.prevHash, e));
  });

  it('settings recipes: sha512 over chosen fields, with the digest-length genesis', () => {
    const r = settingsRecipe({ algorithm: 'sha512', fields: ['seq', 'eventId'] });
    expect(r.genesis).toBe('0'.repeat(128));
    const e = { seq: 3, eventId: 'x' } as LogEntry;
    const want = createHash('sha512')
      .update(Buffer.from(r.genesis, 'hex'))
      .update('{"event_id":"x","seq":3}')
      .digest('hex');
    expect(r.hash(r.genesis, e)).toBe(want);
    expect(settingsRecipe({}).name).toMatch(/reference-v1/);
  });
});
