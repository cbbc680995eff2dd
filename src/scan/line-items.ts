/**
 * JSONL lines to items: the per-line code shared by the one-thread JSONL source and the range
 * workers (range-scan.ts), so that both make the same items and hashes from the same text. A line
 * of the reference format in canonical form (fast-line.ts) is read without JSON.parse of the whole
 * line and hashed over its canonical body cut from the line; a line canonical but for its payload
 * (keys in another order, jsonb's spacing) has only its payload parsed, checked for I-JSON and
 * serialized; every other line takes the general path (JSON.parse + the record reader), and its
 * hash is left to the chain check.
 */

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
} from './fast-line.ts';
import { makeHasher } from './recipe.ts';
import { jsonTextIssue, StoredJson } from './strict-json.ts';
import type { HashedBatch, LogEntry, SourceItem } from './types.ts';

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
 * An entry of a canonical line whose payload is parsed on first read. `payload` is a getter on the
 * prototype: a copy (structured clone, JSON) carries canonicalPayload and no payload.
 */
class CanonicalEntry implements LogEntry {
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
    readonly line: number,
  ) {}
  get payload(): unknown {
    if (!this.done) {
      this.parsed = JSON.parse(this.canonicalPayload);
      this.done = true;
    }
    return this.parsed;
  }
}

/**
 * Returns add(out, text, start, stop, lineNo): the lines of text[start, stop) (at least one: stop
 * ends the last line) into `out`, numbered from lineNo (blank lines count, and are skipped); it
 * returns the next line number. `out.hashes`, when present, gets each item's reference hash
 * (undefined off the fast path).
 */
export function lineItemReader(opts: LineItemOptions) {
  const { fast, slowItem, storedKey } = opts;
  const lazy = opts.lazyPayload === true && storedKey === undefined;
  const ref = newReferenceLine();
  const hasher = makeHasher('sha256');
  return (out: HashedBatch, text: string, start: number, stop: number, lineNo: number): number => {
    const { items, hashes } = out;
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
      if (fast && parseReferenceLine(text, ls, e, ref, true)) {
        const at = ref.at;
        const ps = at[F_PAYLOAD * 2]!;
        const pe = at[F_PAYLOAD * 2 + 1]!;
        const payloadText = text.slice(ps, pe);
        // A payload not in canonical form (keys in another order, jsonb's spaces): parsed and
        // serialized canonically here; the rest of the line is still read without JSON.parse.
        let parsed: unknown;
        let canonical: string | undefined;
        if (ref.payloadLoose) {
          if (jsonTextIssue(text, ps, pe) === undefined)
            try {
              parsed = JSON.parse(payloadText);
              canonical = jcsFast(parsed);
            } catch {
              canonical = undefined;
            }
          if (canonical === undefined) {
            items.push(slowItem(text.slice(ls, e), lineAt));
            hashes?.push(undefined);
            continue;
          }
        }
        const body = canonicalBodyOf(text, ls, ref, canonical);
        if (lazy) {
          const e = new CanonicalEntry(
            ref.seq,
            fieldString(text, ref, F_EVENT_ID),
            fieldString(text, ref, F_TS),
            fieldString(text, ref, F_ACTOR),
            fieldString(text, ref, F_ACTION),
            canonical ?? payloadText,
            fieldString(text, ref, F_PREV_HASH),
            fieldString(text, ref, F_HASH),
            lineAt,
          );
          items.push(e);
          hashes?.push(hasher(e.prevHash, body));
          continue;
        }
        const entry: LogEntry = {
          seq: ref.seq,
          eventId: fieldString(text, ref, F_EVENT_ID),
          ts: fieldString(text, ref, F_TS),
          actor: fieldString(text, ref, F_ACTOR),
          action: fieldString(text, ref, F_ACTION),
          payload: canonical === undefined ? JSON.parse(payloadText) : parsed,
          prevHash: fieldString(text, ref, F_PREV_HASH),
          hash: fieldString(text, ref, F_HASH),
          line: lineAt,
        };
        if (storedKey !== undefined) {
          const pl = entry.payload;
          entry.stored = new StoredJson(typeof pl === 'string' ? pl : payloadText, pl, text.slice(ls, e));
        }
        items.push(entry);
        hashes?.push(hasher(entry.prevHash, body));
        continue;
      }
      items.push(slowItem(text.slice(ls, e), lineAt));
      hashes?.push(undefined);
    }
    return lineNo;
  };
}
