/**
 * What JSON.parse accepts silently but I-JSON (RFC 7493, which RFC 8785 requires) forbids:
 * duplicate member names (JSON.parse keeps the last, so a stored line can carry a value no reader
 * sees) and lone surrogates (a string that is not Unicode text). The scanner asks this of stored
 * text that did not pass the canonical-line fast path (fast-line.ts accepts only strictly
 * ascending keys and ASCII with \u00XX escapes, so neither can occur there).
 *
 * The text must already be valid JSON (JSON.parse accepted it): syntax is not checked again, only
 * the structure is followed (strings, objects, their keys).
 */

import type { TextIssue } from './types.ts';

export type { TextIssue };

const MAX_DEPTH = 1000;

interface Frame {
  /** Keys of this object so far (decoded); undefined for an array. */
  keys: string[] | undefined;
  set: Set<string> | undefined;
  expectKey: boolean;
}

const HEX4 = /^[0-9a-fA-F]{4}$/;
const hexOf = (s: string, p: number): number => {
  const h = s.slice(p, p + 4);
  return HEX4.test(h) ? Number.parseInt(h, 16) : -1;
};

const isHigh = (c: number) => c >= 0xd800 && c <= 0xdbff;
const isLow = (c: number) => c >= 0xdc00 && c <= 0xdfff;

const show = (s: string) => JSON.stringify(s.length > 60 ? `${s.slice(0, 60)}...` : s);

/**
 * The first I-JSON issue in text[start, end), or undefined when there is none. Strings are
 * scanned code unit by code unit (escapes decoded for surrogates), keys compared decoded, so
 * `"a"` and `"\u0061"` are the same name.
 */
export function jsonTextIssue(text: string, start = 0, end = text.length): TextIssue | undefined {
  const stack: Frame[] = [];
  let top: Frame | undefined;
  for (let p = start; p < end; ) {
    const c = text.charCodeAt(p);
    if (c === 0x22) {
      // A string: find its end, noting escapes and checking surrogates as we go.
      const s0 = p;
      p++;
      let escaped = false;
      let pendingHigh = -1; // offset of a high surrogate waiting for its low half
      for (;;) {
        if (p >= end) return undefined; // not valid JSON after all: JSON.parse would have said so
        const d = text.charCodeAt(p);
        if (d === 0x22) break;
        let unit: number;
        let width: number;
        if (d === 0x5c) {
          escaped = true;
          if (text.charCodeAt(p + 1) === 0x75) {
            unit = hexOf(text, p + 2);
            width = 6;
            if (unit < 0) unit = 0;
          } else {
            unit = 0;
            width = 2;
          }
        } else {
          unit = d;
          width = 1;
        }
        if (pendingHigh >= 0) {
          if (isLow(unit)) {
            pendingHigh = -1;
            p += width;
            continue;
          }
          return loneSurrogate(text, pendingHigh);
        }
        if (isHigh(unit)) pendingHigh = p;
        else if (isLow(unit)) return loneSurrogate(text, p);
        p += width;
      }
      if (pendingHigh >= 0) return loneSurrogate(text, pendingHigh);
      p++;
      if (top?.expectKey) {
        const key = escaped ? (JSON.parse(text.slice(s0, p)) as string) : text.slice(s0 + 1, p - 1);
        top.expectKey = false;
        if (top.set) {
          if (top.set.has(key)) return duplicate(key, s0);
          top.set.add(key);
        } else {
          const keys = top.keys!;
          for (let i = 0; i < keys.length; i++) if (keys[i] === key) return duplicate(key, s0);
          keys.push(key);
          if (keys.length > 8) top.set = new Set(keys);
        }
      }
      continue;
    }
    if (c === 0x7b || c === 0x5b) {
      if (stack.length >= MAX_DEPTH) return undefined; // JSON.parse's own limit comes first
      if (top) stack.push(top);
      top =
        c === 0x7b
          ? { keys: [], set: undefined, expectKey: true }
          : { keys: undefined, set: undefined, expectKey: false };
    } else if (c === 0x7d || c === 0x5d) {
      top = stack.pop();
    } else if (c === 0x2c) {
      if (top?.keys) top.expectKey = true;
    }
    p++;
  }
  return undefined;
}

function loneSurrogate(text: string, at: number): TextIssue {
  return {
    reason: 'lone-surrogate',
    message: `the stored text holds a lone surrogate (${text.slice(at, at + 6)}... at offset ${at}), which is not Unicode text (RFC 7493 2.1)`,
    at,
  };
}

function duplicate(member: string, at: number): TextIssue {
  return {
    reason: 'duplicate-member',
    message: `the stored text has the member name ${show(member)} twice in one object (JSON.parse keeps only the last; RFC 7493 2.3)`,
    member,
    at,
  };
}

/** End of the JSON value starting at p (after whitespace), for valid JSON text. */
function skipValue(s: string, p: number): number {
  let depth = 0;
  for (; p < s.length; ) {
    const c = s.charCodeAt(p);
    if (c === 0x22) {
      p++;
      for (;;) {
        const d = s.charCodeAt(p);
        if (d === 0x5c) p += 2;
        else if (d === 0x22 || Number.isNaN(d)) break;
        else p++;
      }
      p++;
      if (depth === 0) return p;
      continue;
    }
    if (c === 0x7b || c === 0x5b) depth++;
    else if (c === 0x7d || c === 0x5d) {
      depth--;
      if (depth === 0) return p + 1;
      if (depth < 0) return p;
    } else if (depth === 0 && (c === 0x2c || c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09)) return p;
    p++;
  }
  return p;
}

const skipWs = (s: string, p: number): number => {
  for (let c = s.charCodeAt(p); c === 0x20 || c === 0x0a || c === 0x0d || c === 0x09; c = s.charCodeAt(++p));
  return p;
};

/** [start, end) of each element of the JSON array starting at p. */
function elementSpans(s: string, p: number): [number, number][] {
  const out: [number, number][] = [];
  p = skipWs(s, p + 1);
  if (s.charCodeAt(p) === 0x5d) return out;
  for (;;) {
    p = skipWs(s, p);
    const e = skipValue(s, p);
    out.push([p, e]);
    p = skipWs(s, e);
    if (s.charCodeAt(p) !== 0x2c) return out;
    p++;
  }
}

/**
 * The spans of the items of a page (a JSON array, or an object holding the array under one of
 * `keys`, the first present winning as pageItems() of http.ts picks it), for valid JSON text.
 */
export function pageItemSpans(text: string, keys: readonly string[]): [number, number][] | undefined {
  let p = skipWs(text, 0);
  const c = text.charCodeAt(p);
  if (c === 0x5b) return elementSpans(text, p);
  if (c !== 0x7b) return undefined;
  const found = new Map<string, number>();
  p = skipWs(text, p + 1);
  while (text.charCodeAt(p) === 0x22) {
    const ke = skipValue(text, p);
    const key = JSON.parse(text.slice(p, ke)) as string;
    p = skipWs(text, skipWs(text, ke) + 1); // past the colon
    if (text.charCodeAt(p) === 0x5b) found.set(key, p);
    p = skipWs(text, skipValue(text, p));
    if (text.charCodeAt(p) !== 0x2c) break;
    p = skipWs(text, p + 1);
  }
  for (const k of keys) {
    const at = found.get(k);
    if (at !== undefined) return elementSpans(text, at);
  }
  return undefined;
}

/**
 * [start, end) of the value of the top-level member `key` of the JSON object text[start, end)
 * (valid JSON; the last occurrence, as JSON.parse keeps it), or undefined.
 */
export function memberValueSpan(
  text: string,
  key: string,
  start = 0,
  end = text.length,
): [number, number] | undefined {
  let p = skipWs(text, start);
  if (text.charCodeAt(p) !== 0x7b) return undefined;
  let found: [number, number] | undefined;
  p = skipWs(text, p + 1);
  while (p < end && text.charCodeAt(p) === 0x22) {
    const ke = skipValue(text, p);
    const raw = text.slice(p + 1, ke - 1);
    const name = raw.includes('\\') ? (JSON.parse(text.slice(p, ke)) as string) : raw;
    const vs = skipWs(text, skipWs(text, ke) + 1); // past the colon
    const ve = skipValue(text, vs);
    if (name === key) found = [vs, ve];
    p = skipWs(text, ve);
    if (text.charCodeAt(p) !== 0x2c) break;
    p = skipWs(text, p + 1);
  }
  return found;
}

/** LogEntry.stored for a JSON record: its text, the payload's text in it, the record parsed on demand. */
export class StoredJson {
  constructor(
    readonly payload: string,
    readonly payloadOf: unknown,
    private readonly text: string,
  ) {}
  row(): Record<string, unknown> {
    return JSON.parse(this.text) as Record<string, unknown>;
  }
}

/**
 * The stored form of a record whose text is text[start, end) and whose parsed payload is `payload`:
 * the payload member's value text (a JSON string value: the string itself).
 */
export function storedJsonOf(
  text: string,
  start: number,
  end: number,
  payloadKey: string,
  payload: unknown,
): StoredJson {
  const span = memberValueSpan(text, payloadKey, start, end);
  const rec = start === 0 && end === text.length ? text : text.slice(start, end);
  if (span === undefined) return new StoredJson(JSON.stringify(payload) ?? '', payload, rec);
  const payloadText = typeof payload === 'string' ? payload : text.slice(span[0], span[1]);
  return new StoredJson(payloadText, payload, rec);
}
