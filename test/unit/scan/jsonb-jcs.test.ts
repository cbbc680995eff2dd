/**
 * jsonbTextToJcs against the oracle, byte for byte: jcs(JSON.parse(text)) of the npm canonicalize
 * package. Where it answers, it must equal the oracle; where it returns undefined, the caller's
 * general path decides (so it may decline, never differ). The real PostgreSQL's jsonb text is
 * checked in test/integration/scan-postgres-exact.test.ts.
 */
import { describe, expect, it } from 'vitest';
import { jsonbText } from '../../../src/scan/generate.ts';
import { jsonbTextToJcs } from '../../../src/scan/jsonb-jcs.ts';
import { jcs } from '../../../src/scan/reference-chain.ts';
import { NUMBER_TEXTS, rng, TRICKY_KEYS, TRICKY_STRINGS, trickyPayloadTexts } from './corpus.ts';

function oracle(text: string): string | undefined {
  try {
    return jcs(JSON.parse(text));
  } catch {
    return undefined;
  }
}

function agrees(text: string): 'fast' | 'declined' {
  const got = jsonbTextToJcs(text);
  if (got === undefined) return 'declined';
  expect(got, text).toBe(oracle(text));
  return 'fast';
}

describe('jsonbTextToJcs', () => {
  it('equals jcs(JSON.parse(text)) on the seeded corpus of awkward documents, whitespace and escapes as written', () => {
    let fast = 0;
    for (const seed of [1, 2, 3, 4, 5]) {
      for (const t of trickyPayloadTexts({ seed, count: 400, newlines: seed % 2 === 0 })) {
        if (agrees(t) === 'fast') fast++;
      }
    }
    // random escape styles (\u0041, \/) are declined; most documents still take the fast path
    expect(fast).toBeGreaterThan(300);
  });

  it('answers for every document printed as jsonb prints it (no fallback on PostgreSQL output)', () => {
    for (const seed of [11, 12, 13]) {
      for (const t of trickyPayloadTexts({ seed, count: 400 })) {
        const printed = jsonbText(JSON.parse(t));
        expect(jsonbTextToJcs(printed), printed).toBe(oracle(t));
      }
    }
  });

  it('re-prints numbers only where ECMAScript prints them otherwise', () => {
    for (const n of NUMBER_TEXTS) {
      for (const t of [n, `[${n}]`, `{"k": ${n}}`, `{"k": [${n}, -${n.replace(/^-/, '')}]}`]) agrees(t);
    }
    expect(jsonbTextToJcs('{"a": 1.50, "b": 100000000000000000000000, "c": -0}')).toBe(
      '{"a":1.5,"b":1e+23,"c":0}',
    );
  });

  it('sorts members by UTF-16 code units, not by jsonb order or code point', () => {
    const keys = [...TRICKY_KEYS];
    const r = rng(7);
    for (let i = 0; i < 200; i++) {
      const pick = keys.filter(() => r() < 0.3);
      const obj = Object.fromEntries(pick.map((k, j) => [k, TRICKY_STRINGS[j % TRICKY_STRINGS.length]]));
      const text = jsonbText(obj);
      expect(jsonbTextToJcs(text), text).toBe(jcs(JSON.parse(text)));
    }
  });

  it('declines what it is not sure of, and the oracle then decides', () => {
    const declined = [
      '{"a": 1, "a": 2}', // duplicate member: JSON.parse keeps the last
      '{"b": 1, "a": 2, "b": 3}',
      '"\\u0041"', // an escape JSON.stringify does not write
      '"\\/"',
      '"\\u001F"',
      '"\\u000a"',
      '"\\ud800"', // lone surrogate
      '"\ud800"',
      '1e400', // not finite
      '[1, 2',
      '{"a" 1}',
      '01',
      '[1,]',
      'tru',
      '',
      ' ',
      '{"a": 1} x',
      `${'['.repeat(300)}${']'.repeat(300)}`,
    ];
    for (const t of declined) expect(jsonbTextToJcs(t), t).toBeUndefined();
  });

  it('handles scalars, empty containers and nesting', () => {
    for (const t of [
      'null',
      'true',
      'false',
      '""',
      '0',
      '{}',
      '[]',
      ' { } ',
      '[[], {}, [{}]]',
      '{"a": {"c": [], "b": {}}}',
    ])
      expect(agrees(t), t).toBe('fast');
  });
});
