/**
 * JSONL lines to items: the per-line code shared by the one-thread JSONL source and the range
 * workers (range-scan.ts), so that both make the same items and hashes from the same text. A line
 * of the reference format in canonical form (fast-line.ts) is read without JSON.parse of the whole
 * line and hashed over its canonical body cut from the line; a line canonical but for its payload
 * (keys in another order, jsonb's spacing) has only its payload parsed, checked for I-JSON and
 * serialized; every other line takes the general path (JSON.parse + the record reader), and its
 * hash is left to the chain check.
 */

import * as buffer from 'node:buffer';
import { parseReferenceBytes } from './fast-bytes.ts';
import { jcsFast } from './fast-jcs.ts';
import {
  canonicalBodyOf,
  F_ACTION,
  F_ACTOR,
  F_EVENT_ID,
  F_HASH,
  F_PAYLOAD,
  F_PREV_HASH,
  F_TS,
  fieldString,
  newReferenceLine,
  parseReferenceLine,
  type ReferenceLine,
} from './fast-line.ts';
import { jsonbTextToJcs } from './jsonb-jcs.ts';
import { makeHasher, makeInPlaceHasher } from './recipe.ts';
import { jsonTextIssue, StoredJson } from './strict-json.ts';
import type { HashedBatch, LogEntry, SourceItem } from './types.ts';

const isAscii = (buffer as { isAscii?: (b: Uint8Array) => boolean }).isAscii;

export interface LineItemOptions {
  /** The canonical-line fast path (reference mapping, hashes present). */
  fast: boolean;
  /** A line through the general path. */
  slowItem: (text: string, lineNo: number) => SourceItem;
  /** Keep each entry's stored form, the payload found under this key. */
  storedKey?: string | undefined;
  /**
   * Fast-path entries keep their payload as canonical text (LogEntry.canonicalPayload) and parse
   * it only when `payload` is read (range-scan.ts: no check of a range reads it).
   */
  lazyPayload?: boolean;
}

/**
 * An entry whose payload is kept as canonical text (a canonical line's, a PostgreSQL row's jsonb
 * made canonical) and parsed on first read, from `payloadText` when given (the stored text: jsonb's
 * own, whose key order a parse keeps) else from the canonical text. `payload` is a getter on the
 * prototype: a copy (structured clone, JSON, a spread) carries canonicalPayload and no payload.
 */
export class CanonicalEntry implements LogEntry {
  private parsed: unknown;
  private done = false;
  constructor(
    readonly seq: number,
    readonly eventId: string,
    readonly ts: string,
    readonly actor: string,
    readonly action: string,
    readonly canonicalPayload: string,
    readonly prevHash: string,
    readonly hash: string,
    readonly line?: number,
    private readonly payloadText?: string,
  ) {}
  get payload(): unknown {
    if (!this.done) {
      this.parsed = JSON.parse(this.payloadText ?? this.canonicalPayload);
      this.done = true;
    }
    return this.parsed;
  }
}

const sha256InPlace = makeInPlaceHasher('sha256');

/**
 * The reference hash of a canonical line whose prefix is its body, computed over the line's own
 * bytes (recipe.ts makeInPlaceHasher): prev_hash over the 32 bytes before the line (a line already
 * read) and `}` over the comma that ends the body. Undefined when prev_hash is not 64 characters or
 * it cannot be done so: the caller hashes through its scratch buffer.
 */
function hashInPlace(bytes: Uint8Array, ls: number, ref: ReferenceLine): string | undefined {
  const at = ref.at;
  const ps = at[F_PREV_HASH * 2]! + 1;
  if (at[F_PREV_HASH * 2 + 1]! - ps !== 65) return undefined;
  return sha256InPlace(bytes, ps, ls, at[F_TS * 2 + 1]! + 1, 0x7d);
}

/**
 * The item is a CanonicalEntry (a canonical line's with lazyPayload, a jsonb row's) with every
 * required field non-empty: the partial check would find nothing in it but a payload digest
 * (CanonicalEntry has no textIssue: a line that is not I-JSON never takes the fast path, and a
 * jsonb payload is canonical only where jsonb-jcs.ts is sure of it).
 */
export function filledCanonical(item: SourceItem): boolean {
  if (!(item instanceof CanonicalEntry)) return false;
  const p = item.canonicalPayload;
  return (
    item.eventId !== '' &&
    item.ts !== '' &&
    item.actor !== '' &&
    item.action !== '' &&
    item.prevHash !== '' &&
    item.hash !== '' &&
    p !== 'null' &&
    p !== '""'
  );
}

/**
 * Returns add(out, text, start, stop, lineNo, bytes?): the lines of text[start, stop) (at least
 * one: stop ends the last line) into `out`, numbered from lineNo (blank lines count, and are
 * skipped); it returns the next line number. `out.hashes`, when present, gets each item's reference
 * hash (undefined off the fast path).
 *
 * `bytes`: text is these bytes (valid UTF-8) decoded as latin1, one character a byte (byte mode,
 * fast-bytes.ts): ASCII lines are read from the bytes and hashed over them, which add() may
 * overwrite (bytes of lines it has read, and the comma ending a body); a line with other bytes is
 * decoded as UTF-8 and read as text.
 */
export function lineItemReader(opts: LineItemOptions) {
  const { fast, slowItem, storedKey } = opts;
  const lazy = opts.lazyPayload === true && storedKey === undefined;
  const ref = newReferenceLine();
  const hasher = makeHasher('sha256');

  /** One non-blank line text[ls, e) into out; `bytes`: byte mode (see lineItemReader). */
  const line = (
    out: HashedBatch,
    text: string,
    ls: number,
    e: number,
    lineAt: number,
    bytes: Uint8Array | undefined,
  ): void => {
    const { items, hashes } = out;
    if (
      fast &&
      (bytes
        ? parseReferenceBytes(bytes, text, ls, e, ref, true)
        : parseReferenceLine(text, ls, e, ref, true))
    ) {
      const at = ref.at;
      const ps = at[F_PAYLOAD * 2]!;
      const pe = at[F_PAYLOAD * 2 + 1]!;
      // Byte mode: a loose payload is only skipped over, not read: it must be ASCII to be its text.
      if (bytes && ref.payloadLoose && !isAsciiSpan(bytes, ps, pe)) {
        utf8Line(out, bytes, ls, e, lineAt);
        return;
      }
      const payloadText = text.slice(ps, pe);
      // A payload not in canonical form (keys in another order, jsonb's spaces): parsed and
      // serialized canonically here; the rest of the line is still read without JSON.parse.
      let parsed: unknown;
      let canonical: string | undefined;
      if (ref.payloadLoose) {
        // Entries that keep the payload as text (lazyPayload) take it canonical without JSON.parse
        // where jsonb-jcs.ts is sure of it (it declines duplicate members and lone surrogates, so
        // what is not I-JSON still goes the strict way below).
        if (lazy) canonical = jsonbTextToJcs(payloadText);
        if (canonical === undefined && jsonTextIssue(text, ps, pe) === undefined)
          try {
            parsed = JSON.parse(payloadText);
            canonical = jcsFast(parsed);
          } catch {
            canonical = undefined;
          }
        if (canonical === undefined) {
          items.push(slowItem(text.slice(ls, e), lineAt));
          hashes?.push(undefined);
          return;
        }
      }
      const prevHash = fieldString(text, ref, F_PREV_HASH);
      let hash: string | undefined;
      if (hashes) {
        hash = bytes && ref.prefixIsBody ? hashInPlace(bytes, ls, ref) : undefined;
        hash ??= hasher(prevHash, canonicalBodyOf(text, ls, ref, canonical));
      }
      if (lazy) {
        items.push(
          new CanonicalEntry(
            ref.seq,
            fieldString(text, ref, F_EVENT_ID),
            fieldString(text, ref, F_TS),
            fieldString(text, ref, F_ACTOR),
            fieldString(text, ref, F_ACTION),
            canonical ?? payloadText,
            prevHash,
            fieldString(text, ref, F_HASH),
            lineAt,
          ),
        );
        hashes?.push(hash);
        return;
      }
      const entry: LogEntry = {
        seq: ref.seq,
        eventId: fieldString(text, ref, F_EVENT_ID),
        ts: fieldString(text, ref, F_TS),
        actor: fieldString(text, ref, F_ACTOR),
        action: fieldString(text, ref, F_ACTION),
        payload: canonical === undefined ? JSON.parse(payloadText) : parsed,
        prevHash,
        hash: fieldString(text, ref, F_HASH),
        line: lineAt,
      };
      if (storedKey !== undefined) {
        const pl = entry.payload;
        entry.stored = new StoredJson(typeof pl === 'string' ? pl : payloadText, pl, text.slice(ls, e));
      }
      items.push(entry);
      hashes?.push(hash);
      return;
    }
    if (bytes && !isAsciiSpan(bytes, ls, e)) {
      utf8Line(out, bytes, ls, e, lineAt);
      return;
    }
    items.push(slowItem(text.slice(ls, e), lineAt));
    hashes?.push(undefined);
  };

  /** A line of byte mode that holds non-ASCII bytes: decoded as UTF-8 and read in text mode. */
  const utf8Line = (out: HashedBatch, bytes: Uint8Array, ls: number, e: number, lineAt: number): void => {
    const t = Buffer.from(bytes.buffer, bytes.byteOffset + ls, e - ls).toString('utf8');
    line(out, t, 0, t.length, lineAt, undefined);
  };

  return (
    out: HashedBatch,
    text: string,
    start: number,
    stop: number,
    lineNo: number,
    bytes?: Uint8Array,
  ): number => {
    {
      let p = start;
      for (let more = true; more; ) {
        let nl = text.indexOf('\n', p);
        if (nl === -1 || nl >= stop) {
          nl = stop;
          more = false;
        }
        const e = nl > p && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
        const lineAt = lineNo++;
        const ls = p;
        p = nl + 1;
        if (e === ls || (text.charCodeAt(ls) <= 32 && text.slice(ls, e).trim() === '')) continue;
        line(out, text, ls, e, lineAt, bytes);
      }
    }
    return lineNo;
  };
}

function isAsciiSpan(bytes: Uint8Array, from: number, to: number): boolean {
  return isAscii === undefined
    ? Buffer.from(bytes.buffer, bytes.byteOffset + from, to - from).every((b) => b < 128)
    : isAscii(new Uint8Array(bytes.buffer, bytes.byteOffset + from, to - from));
}
