/**
 * A fast path for JSONL lines of the reference format that are already in canonical form: it
 * validates the raw text against a strict subset of RFC 8785 output (no whitespace,
 * object keys strictly ascending, strings escaped exactly as JSON.stringify escapes them, numbers
 * exactly as ECMAScript prints them) and records where each field's value starts and ends. For
 * such a line, JCS(JSON.parse(value text)) is the value text itself, so the canonical entry body
 * can be cut out of the line instead of being re-serialized, and the payload never has to be
 * walked again. Non-ASCII text passes (JCS writes it as it is; a lone surrogate does not). Anything
 * outside the subset (whitespace, floats ECMAScript would print
 * differently, unusual escapes, extra or repeated keys) returns false and the caller takes the
 * general path (JSON.parse + the recipe), so the subset only decides speed, never a verdict.
 * test/unit/scan/fast-line.test.ts checks both paths agree on awkward lines.
 */

/** Value slots: [start, end) of each field's raw value text (strings with their quotes). */
export const F_SEQ = 0;
export const F_EVENT_ID = 1;
export const F_TS = 2;
export const F_ACTOR = 3;
export const F_ACTION = 4;
export const F_PAYLOAD = 5;
export const F_PREV_HASH = 6;
export const F_HASH = 7;

/** The top-level keys and their fields; each has a length of its own (topKey looks up by length). */
export const TOP_KEYS: Readonly<Record<string, number>> = {
  ts: F_TS,
  seq: F_SEQ,
  hash: F_HASH,
  actor: F_ACTOR,
  action: F_ACTION,
  payload: F_PAYLOAD,
  event_id: F_EVENT_ID,
  prev_hash: F_PREV_HASH,
};
const TOP_KEY_TEXT: (string | undefined)[] = [];
const TOP_KEY_FIELD: number[] = [];
for (const [key, f] of Object.entries(TOP_KEYS)) {
  TOP_KEY_TEXT[key.length] = key;
  TOP_KEY_FIELD[key.length] = f;
}

export const MAX_DEPTH = 64;

/** Order of the first six keys when a line starts with its canonical body. */
export const CANONICAL_PREFIX = [F_ACTION, F_ACTOR, F_EVENT_ID, F_PAYLOAD, F_SEQ, F_TS];

// Scanner state lives in one object: module-level `let`s would cost a hole check on every access.
const st = { escaped: false };

/**
 * The characters a canonical string holds as they are: all but the quote, the backslash, controls
 * and surrogates (those are looked at one by one). A sticky regular expression skips them about
 * twice as fast as a charCodeAt loop (measured: 1.0 vs 2.5 ns a character).
 */
const PLAIN = /[^"\\\x00-\x1f\ud800-\udfff]*/y;
/**
 * Whether \u00XX with these last two digits (character codes) is canonical: JCS writes \u00XX only
 * for control characters without a short form (\b \t \n \f \r), in lowercase hex.
 */
export function canonicalUEscape(h: number, l: number): boolean {
  if (h !== 0x30 && h !== 0x31) return false;
  const lv = l >= 0x30 && l <= 0x39 ? l - 0x30 : l >= 0x61 && l <= 0x66 ? l - 0x57 : -1;
  if (lv < 0) return false;
  const code = (h - 0x30) * 16 + lv;
  return code !== 8 && code !== 9 && code !== 10 && code !== 12 && code !== 13;
}

/** Closing position of the canonical string starting at p (a quote), or -1. Sets `escaped`. */
function scanString(s: string, p: number, end: number): number {
  p++;
  for (;;) {
    PLAIN.lastIndex = p;
    PLAIN.test(s);
    p = PLAIN.lastIndex;
    if (p >= end) return -1;
    const c = s.charCodeAt(p);
    if (c === 0x22) return p + 1;
    if (c === 0x5c) {
      st.escaped = true;
      const n = s.charCodeAt(p + 1);
      if (n === 0x22 || n === 0x5c || n === 0x62 || n === 0x66 || n === 0x6e || n === 0x72 || n === 0x74) {
        p += 2;
        continue;
      }
      // \u00XX is canonical only for control characters without a short form, in lowercase hex.
      if (n !== 0x75 || s.charCodeAt(p + 2) !== 0x30 || s.charCodeAt(p + 3) !== 0x30) return -1;
      if (!canonicalUEscape(s.charCodeAt(p + 4), s.charCodeAt(p + 5))) return -1;
      p += 6;
      continue;
    }
    if (c < 0x20) return -1;
    // Other characters stand as themselves in JCS (RFC 8785 3.2.2.2), except a lone surrogate, which
    // JSON.stringify escapes and I-JSON forbids: only a high surrogate followed by a low one passes.
    const lo = s.charCodeAt(p + 1);
    if (c > 0xdbff || !(lo >= 0xdc00 && lo <= 0xdfff) || p + 1 >= end) return -1;
    p += 2;
  }
}

/**
 * End of the canonical JSON number at p, or -1. `intOnly`: a plain integer of at most 15 digits.
 * (fast-bytes.ts calls it on the latin1 text of its bytes: a number is ASCII.)
 */
export function scanNumber(s: string, p: number, end: number, intOnly: boolean): number {
  const start = p;
  if (s.charCodeAt(p) === 0x2d) p++;
  const first = s.charCodeAt(p);
  if (first === 0x30) p++;
  else if (first >= 0x31 && first <= 0x39) {
    p++;
    for (let c = s.charCodeAt(p); c >= 0x30 && c <= 0x39; c = s.charCodeAt(++p));
  } else return -1;
  let c = s.charCodeAt(p);
  if (c !== 0x2e && c !== 0x65 && c !== 0x45) {
    const digits = p - start - (s.charCodeAt(start) === 0x2d ? 1 : 0);
    // -0 parses to -0, which prints as 0; 16+ digits may not survive the round trip.
    if (digits <= 15 && !(digits === 1 && first === 0x30 && p - start === 2)) return p;
    if (intOnly) return -1;
  } else if (intOnly) return -1;
  if (c === 0x2e) {
    p++;
    c = s.charCodeAt(p);
    if (!(c >= 0x30 && c <= 0x39)) return -1;
    for (; c >= 0x30 && c <= 0x39; c = s.charCodeAt(++p));
  }
  if (c === 0x65 || c === 0x45) {
    p++;
    c = s.charCodeAt(p);
    if (c === 0x2b || c === 0x2d) c = s.charCodeAt(++p);
    if (!(c >= 0x30 && c <= 0x39)) return -1;
    for (; c >= 0x30 && c <= 0x39; c = s.charCodeAt(++p));
  }
  if (p > end) return -1;
  // The text is a JSON number: it is canonical iff ECMAScript prints its value the same way.
  const text = s.slice(start, p);
  return String(Number(text)) === text ? p : -1;
}

/** a < b for raw key texts without escapes, by UTF-16 code units: the order of JCS (RFC 8785 3.2.3). */
export function keyLess(s: string, as: number, ae: number, bs: number, be: number): boolean {
  const la = ae - as;
  const lb = be - bs;
  const n = Math.min(la, lb);
  for (let i = 0; i < n; i++) {
    const x = s.charCodeAt(as + i);
    const y = s.charCodeAt(bs + i);
    if (x !== y) return x < y;
  }
  return la < lb;
}

/** End of the canonical JSON value at p, or -1. */
function scanValue(s: string, p: number, end: number, depth: number): number {
  const c = s.charCodeAt(p);
  if (c === 0x22) return scanString(s, p, end);
  if (c === 0x7b) {
    if (depth >= MAX_DEPTH) return -1;
    p++;
    if (s.charCodeAt(p) === 0x7d) return p + 1;
    let prevStart = -1;
    let prevEnd = -1;
    for (;;) {
      if (s.charCodeAt(p) !== 0x22) return -1;
      const ks = p + 1;
      const before = st.escaped;
      st.escaped = false;
      const ke = scanString(s, p, end);
      if (ke < 0 || st.escaped) return -1; // keys with escapes: compare decoded values on the slow path
      st.escaped = before;
      if (prevStart >= 0 && !keyLess(s, prevStart, prevEnd, ks, ke - 1)) return -1;
      prevStart = ks;
      prevEnd = ke - 1;
      if (s.charCodeAt(ke) !== 0x3a) return -1;
      p = scanValue(s, ke + 1, end, depth + 1);
      if (p < 0) return -1;
      const d = s.charCodeAt(p);
      if (d === 0x7d) return p + 1;
      if (d !== 0x2c) return -1;
      p++;
    }
  }
  if (c === 0x5b) {
    if (depth >= MAX_DEPTH) return -1;
    p++;
    if (s.charCodeAt(p) === 0x5d) return p + 1;
    for (;;) {
      p = scanValue(s, p, end, depth + 1);
      if (p < 0) return -1;
      const d = s.charCodeAt(p);
      if (d === 0x5d) return p + 1;
      if (d !== 0x2c) return -1;
      p++;
    }
  }
  if (c === 0x74) return s.startsWith('true', p) ? p + 4 : -1;
  if (c === 0x66) return s.startsWith('false', p) ? p + 5 : -1;
  if (c === 0x6e) return s.startsWith('null', p) ? p + 4 : -1;
  if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return scanNumber(s, p, end, false);
  return -1;
}

/** End of the JSON string at p (a quote), any escapes, or -1. */
function skipString(s: string, p: number, end: number): number {
  for (p++; p < end; p++) {
    const c = s.charCodeAt(p);
    if (c === 0x22) return p + 1;
    if (c === 0x5c) p++;
  }
  return -1;
}

/**
 * End of the JSON value at p in any form (whitespace, any key order, any escapes), by matching
 * brackets outside strings, or -1. It only finds where the value ends: JSON.parse of the span is
 * what validates it.
 */
export function skipValue(s: string, p: number, end: number): number {
  let depth = 0;
  while (p < end) {
    const c = s.charCodeAt(p);
    if (c === 0x22) {
      p = skipString(s, p, end);
      if (p < 0 || depth === 0) return p;
    } else if (c === 0x7b || c === 0x5b) {
      depth++;
      p++;
    } else if (c === 0x7d || c === 0x5d) {
      if (--depth < 0) return -1;
      p++;
      if (depth === 0) return p;
    } else if (depth === 0) {
      // a number or a literal: up to the first character that cannot be in one
      const from = p;
      for (; p < end; p++) {
        const d = s.charCodeAt(p) | 0x20;
        if (!((d >= 0x30 && d <= 0x39) || (d >= 0x61 && d <= 0x7a) || d === 0x2e || d === 0x2d || d === 0x2b))
          break;
      }
      return p > from ? p : -1;
    } else p++;
  }
  return -1;
}

export function topKey(s: string, ks: number, ke: number): number {
  const k = TOP_KEY_TEXT[ke - ks];
  return k !== undefined && s.startsWith(k, ks) ? TOP_KEY_FIELD[ke - ks]! : -1;
}

/** What parseReferenceLine() found; reused from line to line. */
export interface ReferenceLine {
  /** [start, end) of each field's value text, at F_* * 2. */
  readonly at: Int32Array;
  /** Bit F_* set: that string field contains an escape (decode it with JSON.parse). */
  escapes: number;
  seq: number;
  /** The line starts with its canonical body: body = text.slice(lineStart, at[F_TS * 2 + 1]) + '}'. */
  prefixIsBody: boolean;
  /**
   * The payload's text is not canonical (parseReferenceLine with `loosePayload`): only its span is
   * known; the caller parses it, checks it is I-JSON and serializes it canonically.
   */
  payloadLoose: boolean;
}

export function newReferenceLine(): ReferenceLine {
  return { at: new Int32Array(16), escapes: 0, seq: 0, prefixIsBody: false, payloadLoose: false };
}

/**
 * Validates text[start, end) as one reference entry in canonical form with the reference key names
 * (exactly the eight keys, each once, in any order). True: `out` describes it. False: take the
 * general path (the line may still be a valid entry, or not).
 */
export function parseReferenceLine(
  s: string,
  start: number,
  end: number,
  out: ReferenceLine,
  /** Accept a payload in any JSON form (out.payloadLoose), the other fields still canonical. */
  loosePayload = false,
): boolean {
  const at = out.at;
  let p = start;
  if (s.charCodeAt(p) !== 0x7b) return false;
  p++;
  let seen = 0;
  let escapes = 0;
  let order = 0;
  let inOrder = true;
  let loose = false;
  for (;;) {
    if (s.charCodeAt(p) !== 0x22) return false;
    const ks = p + 1;
    const ke = s.indexOf('"', ks);
    if (ke < 0 || ke >= end) return false;
    const f = topKey(s, ks, ke);
    if (f < 0 || seen & (1 << f)) return false;
    seen |= 1 << f;
    if (inOrder && order < 6 && CANONICAL_PREFIX[order] !== f) inOrder = false;
    order++;
    if (s.charCodeAt(ke + 1) !== 0x3a) return false;
    const vs = ke + 2;
    let ve: number;
    if (f === F_PAYLOAD) {
      ve = scanValue(s, vs, end, 1);
      if (ve < 0 && loosePayload) {
        ve = skipValue(s, vs, end);
        loose = true;
      }
    } else if (f === F_SEQ) {
      ve = scanNumber(s, vs, end, true);
    } else {
      if (s.charCodeAt(vs) !== 0x22) return false;
      st.escaped = false;
      ve = scanString(s, vs, end);
      if (st.escaped) escapes |= 1 << f;
    }
    if (ve < 0) return false;
    at[f * 2] = vs;
    at[f * 2 + 1] = ve;
    const d = s.charCodeAt(ve);
    p = ve + 1;
    if (d === 0x7d) break;
    if (d !== 0x2c) return false;
  }
  if (p !== end || seen !== 0xff) return false;
  const seqStart = at[F_SEQ * 2]!;
  const seqEnd = at[F_SEQ * 2 + 1]!;
  let seq = 0;
  const neg = s.charCodeAt(seqStart) === 0x2d;
  for (let i = neg ? seqStart + 1 : seqStart; i < seqEnd; i++) seq = seq * 10 + (s.charCodeAt(i) - 0x30);
  out.seq = neg ? -seq : seq;
  out.escapes = escapes;
  out.prefixIsBody = !loose && inOrder && at[F_ACTION * 2] === start + 10;
  out.payloadLoose = loose;
  return true;
}

/** A string field's value: the text between the quotes, or its JSON decoding when it has escapes. */
export function fieldString(text: string, line: ReferenceLine, f: number): string {
  const vs = line.at[f * 2]!;
  const ve = line.at[f * 2 + 1]!;
  return line.escapes & (1 << f) ? (JSON.parse(text.slice(vs, ve)) as string) : text.slice(vs + 1, ve - 1);
}

/** The canonical body (canonicalEntryBody) of a line parseReferenceLine() accepted. */
export function canonicalBodyOf(
  text: string,
  start: number,
  line: ReferenceLine,
  /** The payload's canonical text, when its own text is not (payloadLoose). */
  payload?: string,
): string {
  const at = line.at;
  if (line.prefixIsBody) return `${text.slice(start, at[F_TS * 2 + 1]!)}}`;
  if (payload !== undefined)
    return `{"action":${text.slice(at[F_ACTION * 2]!, at[F_ACTION * 2 + 1]!)},"actor":${text.slice(
      at[F_ACTOR * 2]!,
      at[F_ACTOR * 2 + 1]!,
    )},"event_id":${text.slice(at[F_EVENT_ID * 2]!, at[F_EVENT_ID * 2 + 1]!)},"payload":${payload},"seq":${text.slice(
      at[F_SEQ * 2]!,
      at[F_SEQ * 2 + 1]!,
    )},"ts":${text.slice(at[F_TS * 2]!, at[F_TS * 2 + 1]!)}}`;
  // No closure here: under tsx every closure creation also costs a defineProperty (keepNames).
  return `{"action":${text.slice(at[F_ACTION * 2]!, at[F_ACTION * 2 + 1]!)},"actor":${text.slice(
    at[F_ACTOR * 2]!,
    at[F_ACTOR * 2 + 1]!,
  )},"event_id":${text.slice(at[F_EVENT_ID * 2]!, at[F_EVENT_ID * 2 + 1]!)},"payload":${text.slice(
    at[F_PAYLOAD * 2]!,
    at[F_PAYLOAD * 2 + 1]!,
  )},"seq":${text.slice(at[F_SEQ * 2]!, at[F_SEQ * 2 + 1]!)},"ts":${text.slice(at[F_TS * 2]!, at[F_TS * 2 + 1]!)}}`;
}
