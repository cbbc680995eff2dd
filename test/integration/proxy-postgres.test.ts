/**
 * A real PostgreSQL connection through the built-in proxy, faulted through toxiproxy-node-client:
 * what the harness does to the `db` proxy in a scenario.
 */
import { performance } from 'node:perf_hooks';
import pg from 'pg';
import { Toxiproxy, type Proxy as ToxiproxyProxy } from 'toxiproxy-node-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyServer, startProxyServer } from '../../src/proxy/server.ts';
import { PostgresServer } from '../../src/stack/local/postgres.ts';
import { eventually, portOf } from './proxy-helpers.ts';

let db: PostgresServer;
let server: ProxyServer;
let proxy: ToxiproxyProxy;
let url: string;

beforeAll(async () => {
  db = await PostgresServer.create();
  server = await startProxyServer({ port: 0 });
  const tp = new Toxiproxy(server.url);
  proxy = await tp.createProxy({ name: 'db', listen: '127.0.0.1:0', upstream: `127.0.0.1:${db.port}` });
  url = db.url().replace(`:${db.port}/`, `:${portOf(proxy.listen)}/`);
});
afterAll(async () => {
  await server?.close();
  await db?.dispose();
});

async function client(): Promise<pg.Client> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 3000 });
  c.on('error', () => {});
  await c.connect();
  return c;
}

async function timed<T>(f: () => Promise<T>): Promise<[T, number]> {
  const t0 = performance.now();
  const r = await f();
  return [r, performance.now() - t0];
}

describe('PostgreSQL through the built-in proxy', () => {
  it('queries pass; latency on both streams slows each query by about twice the latency', async () => {
    const c = await client();
    try {
      const [r, base] = await timed(() => c.query('SELECT 41 + 1 AS n'));
      expect(r.rows[0].n).toBe(42);
      await proxy.addToxic({
        name: 'up',
        type: 'latency',
        stream: 'upstream',
        toxicity: 1,
        attributes: { latency: 100, jitter: 0 },
      });
      await proxy.addToxic({
        name: 'down',
        type: 'latency',
        stream: 'downstream',
        toxicity: 1,
        attributes: { latency: 100, jitter: 0 },
      });
      const [, slow] = await timed(() => c.query('SELECT 1'));
      console.log(
        `[proxy] postgres query ms: ${base.toFixed(1)} without, ${slow.toFixed(1)} with 100 ms each way`,
      );
      expect(slow).toBeGreaterThanOrEqual(195);
      expect(slow).toBeLessThan(200 + 500);
      await (await proxy.getToxic('up')).remove();
      await (await proxy.getToxic('down')).remove();
      const [, again] = await timed(() => c.query('SELECT 1'));
      expect(again).toBeLessThan(190); // 200+ if either toxic were still there
    } finally {
      await c.end().catch(() => undefined);
    }
  });

  it('disabling the proxy breaks the open session and refuses new ones; enabling lets new sessions in', async () => {
    const c = await client();
    const off = await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    await expect(c.query('SELECT 1')).rejects.toThrow();
    await expect(client()).rejects.toThrow(/ECONNREFUSED/);
    proxy = await off.update({ enabled: true, listen: off.listen, upstream: off.upstream });
    const d = await client();
    expect((await d.query('SELECT 2 AS n')).rows[0].n).toBe(2);
    await d.end();
  });

  it('reset_peer makes the driver see a reset; limit_data cuts a large result', async () => {
    const c = await client();
    await proxy.addToxic({
      name: 'rst',
      type: 'reset_peer',
      stream: 'upstream',
      toxicity: 1,
      attributes: { timeout: 0 },
    });
    await expect(c.query('SELECT 1')).rejects.toThrow(/ECONNRESET|terminated|Connection/i);
    await (await proxy.getToxic('rst')).remove();

    const d = await client();
    await proxy.addToxic({
      name: 'cap',
      type: 'limit_data',
      stream: 'downstream',
      toxicity: 1,
      attributes: { bytes: 2000 },
    });
    await expect(d.query("SELECT g, repeat('x', 100) FROM generate_series(1, 1000) g")).rejects.toThrow();
    await (await proxy.getToxic('cap')).remove();
    const e = await client();
    expect((await e.query('SELECT count(*)::int AS n FROM generate_series(1, 1000)')).rows[0].n).toBe(1000);
    await e.end();
    expect(await eventually(() => server.connectionCount() === 0)).toBe(true);
  });
});
