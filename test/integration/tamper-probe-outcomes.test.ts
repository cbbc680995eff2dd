/**
 * Issue 13, case 2: only a refusal by the system under test is "refused" (SQLSTATE 42501
 * insufficient_privilege, P0001 raise_exception from a trigger, 25006 read_only_sql_transaction;
 * HTTP 403/405/409). A syntax error, an unknown table or column, a connection failure, HTTP 404
 * or 5xx is a probe error (outcome "error": the verdict is unknown, exit 4). Real PostgreSQL.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { TamperProbe } from '../../src/scenario/schema.ts';
import { PostgresServer } from '../../src/stack/local/postgres.ts';
import { runTamperProbes, type TamperContext } from '../../src/tamper/probes.ts';

let server: PostgresServer;
let http404: http.Server;
let ctx: TamperContext;
let limitedUrl: string;

beforeAll(async () => {
  server = await PostgresServer.create();
  const c = new pg.Client({ connectionString: server.url() });
  await c.connect();
  await c.query(`CREATE TABLE log (seq bigint primary key, event_id text not null, body text not null);
    INSERT INTO log SELECT g, 'e' || g, 'x' FROM generate_series(1, 5) g;
    CREATE TABLE locked (seq bigint primary key, event_id text not null, body text not null);
    INSERT INTO locked SELECT g, 'e' || g, 'x' FROM generate_series(1, 5) g;
    CREATE FUNCTION no_change() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RAISE EXCEPTION 'append only'; END $$;
    CREATE TRIGGER locked_no_change BEFORE UPDATE OR DELETE ON locked FOR EACH ROW EXECUTE FUNCTION no_change();
    CREATE ROLE reader LOGIN PASSWORD 'reader';
    GRANT SELECT ON log TO reader;`);
  await c.end();
  const u = new URL(server.url());
  u.username = 'reader';
  u.password = 'reader';
  limitedUrl = u.toString();
  http404 = http.createServer((req, res) => {
    const status = Number(req.url?.split('/')[1]);
    res.writeHead(Number.isInteger(status) && status >= 200 ? status : 404).end('answer');
  });
  await new Promise<void>((r) => http404.listen(0, '127.0.0.1', r));
  ctx = {
    databaseUrl: server.url(),
    serviceUrl: `http://127.0.0.1:${(http404.address() as AddressInfo).port}`,
    table: 'log',
    seqColumn: 'seq',
    eventIdColumn: 'event_id',
    vars: {},
    timeoutMs: 5000,
  };
}, 60_000);

afterAll(async () => {
  http404?.close();
  await server?.dispose();
});

const sql = (statement: string): TamperProbe => ({ via: 'sql', statement }) as TamperProbe;
const api = (method: string, p: string): TamperProbe => ({ via: 'api', method, path: p }) as TamperProbe;

describe('tamper probe outcomes (issue 13)', () => {
  it.each([
    ['THIS IS NOT SQL (syntax error 42601)', 'THIS IS NOT SQL'],
    ['unknown table (42P01)', 'UPDATE nosuch SET body = 1'],
    ['unknown column (42703)', 'UPDATE log SET nosuch = 1'],
  ])('SQL probe error, not refused: %s', async (_label, statement) => {
    const [rec] = await runTamperProbes([sql(statement)], ctx);
    expect(rec?.outcome).toBe('error');
    expect(rec?.detail).toMatch(/did not reach a refusal/);
  });

  it('SQL connection failure is a probe error', async () => {
    const [rec] = await runTamperProbes([sql('DELETE FROM log')], {
      ...ctx,
      databaseUrl: 'postgres://postgres:x@127.0.0.1:1/postgres',
    });
    expect(rec?.outcome).toBe('error');
  });

  it('refused: trigger RAISE (P0001)', async () => {
    const [rec] = await runTamperProbes([sql("UPDATE locked SET body = 'y' WHERE seq = 2")], {
      ...ctx,
      table: 'locked',
    });
    expect(rec?.outcome).toBe('refused');
    expect(rec?.detail).toMatch(/P0001/);
  });

  it('refused: read-only transaction (25006)', async () => {
    const [rec] = await runTamperProbes(
      [sql("BEGIN READ ONLY; UPDATE log SET body = 'y' WHERE seq = 2; COMMIT")],
      ctx,
    );
    expect(rec?.outcome).toBe('refused');
    expect(rec?.detail).toMatch(/25006/);
  });

  it('refused: permission denied (42501), as a role without UPDATE', async () => {
    const [rec] = await runTamperProbes([sql("UPDATE log SET body = 'y' WHERE seq = 2")], {
      ...ctx,
      databaseUrl: limitedUrl,
    });
    expect(rec?.outcome).toBe('refused');
    expect(rec?.detail).toMatch(/42501/);
  });

  it('accepted: an UPDATE that changes a row is still accepted', async () => {
    const [rec] = await runTamperProbes([sql("UPDATE log SET body = 'changed' WHERE seq = 5")], ctx);
    expect(rec?.outcome).toBe('accepted');
  });

  it.each([
    [403, 'refused'],
    [405, 'refused'],
    [409, 'refused'],
    [404, 'error'],
    [500, 'error'],
    [503, 'error'],
    [400, 'error'],
  ])('API probe answered HTTP %i -> %s', async (status, outcome) => {
    const [rec] = await runTamperProbes([api('DELETE', `/${status}`)], ctx);
    expect(rec?.outcome).toBe(outcome);
  });

  it('API connection refused is a probe error', async () => {
    const [rec] = await runTamperProbes([api('DELETE', '/x')], { ...ctx, serviceUrl: 'http://127.0.0.1:1' });
    expect(rec?.outcome).toBe('error');
  });
});
