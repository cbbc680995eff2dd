/**
 * PostgreSQL's jsonb text to RFC 8785 canonical JSON without JSON.parse: jsonb prints members in
 * its own order (shorter keys first, then bytewise) with a space after each `,` and `:`, strings
 * through escape_json (json.c: `\"`, `\\`, `\b`, `\f`, `\n`, `\r`, `\t`, other characters below
 * U+0020 as lowercase `\u00xx`, everything else as it stands), which is exactly how
 * JSON.stringify (and so RFC 8785) writes a string; numbers as numeric_out prints them (`1.50`,
 * `100000000000000000000000`), which ECMAScript may print otherwise.
 *
 * So a string token that matches that escaping is copied as it stands, members are sorted again by
 * UTF-16 code units, whitespace is dropped, and a number is printed again only when its text is
 * not already ECMAScript's. Anything this reader is not sure of (another escape form, a duplicate
 * member, a number out of range, a lone surrogate, very deep nesting, text that is not JSON)
 * returns undefined: the caller then takes JSON.parse + jcsFast, so this decides speed, never a
 * result (test/unit/scan/jsonb-jcs.test.ts compares it with jcs(JSON.parse(text)) byte for byte).
 */

// A string without escapes or surrogates: the common case, one linear regular expression.
const PLAIN_STRING = /"[^"\\\u0000-\u001f\ud800-\udfff]*"/y;
const NUMBER = /-?(?:0|[1-9][0-9]*)(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?/y;
const MAX_DEPTH = 200;

let src = '';
let pos = 0;
let ok = true;

function skipWs(): void {
  for (;;) {
    const c = src.charCodeAt(pos);
    if (c === 32 || c === 10 || c === 13 || c === 9) pos++;
    else return;
  }
}

/**
 * A string token as JSON.stringify writes it (no raw control character, quote or backslash; only
 * the escapes it uses; surrogates only in pairs), or undefined.
 */
function stringToken(): string | undefined {
  PLAIN_STRING.lastIndex = pos;
  if (PLAIN_STRING.test(src)) {
    const start = pos;
    pos = PLAIN_STRING.lastIndex;
    return src.slice(start, pos);
  }
  const start = pos;
  let i = pos + 1;
  for (;;) {
    const c = src.charCodeAt(i);
    if (c === 34) break;
    if (Number.isNaN(c) || c < 0x20) return undefined;
    if (c === 92) {
      const e = src.charCodeAt(i + 1);
      if (e === 34 || e === 92 || e === 98 || e === 102 || e === 110 || e === 114 || e === 116) i += 2;
      else if (e === 117 && isStringifyEscape(src.slice(i + 2, i + 6))) i += 6;
      else return undefined;
      continue;
    }
    if (c >= 0xd800 && c <= 0xdfff) {
      const d = src.charCodeAt(i + 1);
      if (c > 0xdbff || !(d >= 0xdc00 && d <= 0xdfff)) return undefined;
      i += 2;
      continue;
    }
    i++;
  }
  pos = i + 1;
  return src.slice(start, pos);
}

/** The \u00xx escapes JSON.stringify writes: below U+0020, lowercase hex, no short form. */
function isStringifyEscape(hex: string): boolean {
  if (!/^00[01][0-9a-f]$/.test(hex)) return false;
  const c = Number.parseInt(hex, 16);
  return c !== 8 && c !== 9 && c !== 10 && c !== 12 && c !== 13;
}

/** ECMAScript's text of a JSON number token, or undefined when it is not finite. */
function numberText(t: string): string | undefined {
  // An integer of at most 15 digits, not -0, is already what ECMAScript prints.
  if (t.length <= 15) {
    let i = t.charCodeAt(0) === 45 ? 1 : 0;
    if (t.charCodeAt(i) !== 48 || t.length === 1) {
      for (; i < t.length; i++) {
        const c = t.charCodeAt(i);
        if (c < 48 || c > 57) break;
      }
      if (i === t.length) return t;
    }
  }
  const n = Number(t);
  return Number.isFinite(n) ? JSON.stringify(n) : undefined;
}

/** The key a member sorts by: its decoded text (escapes only in rare keys). */
function keyOf(token: string): string {
  return token.indexOf('\\') === -1 ? token.slice(1, -1) : (JSON.parse(token) as string);
}

function value(depth: number): string {
  skipWs();
  const c = src.charCodeAt(pos);
  if (c === 34) {
    const s = stringToken();
    if (s === undefined) ok = false;
    return s ?? '';
  }
  if (c === 123) return object(depth + 1);
  if (c === 91) return array(depth + 1);
  if (c === 116 && src.startsWith('true', pos)) {
    pos += 4;
    return 'true';
  }
  if (c === 102 && src.startsWith('false', pos)) {
    pos += 5;
    return 'false';
  }
  if (c === 110 && src.startsWith('null', pos)) {
    pos += 4;
    return 'null';
  }
  NUMBER.lastIndex = pos;
  const m = NUMBER.exec(src);
  if (m === null) {
    ok = false;
    return '';
  }
  pos = NUMBER.lastIndex;
  const t = numberText(m[0]);
  if (t === undefined) ok = false;
  return t ?? '';
}

function array(depth: number): string {
  if (depth > MAX_DEPTH) {
    ok = false;
    return '';
  }
  pos++; // [
  skipWs();
  if (src.charCodeAt(pos) === 93) {
    pos++;
    return '[]';
  }
  let out = '[';
  for (;;) {
    out += value(depth);
    if (!ok) return '';
    skipWs();
    const c = src.charCodeAt(pos++);
    if (c === 93) return `${out}]`;
    if (c !== 44) {
      ok = false;
      return '';
    }
    out += ',';
  }
}

function object(depth: number): string {
  if (depth > MAX_DEPTH) {
    ok = false;
    return '';
  }
  pos++; // {
  skipWs();
  if (src.charCodeAt(pos) === 125) {
    pos++;
    return '{}';
  }
  const keys: string[] = [];
  const members: string[] = [];
  for (;;) {
    skipWs();
    if (src.charCodeAt(pos) !== 34) {
      ok = false;
      return '';
    }
    const k = stringToken();
    if (k === undefined) {
      ok = false;
      return '';
    }
    skipWs();
    if (src.charCodeAt(pos++) !== 58) {
      ok = false;
      return '';
    }
    const v = value(depth);
    if (!ok) return '';
    keys.push(keyOf(k));
    members.push(`${k}:${v}`);
    skipWs();
    const c = src.charCodeAt(pos++);
    if (c === 125) break;
    if (c !== 44) {
      ok = false;
      return '';
    }
  }
  // Insertion sort by UTF-16 code units (members are few); equal keys: not I-JSON, give up.
  const n = keys.length;
  for (let i = 1; i < n; i++) {
    const k = keys[i]!;
    if (k > keys[i - 1]!) continue;
    const m = members[i]!;
    let j = i - 1;
    while (j >= 0 && keys[j]! > k) {
      keys[j + 1] = keys[j]!;
      members[j + 1] = members[j]!;
      j--;
    }
    if (j >= 0 && keys[j] === k) {
      ok = false;
      return '';
    }
    keys[j + 1] = k;
    members[j + 1] = m;
  }
  let out = '{';
  for (let i = 0; i < n; i++) out += i === 0 ? members[i]! : `,${members[i]!}`;
  return `${out}}`;
}

/**
 * jcs(JSON.parse(text)) for JSON text of the shape PostgreSQL prints jsonb in (any JSON text
 * works, whitespace and member order free), or undefined where this reader is not sure: then
 * take JSON.parse + jcsFast.
 */
export function jsonbTextToJcs(text: string): string | undefined {
  src = text;
  pos = 0;
  ok = true;
  let out: string;
  try {
    out = value(0);
    if (ok) {
      skipWs();
      if (pos !== text.length) ok = false;
    }
  } catch {
    ok = false; // e.g. a key's JSON.parse: only ever a reason to take the general path
    out = '';
  } finally {
    src = '';
  }
  return ok ? out : undefined;
}
