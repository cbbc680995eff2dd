/**
 * The Postgres source against a real PostgreSQL: the reference audit_log table read by default
 * (COPY and cursor give the same items), other people's tables through a mapping (bytea hashes,
 * timestamp columns, other names), a table without a hash column (chain not run, verdict
 * unknown), defects planted with SQL, and the CLI end to end.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceEntries, rehash } from '../../src/scan/generate.ts';
import { scanLog } from '../../src/scan/scan.ts';
import { postgresSource } from '../../src/scan/sources/postgres.ts';
import type { LogEntry, LogSource, SourceItem } from '../../src/scan/types.ts';
import { PostgresServer } from '../../src/stack/local/postgres.ts';
import { runCli } from '../helpers/cli.ts';
import { insertEntries } from '../helpers/pg-table.ts';

const N = 3000;
let server: PostgresServer;
let client: pg.Client;
let url: string;
const log: LogEntry[] = [...referenceEntries({ count: N, payloadBytes: 24 })].map((e, i) =>
  // payloads that jsonb reorders and renormalizes: the hash is over the canonical form
  i % 100 === 7
    ? { ...e, payload: { zeta: 1, alpha: [1.5, 'é😀', null], '10': 'x', '9': { b: 1e21, a: -0 } } }
    : e,
);

// the entries that got a special payload must be rehashed to stay a valid chain

for (let i = 0; i < log.length; i++) {
  const prev = i === 0 ? '0'.repeat(64) : log[i - 1]!.hash;
  log[i] = rehash({ ...log[i]!, prevHash: prev });
}

async function createReferenceTable(name: string, entries: LogEntry[]) {
  await client.query(`DROP TABLE IF EXISTS ${name}`);
  await client.query(`CREATE TABLE ${name} (seq bigint primary key, event_id text unique not null,
    ts timestamptz not null, actor text not null, action text not null, payload jsonb not null,
    prev_hash text not null, hash text not null)`);
  await insertEntries(client, name, entries);
}

async function all(source: LogSource): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of source.entries()) out.push(item);
  return out;
}

beforeAll(async () => {
  server = await PostgresServer.create();
  url = server.url();
  client = new pg.Client({ connectionString: url });
  await client.connect();
  await createReferenceTable('audit_log', log);
});

afterAll(async () => {
  await client?.end();
  await server?.dispose();
});

describe('Postgres source', () => {
  it('reads the reference table by default, byte-exact, by COPY and by cursor alike', async () => {
    const viaCopy = await all(await postgresSource({ url }));
    const viaCursor = await all(await postgresSource({ url, method: 'cursor', fetchSize: 700 }));
    expect(viaCopy).toHaveLength(N);
    expect(viaCursor).toEqual(viaCopy);
    expect(viaCopy[0]).toEqual({ ...log[0]!, payload: log[0]!.payload });
    for (const method of ['copy', 'cursor'] as const) {
      const r = await scanLog({ source: await postgresSource({ url, method }) });
      expect(r.findings, method).toEqual([]);
      expect(r.verdict.status).toBe('pass');
    }
  });

  it("finds defects planted with SQL: the first and a middle row deleted, a payload edited, the last row's actor emptied", async () => {
    await createReferenceTable('tampered', log);
    await client.query(`DELETE FROM tampered WHERE seq = 1`);
    await client.query(`DELETE FROM tampered WHERE seq = 1500`);
    await client.query(`UPDATE tampered SET payload = '{}' WHERE seq = 2000`);
    await client.query(`UPDATE tampered SET actor = '' WHERE seq = ${N}`);
    const r = await scanLog({ source: await postgresSource({ url, table: 'tampered' }) });
    expect(r.findings.map((f) => `${f.kind}@${f.seq}`).sort()).toEqual(
      [
        'broken-chain@2',
        'broken-chain@1501',
        'broken-chain@2000',
        `broken-chain@${N}`,
        `partial@${N}`,
      ].sort(),
    );
  });

  it("reads someone else's table through a mapping: other names, bytea hashes, timestamp without zone", async () => {
    await client.query(`CREATE SCHEMA IF NOT EXISTS app`);
    await client.query(`CREATE TABLE app.events (id bigint primary key, uid text, created_at timestamp,
      who text, what text, body json, parent bytea, digest bytea, extra int)`);
    await client.query(
      `INSERT INTO app.events SELECT s, e, t, a, w, b::json, decode(p, 'hex'), decode(h, 'hex'), 0
         FROM unnest($1::bigint[], $2::text[], $3::timestamp[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
           AS x(s, e, t, a, w, b, p, h)`,
      [
        log.map((e) => e.seq),
        log.map((e) => e.eventId),
        log.map((e) => e.ts.replace('Z', '')),
        log.map((e) => e.actor),
        log.map((e) => e.action),
        log.map((e) => JSON.stringify(e.payload)),
        log.map((e) => e.prevHash),
        log.map((e) => e.hash),
      ],
    );
    const mapping = {
      seq: 'id',
      eventId: 'uid',
      ts: 'created_at',
      actor: 'who',
      action: 'what',
      payload: 'body',
      prevHash: 'parent',
      hash: 'digest',
    };
    const r = await scanLog({ source: await postgresSource({ url, table: 'app.events', mapping }) });
    expect(r.entries).toBe(N);
    expect(r.findings).toEqual([]);
    expect(r.verdict.status).toBe('pass');
  });

  it('reports the chain check as not run when the table has no hash column (verdict unknown)', async () => {
    await client.query(
      `CREATE TABLE nohash AS SELECT seq, event_id, ts, actor, action, payload FROM audit_log`,
    );
    const r = await scanLog({ source: await postgresSource({ url, table: 'nohash' }) });
    expect(r.checksRun[0]).toMatchObject({ name: 'chain', ran: false });
    expect(r.checksRun[0]!.reason).toMatch(/no prev_hash|no hash/);
    expect(r.findings).toEqual([]);
    expect(r.verdict.status).toBe('unknown');
  });

  it('reads NULL columns: a NULL field makes the row unreadable (partial), a NULL hash reads as empty', async () => {
    await client.query('CREATE TABLE nullable AS SELECT * FROM audit_log WHERE seq <= 20');
    await client.query(
      'ALTER TABLE nullable ALTER COLUMN actor DROP NOT NULL, ALTER COLUMN hash DROP NOT NULL',
    );
    await client.query('UPDATE nullable SET actor = NULL WHERE seq = 5');
    await client.query('UPDATE nullable SET hash = NULL WHERE seq = 12');
    for (const method of ['copy', 'cursor'] as const) {
      const items = await all(await postgresSource({ url, table: 'nullable', method }));
      expect(items).toHaveLength(20);
      expect(items[4]).toMatchObject({ unreadable: true, seq: 5, reason: 'column actor is NULL' });
      expect(items[11]).toMatchObject({ seq: 12, hash: '' });
      const r = await scanLog({ source: await postgresSource({ url, table: 'nullable', method }) });
      expect(r.findings.filter((f) => f.kind === 'partial').map((f) => f.seq)).toEqual([5, 12]);
    }
  });

  it('says which table or column is missing', async () => {
    await expect(postgresSource({ url, table: 'nope' })).rejects.toThrow(/table nope not found/);
    await expect(postgresSource({ url, mapping: { eventId: 'uuid' } })).rejects.toThrow(/no column uuid/);
    await expect(
      postgresSource({ url: 'postgres://x:y@127.0.0.1:1/db', connectTimeoutMs: 2000 }),
    ).rejects.toThrow(/cannot connect/);
  });

  it('auditchaos scan postgres://... --json: exit 0 on the clean table, 1 on the tampered one', async () => {
    const clean = await runCli(['scan', url, '--json']);
    expect(clean.exitCode, clean.stderr).toBe(0);
    const out = JSON.parse(clean.stdout);
    expect(out).toMatchObject({ entries: N, findings: [], verdict: 'pass' });
    expect(out.source).not.toContain(server.password);
    const bad = await runCli(['scan', url, '--table', 'tampered', '--pg-method', 'cursor']);
    expect(bad.exitCode).toBe(1);
    expect(bad.stdout).toMatch(/verdict: FAIL/);
    expect(bad.stdout).toMatch(/seq 1500 is missing/);
    const unknown = await runCli(['scan', url, '--table', 'nohash', '--json']);
    expect(unknown.exitCode).toBe(4);
  });
});
