/**
 * A real PostgreSQL for a test file (PostgresServer: started before its tests, removed after) and
 * reference-schema rows inserted in one statement.
 */
import pg from 'pg';
import { afterAll, beforeAll } from 'vitest';
import type { LogEntry } from '../../src/scan/types.ts';
import { PostgresServer } from '../../src/stack/local/postgres.ts';

/** Starts a server and one client for the file's tests; the getters are valid inside tests. */
export function usePostgres(): { readonly url: string; readonly client: pg.Client } {
  let server: PostgresServer | undefined;
  let client: pg.Client | undefined;
  beforeAll(async () => {
    server = await PostgresServer.create();
    client = new pg.Client({ connectionString: server.url() });
    await client.connect();
  });
  afterAll(async () => {
    await client?.end();
    await server?.dispose();
  });
  return {
    get url() {
      if (!server) throw new Error('usePostgres: the server is not started (use it inside a test)');
      return server.url();
    },
    get client() {
      if (!client) throw new Error('usePostgres: the client is not connected (use it inside a test)');
      return client;
    },
  };
}

/** Inserts the entries as rows of the reference schema (payload as jsonb) into `table`. */
export async function insertEntries(client: pg.Client, table: string, entries: LogEntry[]): Promise<void> {
  await client.query(
    `INSERT INTO ${table} SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::jsonb[], $7::text[], $8::text[])`,
    [
      entries.map((e) => e.seq),
      entries.map((e) => e.eventId),
      entries.map((e) => e.ts),
      entries.map((e) => e.actor),
      entries.map((e) => e.action),
      entries.map((e) => JSON.stringify(e.payload)),
      entries.map((e) => e.prevHash),
      entries.map((e) => e.hash),
    ],
  );
}
