/**
 * A seeded corpus of tricky JSON documents, as TEXT (so that `__proto__` arrives as an own member,
 * as JSON.parse makes it, and keys and strings come with unusual escapes and whitespace): astral and
 * combining unicode, every escape form, keys that sort differently by UTF-16 code units and by code
 * point, `__proto__` / `constructor` / integer-like keys, numbers near 2^53, -0, 1e21, 5e-324.
 * Member names are unique per object (the corpus is I-JSON unless `loneSurrogates` is asked for).
 */

export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export const TRICKY_KEYS = [
  '__proto__',
  'constructor',
  'toString',
  'hasOwnProperty',
  'prototype',
  '0',
  '1',
  '10',
  '2',
  '01',
  '-1',
  '1.5',
  '4294967294',
  '4294967295',
  '9007199254740993',
  '',
  ' ',
  'a',
  'B',
  'b',
  'é',
  'e\u0301',
  '\uffff',
  '\ufb01',
  '😀', // U+1F600: D83D DE00 sorts before U+FFFF by UTF-16, after it by code point
  '𝄞',
  '\u{10ffff}',
  '\u0000',
  'tab\there',
  'quote"back\\slash',
  '漢字',
  'zz',
] as const;

export const TRICKY_STRINGS = [
  '',
  'plain',
  'é (precomposed) and e\u0301 (combining)',
  'astral 😀 𝄞 \u{10ffff}',
  'controls \u0000\u0001\u0008\u0009\u000a\u000b\u000c\u000d\u001f del \u007f',
  'quote " backslash \\ slash /',
  'line seps \u2028\u2029 bom \ufeff nonchar \uffff',
  '漢字かな한글',
  'Ωmega ∑ ≠',
] as const;

export const LONE_SURROGATE_STRINGS = ['lone \ud800 high', 'lone \udfff low', '\udc00\ud800'] as const;

/** Number texts as a writer might store them; JSON.parse maps several to one double. */
export const NUMBER_TEXTS = [
  '0',
  '-0',
  '-0.0',
  '0.0',
  '1',
  '-1',
  '1.50',
  '0.1',
  '2.5e-7',
  '1e-7',
  '0.000001',
  '1e21',
  '1E21',
  '1e+21',
  '100000000000000000000',
  '999999999999999999999',
  '9007199254740991',
  '9007199254740992',
  '9007199254740993',
  '-9007199254740993',
  '18014398509481985',
  '5e-324',
  '4.9e-324',
  '2.2250738585072014e-308',
  '1.7976931348623157e308',
  '123456789.123456789',
  '4.35',
  '1e300',
] as const;

export interface CorpusOptions {
  seed: number;
  count: number;
  loneSurrogates?: boolean;
  maxDepth?: number;
  /** Whitespace between tokens may hold line breaks (not for JSONL lines). */
  newlines?: boolean;
}

/** A JSON string literal of s, with random escape styles (\uXXXX any case, \/, short forms). */
function stringText(s: string, r: () => number): string {
  let out = '"';
  for (const ch of s) {
    // a pair is escaped whole or not at all: half of it raw could not be written as UTF-8
    const escapePair = ch.length === 2 && r() < 0.5;
    for (let i = 0; i < ch.length; i++) {
      const c = ch.charCodeAt(i);
      const hex = c.toString(16).padStart(4, '0');
      const u = `\\u${r() < 0.5 ? hex : hex.toUpperCase()}`;
      if (c === 0x22) out += r() < 0.8 ? '\\"' : u;
      else if (c === 0x5c) out += r() < 0.8 ? '\\\\' : u;
      else if (c < 0x20) {
        const short = { 8: '\\b', 9: '\\t', 10: '\\n', 12: '\\f', 13: '\\r' }[c];
        out += short && r() < 0.6 ? short : u;
      } else if (c === 0x2f) out += r() < 0.3 ? '\\/' : '/';
      else if (c >= 0xd800 && c <= 0xdfff) out += escapePair || ch.length === 1 ? u : ch[i];
      else out += r() < 0.08 ? u : ch[i];
    }
  }
  return `${out}"`;
}

const WS = [' ', '\t', '  '];
const WS_NL = [' ', '\n', '\t', '\r\n ', '  '];
let wsSet = WS;
const ws = (r: () => number) => (r() < 0.25 ? wsSet[Math.floor(r() * wsSet.length)]! : '');

function valueText(r: () => number, depth: number, opts: CorpusOptions): string {
  const pick = <T>(xs: readonly T[]) => xs[Math.floor(r() * xs.length)]!;
  const x = r();
  const deep = depth < (opts.maxDepth ?? 4);
  if (deep && x < 0.3) {
    const n = Math.floor(r() * 6);
    const keys = new Set<string>();
    while (keys.size < n) keys.add(pick(TRICKY_KEYS));
    const members = [...keys].map(
      (k) => `${ws(r)}${stringText(k, r)}${ws(r)}:${ws(r)}${valueText(r, depth + 1, opts)}${ws(r)}`,
    );
    return `{${members.join(',')}${n ? '' : ws(r)}}`;
  }
  if (deep && x < 0.45) {
    const n = Math.floor(r() * 4);
    const items = Array.from({ length: n }, () => `${ws(r)}${valueText(r, depth + 1, opts)}${ws(r)}`);
    return `[${items.join(',')}]`;
  }
  if (x < 0.65) return pick(NUMBER_TEXTS);
  if (x < 0.7) return pick(['true', 'false', 'null']);
  if (opts.loneSurrogates && x < 0.75) return stringText(pick(LONE_SURROGATE_STRINGS), r);
  return stringText(pick(TRICKY_STRINGS), r);
}

/** `count` payload texts, each an object at the top (as audit payloads are), seeded. */
export function trickyPayloadTexts(opts: CorpusOptions): string[] {
  const r = rng(opts.seed);
  wsSet = opts.newlines ? WS_NL : WS;
  const out: string[] = [];
  for (let i = 0; i < opts.count; i++) {
    let t = valueText(r, 0, opts);
    if (!t.startsWith('{')) t = `{${stringText(TRICKY_KEYS[i % TRICKY_KEYS.length]!, r)}:${t}}`;
    out.push(t);
  }
  return out;
}

/** A tricky non-empty string (for actor/action fields), seeded. */
export function trickyString(r: () => number): string {
  return TRICKY_STRINGS[1 + Math.floor(r() * (TRICKY_STRINGS.length - 1))]!;
}
