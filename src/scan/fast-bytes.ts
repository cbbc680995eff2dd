/**
 * parseReferenceLine (fast-line.ts) over bytes: the range workers' reading of a canonical JSONL line
 * of ASCII, on the line's UTF-8 bytes instead of its text. It accepts exactly the lines
 * parseReferenceLine accepts among those of ASCII (the same canonical subset, the same `out`), and
 * no line holding another byte (the caller decodes those and asks parseReferenceLine). Why a second
 * reader: a typed array read through a byte-class table is about twice as fast as the sticky
 * regular expression that is the fastest way over a string (measured: 22 vs 40 ns for a string
 * value of this corpus), and the values are most of a line. `s` is the same bytes as latin1 text
 * (same offsets), for the few places a string is needed (key names, numbers, key order: the
 * helpers shared with fast-line.ts read it).
 * test/unit/scan/fast-line.test.ts checks both readers agree, line for line, on awkward lines.
 */
import {
  CANONICAL_PREFIX,
  canonicalUEscape,
  F_ACTION,
  F_PAYLOAD,
  F_SEQ,
  keyLess,
  MAX_DEPTH,
  type ReferenceLine,
  scanNumber,
  skipValue,
  TOP_KEYS,
} from './fast-line.ts';

/** 1 for the bytes a canonical string cannot hold as they are: quote, backslash, controls, non-ASCII. */
const SPECIAL = (() => {
  const t = new Uint8Array(256);
  for (let c = 0; c < 256; c++) t[c] = c === 0x22 || c === 0x5c || c < 0x20 || c >= 0x80 ? 1 : 0;
  return t;
})();

const st = { escaped: false };

/** The top-level keys' bytes and fields by key length (each length is one key's: topKey). */
const KEYS: (Uint8Array | undefined)[] = [];
const KEY_FIELD: number[] = [];
for (const [key, f] of Object.entries(TOP_KEYS)) {
  KEYS[key.length] = Buffer.from(key, 'latin1');
  KEY_FIELD[key.length] = f;
}

/** Closing position of the canonical ASCII string starting at p (a quote), or -1. Sets `escaped`. */
function scanString(b: Uint8Array, p: number, end: number): number {
  p++;
  for (;;) {
    while (p < end && SPECIAL[b[p]!] === 0) p++;
    if (p >= end) return -1;
    const c = b[p]!;
    if (c === 0x22) return p + 1;
    if (c !== 0x5c) return -1; // a control character or a non-ASCII byte
    st.escaped = true;
    const n = b[p + 1];
    if (n === 0x22 || n === 0x5c || n === 0x62 || n === 0x66 || n === 0x6e || n === 0x72 || n === 0x74) {
      p += 2;
      continue;
    }
    // \u00XX is canonical only for control characters without a short form, in lowercase hex.
    if (n !== 0x75 || b[p + 2] !== 0x30 || b[p + 3] !== 0x30) return -1;
    if (!canonicalUEscape(b[p + 4]!, b[p + 5]!)) return -1;
    p += 6;
  }
}

/** topKey (fast-line.ts) over bytes: the F_* field whose key is b[ks, ke), or -1. */
function topKeyOf(b: Uint8Array, ks: number, ke: number): number {
  const k = KEYS[ke - ks];
  if (k === undefined) return -1;
  for (let i = 1; i < k.length; i++) if (b[ks + i] !== k[i]) return -1;
  return b[ks] === k[0] ? KEY_FIELD[ke - ks]! : -1;
}

/** End of the canonical JSON value at p, or -1. */
function scanValue(b: Uint8Array, s: string, p: number, end: number, depth: number): number {
  const c = b[p];
  if (c === 0x22) return scanString(b, p, end);
  if (c === 0x7b) {
    if (depth >= MAX_DEPTH) return -1;
    p++;
    if (b[p] === 0x7d) return p + 1;
    let prevStart = -1;
    let prevEnd = -1;
    for (;;) {
      if (b[p] !== 0x22) return -1;
      const ks = p + 1;
      const before = st.escaped;
      st.escaped = false;
      const ke = scanString(b, p, end);
      if (ke < 0 || st.escaped) return -1; // keys with escapes: compare decoded values on the slow path
      st.escaped = before;
      if (prevStart >= 0 && !keyLess(s, prevStart, prevEnd, ks, ke - 1)) return -1;
      prevStart = ks;
      prevEnd = ke - 1;
      if (b[ke] !== 0x3a) return -1;
      p = scanValue(b, s, ke + 1, end, depth + 1);
      if (p < 0) return -1;
      const d = b[p];
      if (d === 0x7d) return p + 1;
      if (d !== 0x2c) return -1;
      p++;
    }
  }
  if (c === 0x5b) {
    if (depth >= MAX_DEPTH) return -1;
    p++;
    if (b[p] === 0x5d) return p + 1;
    for (;;) {
      p = scanValue(b, s, p, end, depth + 1);
      if (p < 0) return -1;
      const d = b[p];
      if (d === 0x5d) return p + 1;
      if (d !== 0x2c) return -1;
      p++;
    }
  }
  if (c === 0x74) return b[p + 1] === 0x72 && b[p + 2] === 0x75 && b[p + 3] === 0x65 ? p + 4 : -1;
  if (c === 0x66)
    return b[p + 1] === 0x61 && b[p + 2] === 0x6c && b[p + 3] === 0x73 && b[p + 4] === 0x65 ? p + 5 : -1;
  if (c === 0x6e) return b[p + 1] === 0x75 && b[p + 2] === 0x6c && b[p + 3] === 0x6c ? p + 4 : -1;
  if (c === 0x2d || (c !== undefined && c >= 0x30 && c <= 0x39)) return scanNumber(s, p, end, false);
  return -1;
}

/**
 * parseReferenceLine(s, start, end, out, loosePayload) for a line of ASCII given as bytes `b` and
 * their latin1 text `s`; false for any line with another byte outside a loose payload (a loose
 * payload is only skipped over: the caller checks it is ASCII before reading it as text).
 */
export function parseReferenceBytes(
  b: Uint8Array,
  s: string,
  start: number,
  end: number,
  out: ReferenceLine,
  loosePayload = false,
): boolean {
  const at = out.at;
  let p = start;
  if (b[p] !== 0x7b) return false;
  p++;
  let seen = 0;
  let escapes = 0;
  let order = 0;
  let inOrder = true;
  let loose = false;
  for (;;) {
    if (b[p] !== 0x22) return false;
    const ks = p + 1;
    let ke = ks;
    while (ke < end && b[ke] !== 0x22) ke++;
    if (ke >= end) return false;
    const f = topKeyOf(b, ks, ke);
    if (f < 0 || seen & (1 << f)) return false;
    seen |= 1 << f;
    if (inOrder && order < 6 && CANONICAL_PREFIX[order] !== f) inOrder = false;
    order++;
    if (b[ke + 1] !== 0x3a) return false;
    const vs = ke + 2;
    let ve: number;
    if (f === F_PAYLOAD) {
      ve = scanValue(b, s, vs, end, 1);
      if (ve < 0 && loosePayload) {
        ve = skipValue(s, vs, end);
        loose = true;
      }
    } else if (f === F_SEQ) {
      ve = scanNumber(s, vs, end, true);
    } else {
      if (b[vs] !== 0x22) return false;
      st.escaped = false;
      ve = scanString(b, vs, end);
      if (st.escaped) escapes |= 1 << f;
    }
    if (ve < 0) return false;
    at[f * 2] = vs;
    at[f * 2 + 1] = ve;
    const d = b[ve];
    p = ve + 1;
    if (d === 0x7d) break;
    if (d !== 0x2c) return false;
  }
  if (p !== end || seen !== 0xff) return false;
  const seqStart = at[F_SEQ * 2]!;
  const seqEnd = at[F_SEQ * 2 + 1]!;
  let seq = 0;
  const neg = b[seqStart] === 0x2d;
  for (let i = neg ? seqStart + 1 : seqStart; i < seqEnd; i++) seq = seq * 10 + (b[i]! - 0x30);
  out.seq = neg ? -seq : seq;
  out.escapes = escapes;
  out.prefixIsBody = !loose && inOrder && at[F_ACTION * 2] === start + 10;
  out.payloadLoose = loose;
  return true;
}
