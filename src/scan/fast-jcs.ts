/**
 * A faster RFC 8785 canonical JSON for the scanner's hot path. It must produce exactly the bytes of
 * jcs() in reference-chain.ts (the service hashes with that one); test/unit/scan/fast-jcs.test.ts
 * checks the equivalence on awkward values. Strings and numbers are serialized by JSON.stringify,
 * which is what RFC 8785 prescribes (ECMAScript Number-to-String, JSON string escaping); object
 * keys sort by UTF-16 code units, which is Array.prototype.sort's default order.
 */
import type { ChainFields } from './reference-chain.ts';

export function fastJcs(value: unknown): string {
  switch (typeof value) {
    case 'string':
      return JSON.stringify(value);
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`${value} cannot be canonicalized as JSON`);
      return JSON.stringify(value);
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (typeof (value as { toJSON?: unknown }).toJSON === 'function') {
        return fastJcs((value as { toJSON: () => unknown }).toJSON());
      }
      if (Array.isArray(value)) {
        let s = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) s += ',';
          const v: unknown = value[i];
          s += v === undefined || typeof v === 'symbol' ? 'null' : fastJcs(v);
        }
        return `${s}]`;
      }
      const obj = value as Record<string, unknown>;
      const keys = Object.keys(obj).sort();
      let s = '{';
      let first = true;
      for (const k of keys) {
        const v = obj[k];
        if (v === undefined || typeof v === 'symbol') continue;
        if (!first) s += ',';
        first = false;
        s += `${JSON.stringify(k)}:${fastJcs(v)}`;
      }
      return `${s}}`;
    }
    default:
      throw new TypeError(`a ${typeof value} cannot be canonicalized as JSON`);
  }
}

const SLOW = Symbol('slow path');

/**
 * A value whose native JSON.stringify() equals jcs(value): the value itself when every object's
 * keys are already in canonical order (no copy), else a copy with keys inserted in that order.
 * Throws SLOW where V8's own key order cannot be controlled (integer-like keys, which V8 always
 * enumerates first), where a copy cannot hold the key (`__proto__`: an own member of what
 * JSON.parse made, but a prototype setter on a fresh object) or toJSON is involved; the caller
 * then takes fastJcs(), which reads the members and builds the text itself.
 */
function canonicalOrder(v: unknown): unknown {
  if (typeof v !== 'object' || v === null) {
    if (typeof v === 'number' && !Number.isFinite(v)) throw SLOW;
    return v;
  }
  if (typeof (v as { toJSON?: unknown }).toJSON === 'function') throw SLOW;
  if (Array.isArray(v)) {
    let out: unknown[] | undefined;
    for (let i = 0; i < v.length; i++) {
      const c: unknown = v[i];
      const d = canonicalOrder(c);
      if (d !== c) {
        out ??= v.slice();
        out[i] = d;
      }
    }
    return out ?? v;
  }
  const obj = v as Record<string, unknown>;
  const keys = Object.keys(obj);
  let sorted = true;
  let changed = false;
  for (let i = 0; i < keys.length; i++) {
    const k = keys[i]!;
    const c0 = k.charCodeAt(0);
    if (c0 >= 48 && c0 <= 57) throw SLOW; // maybe an array index: V8 would reorder it
    // Assigning "__proto__" to a plain object sets its prototype instead of adding the member.
    if (c0 === 95 && k === '__proto__') throw SLOW;
    if (i > 0 && keys[i - 1]! > k) sorted = false;
    const c = obj[k];
    if (typeof c === 'object' && c !== null) {
      if (canonicalOrder(c) !== c) changed = true;
    } else if (typeof c === 'number' && !Number.isFinite(c)) throw SLOW;
  }
  if (sorted && !changed) return obj;
  const order = sortedKeys(keys);
  const out: Record<string, unknown> = {};
  for (let i = 0; i < order.length; i++) {
    const k = order[i]!;
    out[k] = canonicalOrder(obj[k]);
  }
  return out;
}

// Payloads of one log mostly share a shape: remember the last key list and its sorted order
// (keys from JSON.parse are internalized strings, so the comparison is cheap).
let lastKeys: string[] = [];
let lastSorted: string[] = [];
function sortedKeys(keys: string[]): string[] {
  if (keys.length === lastKeys.length) {
    let same = true;
    for (let i = 0; i < keys.length; i++) {
      if (keys[i] !== lastKeys[i]) {
        same = false;
        break;
      }
    }
    if (same) return lastSorted;
  }
  lastKeys = keys;
  lastSorted = keys.slice().sort();
  return lastSorted;
}

/** jcs(value), through V8's native JSON.stringify whenever that gives the same bytes. */
export function jcsFast(value: unknown): string {
  if (value === undefined) throw new TypeError('undefined cannot be canonicalized as JSON');
  try {
    return JSON.stringify(canonicalOrder(value));
  } catch (e) {
    if (e === SLOW) return fastJcs(value);
    throw e;
  }
}

/** canonicalEntryBody() of reference-chain.ts, with the fixed key order written out. */
export function fastEntryBody(e: ChainFields): string {
  if (!Number.isFinite(e.seq)) throw new TypeError(`${e.seq} cannot be canonicalized as JSON`);
  if (e.payload === undefined) throw new TypeError('undefined cannot be canonicalized as JSON');
  let payload: unknown;
  try {
    payload = canonicalOrder(e.payload);
  } catch (err) {
    if (err !== SLOW) throw err;
    return `{"action":${JSON.stringify(e.action)},"actor":${JSON.stringify(e.actor)},"event_id":${JSON.stringify(
      e.eventId,
    )},"payload":${fastJcs(e.payload)},"seq":${JSON.stringify(e.seq)},"ts":${JSON.stringify(e.ts)}}`;
  }
  return JSON.stringify({
    action: e.action,
    actor: e.actor,
    event_id: e.eventId,
    payload,
    seq: e.seq,
    ts: e.ts,
  });
}
