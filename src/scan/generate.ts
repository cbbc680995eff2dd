/**
 * A fast generator of valid reference-format logs (chain format v1), for tests, benchmarks and
 * demos: deterministic event ids, microsecond timestamps, payloads of a chosen size. Defects are
 * planted by the caller on the generated entries (see test/unit/scan/*).
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import { fastEntryBody } from './fast-jcs.ts';
import { makeHasher, referenceRecipe } from './recipe.ts';
import { GENESIS_PREV_HASH } from './reference-chain.ts';
import type { LogEntry } from './types.ts';

export interface GenerateOptions {
  count: number;
  /** Approximate size of each payload's `data` string. Default 64. */
  payloadBytes?: number;
  /** First timestamp, ms since the epoch. */
  startMs?: number;
  firstSeq?: number;
}

export function eventIdFor(i: number): string {
  return `018f0000-0000-7000-8000-${i.toString(16).padStart(12, '0')}`;
}

/** Microsecond RFC 3339 UTC text, as the reference service stores it. */
export function tsFor(startMs: number, i: number): string {
  const us = i * 137; // entries 137 us apart
  const ms = startMs + Math.floor(us / 1000);
  const iso = new Date(ms).toISOString(); // ...SS.mmmZ
  return `${iso.slice(0, 23)}${String(us % 1000).padStart(3, '0')}Z`;
}

export function* referenceEntries(opts: GenerateOptions): Generator<LogEntry> {
  for (const { entry } of referenceLines(opts)) yield entry;
}

/**
 * Entries with their JSONL line, built from the canonical body that was hashed (a JSONL line may
 * order its keys freely), which makes generating millions of entries about twice as fast.
 */
export function* referenceLines(opts: GenerateOptions): Generator<{ entry: LogEntry; line: string }> {
  const hasher = makeHasher('sha256');
  const filler = 'x'.repeat(opts.payloadBytes ?? 64);
  const startMs = opts.startMs ?? Date.UTC(2026, 10, 21, 12, 0, 0);
  const firstSeq = opts.firstSeq ?? 1;
  let prevHash = GENESIS_PREV_HASH;
  for (let i = 0; i < opts.count; i++) {
    const seq = firstSeq + i;
    const e: LogEntry = {
      seq,
      eventId: eventIdFor(seq),
      ts: tsFor(startMs, i),
      actor: `user-${seq % 97}`,
      action: seq % 3 === 0 ? 'logout' : 'login',
      // insertion order, not canonical order, as a JS service would write it
      payload: { n: seq, ok: true, ip: `10.0.${seq % 256}.${(seq >> 8) % 256}`, data: filler },
      prevHash,
      hash: '',
    };
    const body = fastEntryBody(e);
    e.hash = hasher(prevHash, body);
    const line = `${body.slice(0, -1)},"prev_hash":"${prevHash}","hash":"${e.hash}"}`;
    prevHash = e.hash;
    yield { entry: e, line };
  }
}

/** Recomputes hash (and the next prev_hash) after a planted edit: a tamperer who rehashes. */
export function rehash(e: LogEntry): LogEntry {
  return { ...e, hash: referenceRecipe().hash(e.prevHash, e) };
}

/** The reference JSONL line of an entry (snake_case keys, as the service's export writes them). */
export function toJsonLine(e: LogEntry): string {
  return JSON.stringify({
    seq: e.seq,
    event_id: e.eventId,
    ts: e.ts,
    actor: e.actor,
    action: e.action,
    payload: e.payload,
    prev_hash: e.prevHash,
    hash: e.hash,
  });
}

/** Writes entries (or raw lines) to a JSONL file, gzip-compressed when asked. */
export async function writeJsonl(
  file: string,
  items: Iterable<LogEntry | string>,
  opts: { gzip?: boolean } = {},
): Promise<number> {
  const out = createWriteStream(file);
  const gz = opts.gzip ? createGzip({ level: 1 }) : undefined;
  const sink = gz ?? out;
  if (gz) gz.pipe(out);
  let n = 0;
  let buf = '';
  for (const item of items) {
    buf += `${typeof item === 'string' ? item : toJsonLine(item)}\n`;
    n++;
    if (buf.length > 1 << 20) {
      if (!sink.write(buf)) await once(sink, 'drain');
      buf = '';
    }
  }
  sink.end(buf);
  await once(out, 'finish');
  return n;
}

const NON_ASCII = [
  'Zoë Ångström',
  '東京都港区芝公園',
  'payé 😀 🎉',
  'Ελληνικά κείμενα',
  'naïve café, crème brûlée',
  'Müller-Lüdenscheid',
  '中文备注：已审核',
  'Łódź — Kraków',
] as const;

/**
 * PostgreSQL's jsonb output text of a JSON value: keys ordered by length, then bytes; ", " and
 * ": " between members (what `SELECT payload::text` of a jsonb column returns).
 */
export function jsonbText(v: unknown): string {
  if (Array.isArray(v)) return `[${v.map(jsonbText).join(', ')}]`;
  if (v !== null && typeof v === 'object') {
    const keys = Object.keys(v).sort((a, b) => {
      const la = Buffer.byteLength(a);
      const lb = Buffer.byteLength(b);
      return la !== lb ? la - lb : Buffer.compare(Buffer.from(a), Buffer.from(b));
    });
    return `{${keys.map((k) => `${JSON.stringify(k)}: ${jsonbText((v as Record<string, unknown>)[k])}`).join(', ')}}`;
  }
  return JSON.stringify(v);
}

/**
 * A log kinder to nobody than referenceLines (bench/scan.bench.ts, "realistic"): about 8% of the
 * payloads hold non-ASCII text (7% a note, 1% a city) (accents, CJK, emoji), a fifth are nested (objects in arrays in
 * objects, decimals), one line in ten has its keys in the order a JS service writes them (not
 * canonical), one in ten has its payload as PostgreSQL's jsonb prints it; the rest are canonical
 * lines as referenceLines writes them. Every entry is valid: the chain is intact.
 */
export function* realisticLines(opts: GenerateOptions): Generator<{ entry: LogEntry; line: string }> {
  const hasher = makeHasher('sha256');
  const filler = 'x'.repeat(Math.max(0, (opts.payloadBytes ?? 64) - 24));
  const startMs = opts.startMs ?? Date.UTC(2026, 10, 21, 12, 0, 0);
  const firstSeq = opts.firstSeq ?? 1;
  let prevHash = GENESIS_PREV_HASH;
  for (let i = 0; i < opts.count; i++) {
    const seq = firstSeq + i;
    // a fixed pattern over seq, so that runs compare (hash-like mixing, not a PRNG to seed)
    const r = Math.imul(seq, 0x9e3779b1) >>> 0;
    const payload: Record<string, unknown> = {
      n: seq,
      ok: (r & 1) === 0,
      ip: `10.0.${seq % 256}.${(seq >> 8) % 256}`,
    };
    if (r % 100 < 7) payload.note = `${NON_ASCII[(r >>> 8) % NON_ASCII.length]} #${seq % 1000}`;
    if ((r >>> 4) % 5 === 0)
      payload.order = {
        id: `o-${seq}`,
        items: [
          { sku: `A-${seq % 1009}`, qty: 1 + (seq % 4), price: 12.5 },
          { sku: 'B-7', qty: 2, price: 0.99, tags: ['gift', 'fragile'] },
        ],
        shipping: { city: (r >>> 12) % 20 === 0 ? 'Zürich' : 'Berlin', zip: String(10_000 + (seq % 89_999)) },
      };
    payload.data = filler;
    const e: LogEntry = {
      seq,
      eventId: eventIdFor(seq),
      ts: tsFor(startMs, i),
      actor: `user-${seq % 97}`,
      action: seq % 3 === 0 ? 'logout' : 'login',
      payload,
      prevHash,
      hash: '',
    };
    const body = fastEntryBody(e);
    e.hash = hasher(prevHash, body);
    const variant = (r >>> 20) % 10;
    let line: string;
    if (variant === 0) line = toJsonLine(e);
    else if (variant === 1)
      line = `{"seq":${seq},"event_id":${JSON.stringify(e.eventId)},"ts":${JSON.stringify(e.ts)},"actor":${JSON.stringify(e.actor)},"action":${JSON.stringify(e.action)},"payload":${jsonbText(payload)},"prev_hash":"${prevHash}","hash":"${e.hash}"}`;
    else line = `${body.slice(0, -1)},"prev_hash":"${prevHash}","hash":"${e.hash}"}`;
    prevHash = e.hash;
    yield { entry: e, line };
  }
}
