/**
 * The read paths the visibility reader asks (src/workload/visibility-reader.ts): the service's
 * read API (GET path with the event id; 200 found, 404 not there, anything else a failed read),
 * or the log's PostgreSQL table queried by the mapped event id column, one query per round.
 */
import pg from 'pg';
import { scanSourceUrl } from '../scan/source-url.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { StackEndpoints } from '../stack/types.ts';
import { createHttpClient } from './http-client.ts';
import type { ReadAnswer, VisibilityProbe } from './visibility-reader.ts';

/** A read that takes longer than this is a failed read (it proves nothing either way). */
const READ_TIMEOUT_MS = 2000;

export function apiProbe(opts: {
  baseUrl: string;
  /** With `{eventId}`, filled in URL-encoded. */
  path: string;
  concurrency: number;
  clock: () => number;
}): VisibilityProbe {
  const http = createHttpClient({
    baseUrl: opts.baseUrl,
    connections: opts.concurrency,
    timeoutMs: READ_TIMEOUT_MS,
  });
  return {
    async read(eventIds, signal) {
      const out = new Map<string, ReadAnswer>();
      let next = 0;
      const worker = async () => {
        while (next < eventIds.length && !signal.aborted) {
          const id = eventIds[next++] as string;
          const sentAt = opts.clock();
          const reply = await http.send(
            {
              method: 'GET',
              path: opts.path.replaceAll('{eventId}', encodeURIComponent(id)),
              headers: { accept: 'application/json' },
            },
            READ_TIMEOUT_MS,
          );
          const answeredAt = opts.clock();
          if (reply.status === 200) out.set(id, { state: 'found', sentAt, answeredAt });
          else if (reply.status === 404) out.set(id, { state: 'absent', sentAt, answeredAt });
          else
            out.set(id, {
              state: 'error',
              sentAt,
              answeredAt,
              error: reply.status !== undefined ? `HTTP ${reply.status}` : reply.message,
            });
        }
      };
      await Promise.all(Array.from({ length: Math.min(opts.concurrency, eventIds.length) }, worker));
      return out;
    },
    close: () => http.close(),
  };
}

/** `schema.table` or `table`, each part quoted. */
function qualified(client: pg.Client, table: string): string {
  const i = table.indexOf('.');
  return i === -1
    ? client.escapeIdentifier(table)
    : `${client.escapeIdentifier(table.slice(0, i))}.${client.escapeIdentifier(table.slice(i + 1))}`;
}

export function postgresProbe(opts: {
  url: string;
  table: string;
  eventIdColumn: string;
  clock: () => number;
}): VisibilityProbe {
  let client: pg.Client | undefined;
  const connect = async () => {
    if (client) return client;
    const c = new pg.Client({
      connectionString: opts.url,
      connectionTimeoutMillis: READ_TIMEOUT_MS,
      query_timeout: READ_TIMEOUT_MS,
    });
    c.on('error', () => undefined); // surfaces through the failing query
    try {
      await c.connect();
    } catch (e) {
      await c.end().catch(() => undefined);
      throw e;
    }
    client = c;
    return c;
  };
  return {
    async read(eventIds) {
      const out = new Map<string, ReadAnswer>();
      const sentAt = opts.clock();
      try {
        const c = await connect();
        const col = c.escapeIdentifier(opts.eventIdColumn);
        const r = await c.query<{ id: string }>(
          `SELECT DISTINCT ${col}::text AS id FROM ${qualified(c, opts.table)} WHERE ${col} = ANY($1)`,
          [eventIds],
        );
        const answeredAt = opts.clock();
        const found = new Set(r.rows.map((x) => x.id));
        for (const id of eventIds)
          out.set(id, { state: found.has(id) ? 'found' : 'absent', sentAt, answeredAt });
      } catch (e) {
        // A broken connection is not reused: the next round connects again.
        const c = client;
        client = undefined;
        await c?.end().catch(() => undefined);
        const answeredAt = opts.clock();
        for (const id of eventIds)
          out.set(id, { state: 'error', sentAt, answeredAt, error: (e as Error).message });
      }
      return out;
    },
    async close() {
      await client?.end().catch(() => undefined);
      client = undefined;
    },
  };
}

/**
 * The probe a scenario names: via api, the service's direct URL (the read path of its users,
 * not through the api proxy: a fault on the writers' path must not stop the reader); via source,
 * the scan source's PostgreSQL (its url, else the stack's database).
 */
export function probeFor(scenario: Scenario, ep: StackEndpoints, clock: () => number): VisibilityProbe {
  const spec = scenario.workload.visibility;
  const source = scenario.scan.source;
  if (spec?.via === 'source') {
    if (source.kind !== 'postgres')
      throw new Error(`workload.visibility.via source needs a postgres scan.source, not ${source.kind}`);
    const url = scanSourceUrl(source)?.url ?? ep.databaseUrl;
    if (!url) throw new Error('workload.visibility.via source: the stack names no database URL');
    return postgresProbe({ url, table: source.table, eventIdColumn: scenario.scan.mapping.eventId, clock });
  }
  return apiProbe({
    baseUrl: ep.serviceDirectUrl ?? ep.serviceUrl,
    path: spec?.path ?? '/events/{eventId}',
    concurrency: spec?.concurrency ?? 16,
    clock,
  });
}
