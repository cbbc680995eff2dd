import { existsSync } from 'node:fs';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PostgresServer } from '../../src/stack/local/postgres.ts';

describe('PostgresServer (embedded binaries, real server)', () => {
  let server: PostgresServer;
  beforeAll(async () => {
    server = await PostgresServer.create();
  });
  afterAll(async () => {
    await server?.dispose();
  });

  const query = async (sql: string) => {
    const c = new pg.Client({ connectionString: server.url(), connectionTimeoutMillis: 2000 });
    await c.connect();
    try {
      return await c.query(sql);
    } finally {
      await c.end();
    }
  };

  it('accepts connections and keeps committed data across a SIGKILL crash', async () => {
    await query('CREATE TABLE t (x int); INSERT INTO t VALUES (1), (2)');
    await server.kill();
    expect(server.running).toBe(false);
    await expect(query('SELECT 1')).rejects.toThrow();
    await server.start();
    const r = await query('SELECT count(*)::int AS n FROM t');
    expect(r.rows[0].n).toBe(2);
  });

  it('pause makes queries hang, resume lets them finish', async () => {
    server.pause();
    const c = new pg.Client({ connectionString: server.url(), connectionTimeoutMillis: 500 });
    await expect(c.connect()).rejects.toThrow();
    await c.end().catch(() => undefined);
    server.resume();
    expect((await query('SELECT 1 AS one')).rows[0].one).toBe(1);
  });

  it('stop and start', async () => {
    await server.stop();
    await expect(query('SELECT 1')).rejects.toThrow();
    await server.start();
    expect((await query('SELECT count(*)::int AS n FROM t')).rows[0].n).toBe(2);
  });

  it('dispose removes the data directory', async () => {
    const other = await PostgresServer.create();
    const dir = other.dataDir;
    expect(existsSync(dir)).toBe(true);
    await other.dispose();
    expect(existsSync(dir)).toBe(false);
    expect(other.running).toBe(false);
  });
});
