/**
 * Turns one stored record (a parsed JSONL line, an HTTP page item) into a LogEntry through a field
 * mapping, or into an UnreadableEntry that says what was wrong. Missing or mistyped fields make a
 * record unreadable; empty strings stay readable (the partial check names them).
 */
import type { EntryMapping } from '../../scenario/schema.ts';
import { jsonTextIssue, storedJsonOf } from '../strict-json.ts';
import {
  isUnreadable,
  type LogEntry,
  type SourceItem,
  type TextIssue,
  type UnreadableEntry,
} from '../types.ts';

export const REFERENCE_MAPPING: EntryMapping = {
  seq: 'seq',
  eventId: 'event_id',
  ts: 'ts',
  actor: 'actor',
  action: 'action',
  payload: 'payload',
  prevHash: 'prev_hash',
  hash: 'hash',
};

const STRING_FIELDS = ['eventId', 'ts', 'actor', 'action', 'prevHash', 'hash'] as const;

export function toSeq(v: unknown): number | undefined {
  if (typeof v === 'number') return Number.isSafeInteger(v) ? v : undefined;
  if (typeof v === 'string' && /^-?\d{1,16}$/.test(v)) {
    const n = Number(v);
    return Number.isSafeInteger(n) ? n : undefined;
  }
  return undefined;
}

export type RecordReader = (rec: unknown, line?: number, raw?: string) => SourceItem;

/**
 * `hashless`: the log has no hash columns; prevHash and hash read as ''. The mapping's values are
 * the record's key names.
 */
export function recordReader(
  mapping: Partial<EntryMapping> = {},
  opts: { hashless?: boolean } = {},
): RecordReader {
  const m: EntryMapping = { ...REFERENCE_MAPPING, ...mapping };
  const hashless = opts.hashless ?? false;
  const unreadable = (reason: string, line?: number, raw?: string, seq?: number, eventId?: string) => {
    const u: UnreadableEntry = { unreadable: true, reason };
    if (line !== undefined) u.line = line;
    if (seq !== undefined) u.seq = seq;
    if (eventId !== undefined) u.eventId = eventId;
    if (raw !== undefined) u.raw = raw.length > 200 ? `${raw.slice(0, 200)}...` : raw;
    return u;
  };
  return (rec, line, raw) => {
    if (rec === null || typeof rec !== 'object' || Array.isArray(rec)) {
      return unreadable('not a JSON object', line, raw);
    }
    const r = rec as Record<string, unknown>;
    const seqRaw = r[m.seq];
    const seq = toSeq(seqRaw);
    const idRaw = r[m.eventId];
    const eventId = typeof idRaw === 'string' ? idRaw : undefined;
    if (seq === undefined) {
      return unreadable(
        seqRaw === undefined || seqRaw === null
          ? `field ${m.seq} missing`
          : `field ${m.seq} is not an integer`,
        line,
        raw,
        undefined,
        eventId,
      );
    }
    const e = {
      seq,
      eventId: idRaw,
      ts: r[m.ts],
      actor: r[m.actor],
      action: r[m.action],
      payload: r[m.payload],
      // null reads as empty: the partial check names an empty hash, and a chain may start at null
      prevHash: hashless ? '' : r[m.prevHash] === null ? '' : r[m.prevHash],
      hash: hashless ? '' : r[m.hash] === null ? '' : r[m.hash],
    } as Record<string, unknown>;
    for (const f of STRING_FIELDS) {
      const v = e[f];
      if (typeof v !== 'string') {
        const name = m[f];
        return unreadable(
          v === undefined || v === null ? `field ${name} missing` : `field ${name} is not a string`,
          line,
          raw,
          seq,
          eventId,
        );
      }
    }
    if (e.payload === undefined) return unreadable(`field ${m.payload} missing`, line, raw, seq, eventId);
    if (line !== undefined) e.line = line;
    return e as unknown as LogEntry;
  };
}

/**
 * One line through the general path (JSON.parse + the record reader). `storedKey`: keep the stored
 * form (LogEntry.stored), the payload's text found under that key.
 */
export function slowLineItem(
  read: RecordReader,
  text: string,
  lineNo: number,
  storedKey?: string,
): SourceItem {
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch (e) {
    return {
      unreadable: true,
      line: lineNo,
      reason: `not valid JSON (${(e as Error).message})`,
      raw: text.length > 200 ? `${text.slice(0, 200)}...` : text,
    };
  }
  const item = read(rec, lineNo, text);
  if (storedKey !== undefined && !isUnreadable(item))
    item.stored = storedJsonOf(text, 0, text.length, storedKey, item.payload);
  const issue = jsonTextIssue(text);
  if (issue) attachTextIssue(item, issue);
  return item;
}

/** Marks an item whose stored text is not I-JSON: an entry carries it to the partial check. */
export function attachTextIssue(item: SourceItem, issue: TextIssue): void {
  if (isUnreadable(item)) item.reason += `; ${issue.message}`;
  else item.textIssue = issue;
}
