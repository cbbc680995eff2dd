/**
 * The service's paginated read endpoint: GET {url}?after=SEQ&limit=N, in seq order, until a page
 * comes back empty. A page is a JSON array of entries, or an object holding one under `events`,
 * `entries` or `items`; entries use the JSONL field names (the mapping).
 */
import { EnvironmentError } from '../../errors.ts';
import type { EntryMapping } from '../../scenario/schema.ts';
import { jsonTextIssue, pageItemSpans, storedJsonOf } from '../strict-json.ts';
import { isUnreadable, type LogSource, type SourceItem, type TextIssue } from '../types.ts';
import { itemsOf } from './array.ts';
import { attachTextIssue, REFERENCE_MAPPING, recordReader } from './record.ts';

export interface HttpSourceOptions {
  /** The endpoint, e.g. http://127.0.0.1:8080/events */
  url: string;
  pageSize?: number;
  mapping?: Partial<EntryMapping>;
  headers?: Record<string, string>;
  /** Per-request timeout. */
  timeoutMs?: number;
  /** The seq to start after (default 0: the whole log). */
  after?: number;
  fetch?: typeof globalThis.fetch;
  /** Keep each entry's stored form (LogEntry.stored), for recipes over the stored text. */
  stored?: boolean;
}

const PAGE_KEYS = ['events', 'entries', 'items'] as const;

/**
 * Per item, what makes its stored text not I-JSON (strict-json.ts), or undefined when the whole
 * page is clean (the usual case: one pass over the text). An issue outside the items (a wrapper
 * object naming `events` twice) makes the page itself unreadable.
 */
function pageIssues(text: string, count: number, u: URL): (TextIssue | undefined)[] | undefined {
  const first = jsonTextIssue(text);
  if (first === undefined) return undefined;
  const spans = pageItemSpans(text, PAGE_KEYS);
  const inside = spans?.some(([s, e]) => first.at >= s && first.at < e) ?? false;
  if (!spans || spans.length !== count || !inside) {
    throw new EnvironmentError(`GET ${u}: the page is not I-JSON: ${first.message}`);
  }
  return spans.map(([s, e]) => jsonTextIssue(text, s, e));
}

function pageItems(body: unknown): unknown[] | undefined {
  if (Array.isArray(body)) return body;
  if (body && typeof body === 'object') {
    for (const k of PAGE_KEYS) {
      const v = (body as Record<string, unknown>)[k];
      if (Array.isArray(v)) return v;
    }
  }
  return undefined;
}

export function httpSource(opts: HttpSourceOptions): LogSource {
  const pageSize = opts.pageSize ?? 1000;
  const doFetch = opts.fetch ?? globalThis.fetch;
  const read = recordReader(opts.mapping);
  const storedKey = opts.stored ? { ...REFERENCE_MAPPING, ...opts.mapping }.payload : undefined;
  async function* batches(signal?: AbortSignal): AsyncIterable<SourceItem[]> {
    let after = opts.after ?? 0;
    let page = 0;
    for (;;) {
      const u = new URL(opts.url);
      u.searchParams.set('after', String(after));
      u.searchParams.set('limit', String(pageSize));
      const timeout = AbortSignal.timeout(opts.timeoutMs ?? 30_000);
      let res: Response;
      try {
        res = await doFetch(u, {
          headers: { accept: 'application/json', ...opts.headers },
          signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
        });
      } catch (e) {
        signal?.throwIfAborted();
        throw new EnvironmentError(`GET ${u} failed: ${(e as Error).message}`, { cause: e });
      }
      if (!res.ok) throw new EnvironmentError(`GET ${u} answered ${res.status} ${res.statusText}`);
      const text = await res.text();
      let body: unknown;
      try {
        body = JSON.parse(text);
      } catch (e) {
        throw new EnvironmentError(`GET ${u} did not answer JSON: ${(e as Error).message}`, { cause: e });
      }
      const items = pageItems(body);
      if (items === undefined) {
        throw new EnvironmentError(`GET ${u} did not answer a JSON array (or {events: [...]})`);
      }
      if (items.length === 0) return;
      const issues = pageIssues(text, items.length, u);
      const spans = storedKey === undefined ? undefined : pageItemSpans(text, PAGE_KEYS);
      const out: SourceItem[] = [];
      let maxSeq = after;
      for (const [i, rec] of items.entries()) {
        const item = read(rec, undefined, undefined);
        const issue = issues?.[i];
        if (issue) attachTextIssue(item, issue);
        const span = spans?.[i];
        if (span && storedKey !== undefined && !isUnreadable(item))
          item.stored = storedJsonOf(text, span[0], span[1], storedKey, item.payload);
        if (item.seq !== undefined && item.seq > maxSeq) maxSeq = item.seq;
        if ((item as { unreadable?: true }).unreadable)
          (item as { reason: string }).reason += ` (page ${page}, item ${i})`;
        out.push(item);
      }
      yield out;
      if (maxSeq <= after) {
        throw new EnvironmentError(
          `GET ${u} returned no entry after seq ${after}: the endpoint does not page by seq`,
        );
      }
      after = maxSeq;
      page++;
    }
  }
  return { describe: opts.url, batches, entries: (signal) => itemsOf(batches(signal)) };
}
