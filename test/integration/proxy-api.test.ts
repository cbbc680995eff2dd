/**
 * Toxiproxy's HTTP API as the client sees it (toxiproxy-node-client), plus the exact statuses
 * and error bodies, which that client does not expose (it throws "Request failed with status
 * code N"), checked with fetch. And the `auditchaos proxy` binary: ready line, --config, SIGTERM.
 */
import { writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { Toxiproxy } from 'toxiproxy-node-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyServer, startProxyServer } from '../../src/proxy/server.ts';
import { BIN, REPO_ROOT } from '../helpers/cli.ts';
import { connect, echoServer, portOf, roundTrip, type TestServer } from './proxy-helpers.ts';

let server: ProxyServer;
let tp: Toxiproxy;
let echo: TestServer;

beforeAll(async () => {
  server = await startProxyServer({ port: 0 });
  tp = new Toxiproxy(server.url);
  echo = await echoServer();
});
afterAll(async () => {
  await server.close();
  await echo.close();
});
afterEach(async () => {
  for (const p of Object.values(await tp.getAll())) await p.remove();
});

async function call(method: string, p: string, body?: unknown) {
  const res = await fetch(server.url + p, {
    method,
    body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
  });
  const text = await res.text();
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = text;
  }
  return { status: res.status, json, text };
}

const upstream = () => `127.0.0.1:${echo.port}`;

describe('proxies', () => {
  it('create answers 201 with the proxy, listen echoed as the address bound', async () => {
    const r = await call('POST', '/proxies', { name: 'a', listen: '127.0.0.1:0', upstream: upstream() });
    expect(r.status).toBe(201);
    const body = r.json as Record<string, unknown>;
    expect(Object.keys(body)).toEqual(['name', 'listen', 'upstream', 'enabled', 'toxics']);
    expect(body).toMatchObject({ name: 'a', upstream: upstream(), enabled: true, toxics: [] });
    expect(body.listen).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(portOf(body.listen as string)).toBeGreaterThan(0);
    expect((await tp.get('a')).listen).toBe(body.listen);
  });

  it('create refuses duplicates (409), missing fields and bad bodies (400), with Toxiproxy bodies', async () => {
    await tp.createProxy({ name: 'dup', listen: '127.0.0.1:0', upstream: upstream() });
    expect(
      await call('POST', '/proxies', { name: 'dup', listen: '127.0.0.1:0', upstream: upstream() }),
    ).toMatchObject({
      status: 409,
      json: { error: 'proxy already exists', status: 409 },
    });
    expect(await call('POST', '/proxies', { listen: '127.0.0.1:0', upstream: upstream() })).toMatchObject({
      status: 400,
      json: { error: 'missing required field: name', status: 400 },
    });
    expect(await call('POST', '/proxies', { name: 'x', listen: '127.0.0.1:0' })).toMatchObject({
      status: 400,
      json: { error: 'missing required field: upstream', status: 400 },
    });
    const bad = await call('POST', '/proxies', '{not json');
    expect(bad.status).toBe(400);
    expect((bad.json as { error: string }).error).toMatch(/^bad request body: /);
    const wrongType = await call('POST', '/proxies', { name: 7, upstream: upstream() });
    expect(wrongType.status).toBe(400);
    expect((wrongType.json as { error: string }).error).toMatch(/cannot unmarshal number/);
    expect((await call('POST', '/proxies', '')).json).toEqual({
      error: 'bad request body: EOF',
      status: 400,
    });
  });

  it('a port already in use is a 500 naming the address; the proxy is not created', async () => {
    const blocker = net.createServer();
    await new Promise<void>((r) => blocker.listen(0, '127.0.0.1', r));
    const port = (blocker.address() as net.AddressInfo).port;
    try {
      const r = await call('POST', '/proxies', {
        name: 'busy',
        listen: `127.0.0.1:${port}`,
        upstream: upstream(),
      });
      expect(r.status).toBe(500);
      expect(r.json).toEqual({
        error: `listen tcp 127.0.0.1:${port}: bind: address already in use`,
        status: 500,
      });
      expect((await call('GET', '/proxies/busy')).status).toBe(404);
    } finally {
      blocker.close();
    }
  });

  it('show, list, update (merging fields), delete; 404s for unknown names', async () => {
    const p = await tp.createProxy({ name: 'u', listen: '127.0.0.1:0', upstream: upstream() });
    expect(Object.keys(await tp.getAll())).toEqual(['u']);
    const patched = await call('PATCH', '/proxies/u', { enabled: false });
    expect(patched.status).toBe(200);
    expect(patched.json).toMatchObject({ name: 'u', listen: p.listen, upstream: upstream(), enabled: false });
    expect(await call('GET', '/proxies/nope')).toMatchObject({
      status: 404,
      json: { error: 'proxy not found', status: 404 },
    });
    expect((await call('POST', '/proxies/nope', { enabled: true })).status).toBe(404);
    expect((await call('DELETE', '/proxies/u')).status).toBe(204);
    expect((await call('DELETE', '/proxies/u')).json).toEqual({ error: 'proxy not found', status: 404 });
  });

  it('accepts an upstream that resolves only elsewhere (compose service names)', async () => {
    const p = await tp.createProxy({ name: 'db', listen: '127.0.0.1:0', upstream: 'postgres:5432' });
    expect(p.upstream).toBe('postgres:5432');
    expect(p.enabled).toBe(true);
  });

  it('unknown paths are 404 "404 page not found", wrong methods 405, browsers 403', async () => {
    expect(await call('GET', '/nothing')).toMatchObject({ status: 404, text: '404 page not found\n' });
    expect((await call('PUT', '/proxies')).status).toBe(405);
    const res = await fetch(`${server.url}/proxies`, { headers: { 'user-agent': 'Mozilla/5.0' } });
    expect(res.status).toBe(403);
  });

  it('/version answers JSON with a version string', async () => {
    const v = JSON.parse(await tp.getVersion()) as { version: string };
    expect(v.version).toMatch(/^2\.\d+\.\d+\+auditchaos$/);
  });

  it('/populate answers 201 {proxies}; a missing field is 400 with proxies null, nothing created', async () => {
    const ok = await call('POST', '/populate', [
      { name: 'p1', listen: '127.0.0.1:0', upstream: upstream() },
      { name: 'p2', listen: '127.0.0.1:0', upstream: upstream(), enabled: false },
    ]);
    expect(ok.status).toBe(201);
    expect(
      (ok.json as { proxies: { name: string; enabled: boolean }[] }).proxies.map((p) => [p.name, p.enabled]),
    ).toEqual([
      ['p1', true],
      ['p2', false],
    ]);
    const bad = await call('POST', '/populate', [
      { name: 'p3', listen: '127.0.0.1:0', upstream: upstream() },
      { name: 'p4' },
    ]);
    expect(bad).toMatchObject({
      status: 400,
      json: { error: 'missing required field: upstream at proxy 2', status: 400, proxies: null },
    });
    expect((await call('GET', '/proxies/p3')).status).toBe(404);
    expect((await call('POST', '/populate', { name: 'x' })).status).toBe(400);
  });
});

describe('toxics', () => {
  it('create answers 200 with defaults: stream downstream, toxicity 1, name <type>_<stream>, every attribute', async () => {
    await tp.createProxy({ name: 't', listen: '127.0.0.1:0', upstream: upstream() });
    const r = await call('POST', '/proxies/t/toxics', { type: 'latency', attributes: { latency: 10 } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      attributes: { latency: 10, jitter: 0 },
      name: 'latency_downstream',
      type: 'latency',
      stream: 'downstream',
      toxicity: 1,
    });
    expect(Object.keys(r.json as object)).toEqual(['attributes', 'name', 'type', 'stream', 'toxicity']);
    const up = await call('POST', '/proxies/t/toxics', {
      type: 'limit_data',
      stream: 'upstream',
      toxicity: 0.5,
    });
    expect(up.json).toMatchObject({
      name: 'limit_data_upstream',
      stream: 'upstream',
      toxicity: 0.5,
      attributes: { bytes: 0 },
    });
    // Listing: upstream toxics first, then downstream, as Toxiproxy lists them.
    const list = (await call('GET', '/proxies/t/toxics')).json as { name: string }[];
    expect(list.map((t) => t.name)).toEqual(['limit_data_upstream', 'latency_downstream']);
    expect(((await call('GET', '/proxies/t')).json as { toxics: unknown[] }).toxics).toEqual(list);
  });

  it("accepts toxiproxy-node-client's own slicer test (average_size 1000, size_variation 1000) and relays through it", async () => {
    const proxy = await tp.createProxy({ name: 'sl', listen: '127.0.0.1:0', upstream: upstream() });
    const toxic = await proxy.addToxic({
      name: 'slicer_downstream',
      type: 'slicer',
      stream: 'downstream',
      toxicity: 1,
      attributes: { average_size: 1000, size_variation: 1000, delay: 0 },
    });
    expect(toxic.attributes).toEqual({ average_size: 1000, size_variation: 1000, delay: 0 });
    const c = await connect(portOf(proxy.listen));
    const sent = Buffer.alloc(64 * 1024, 0x62);
    c.socket.write(sent);
    expect((await c.waitBytes(sent.length)).equals(sent)).toBe(true);
    c.socket.destroy();
  });

  it('update merges attributes and toxicity; show, delete, and their 404s', async () => {
    const p = await tp.createProxy({ name: 'm', listen: '127.0.0.1:0', upstream: upstream() });
    await p.addToxic({
      name: 'lat',
      type: 'latency',
      stream: 'upstream',
      toxicity: 1,
      attributes: { latency: 100, jitter: 5 },
    });
    const r = await call('POST', '/proxies/m/toxics/lat', { attributes: { jitter: 20 } });
    expect(r.status).toBe(200);
    expect(r.json).toEqual({
      attributes: { latency: 100, jitter: 20 },
      name: 'lat',
      type: 'latency',
      stream: 'upstream',
      toxicity: 1,
    });
    expect((await call('PATCH', '/proxies/m/toxics/lat', { toxicity: 0.25 })).json).toMatchObject({
      toxicity: 0.25,
      attributes: { latency: 100, jitter: 20 },
    });
    expect((await p.getToxic('lat')).toxicity).toBe(0.25);
    expect(await call('GET', '/proxies/m/toxics/none')).toMatchObject({
      status: 404,
      json: { error: 'toxic not found', status: 404 },
    });
    expect((await call('POST', '/proxies/m/toxics/none', { toxicity: 1 })).status).toBe(404);
    expect((await call('DELETE', '/proxies/m/toxics/lat')).status).toBe(204);
    expect((await call('DELETE', '/proxies/m/toxics/lat')).status).toBe(404);
    expect((await call('GET', '/proxies/none/toxics')).json).toEqual({
      error: 'proxy not found',
      status: 404,
    });
  });

  it('refuses bad toxics with Toxiproxy statuses, never crashing', async () => {
    await tp.createProxy({ name: 'b', listen: '127.0.0.1:0', upstream: upstream() });
    const post = (body: unknown) => call('POST', '/proxies/b/toxics', body);
    expect((await post({ type: 'latency', stream: 'sideways' })).json).toEqual({
      error: 'stream was invalid, can be either upstream or downstream',
      status: 400,
    });
    expect((await post({ type: 'teleport' })).json).toEqual({ error: 'invalid toxic type', status: 400 });
    expect((await post({ attributes: {} })).json).toEqual({ error: 'invalid toxic type', status: 400 });
    await post({ type: 'latency' });
    expect((await post({ type: 'latency' })).json).toEqual({ error: 'toxic already exists', status: 409 });
    // Toxiproxy's slicer crashes on zero sizes and on a variation above the average; here they are refused.
    for (const attributes of [{}, { average_size: 0 }, { average_size: 10, size_variation: 11 }]) {
      const r = await post({ type: 'slicer', name: 'sl', attributes });
      expect(r.status).toBe(400);
      expect((r.json as { error: string }).error).toMatch(/^bad request body: .*slicer/);
    }
    for (const body of [
      { type: 'latency', name: 'l2', attributes: { latency: 'slow' } },
      { type: 'latency', name: 'l3', attributes: { latency: 1.5 } },
      { type: 'latency', name: 'l4', attributes: { latency: -5 } },
      { type: 'latency', name: 'l5', toxicity: 2 },
      { type: 'latency', name: 'l6', toxicity: '1' },
      [1, 2],
      'null',
    ]) {
      const r = await post(body);
      expect(r.status, JSON.stringify(body)).toBe(400);
      expect((r.json as { error: string }).error).toMatch(/^bad request body: /);
    }
    expect(
      (await call('POST', '/proxies/b/toxics/latency_downstream', { attributes: { latency: -1 } })).status,
    ).toBe(400);
    expect((await call('GET', '/proxies/b/toxics')).json).toHaveLength(1);
  });
});

describe('GET /metrics', () => {
  it('counts connections and the bytes each proxy received and sent, per direction, in Prometheus text', async () => {
    const a = await tp.createProxy({ name: 'm_a', listen: '127.0.0.1:0', upstream: upstream() });
    await tp.createProxy({ name: 'm_b', listen: '127.0.0.1:0', upstream: upstream() });
    const page = async () => {
      const r = await fetch(`${server.url}/metrics`);
      expect(r.headers.get('content-type')).toMatch(/^text\/plain/);
      return r.text();
    };
    const value = (text: string, re: RegExp) => Number(re.exec(text)?.[1]);
    const before = await page();
    expect(value(before, /^toxiproxy_proxy_connections_total\{proxy="m_a"\} (\d+)$/m)).toBe(0);
    expect(
      value(
        before,
        /^toxiproxy_proxy_received_bytes_total\{direction="upstream",[^}]*proxy="m_a"[^}]*\} (\d+)$/m,
      ),
    ).toBe(0);
    const c = await connect(portOf(a.listen));
    await roundTrip(c, 300);
    const during = await page();
    expect(value(during, /^toxiproxy_proxy_connections_open\{proxy="m_a"\} (\d+)$/m)).toBe(1);
    c.socket.destroy();
    const after = await page();
    expect(value(after, /^toxiproxy_proxy_connections_total\{proxy="m_a"\} (\d+)$/m)).toBe(1);
    expect(
      value(
        after,
        /^toxiproxy_proxy_received_bytes_total\{direction="upstream",[^}]*proxy="m_a"[^}]*\} (\d+)$/m,
      ),
    ).toBe(300);
    expect(
      value(
        after,
        /^toxiproxy_proxy_received_bytes_total\{direction="downstream",[^}]*proxy="m_a"[^}]*\} (\d+)$/m,
      ),
    ).toBe(300);
    expect(
      value(
        after,
        /^toxiproxy_proxy_sent_bytes_total\{direction="downstream",[^}]*proxy="m_a"[^}]*\} (\d+)$/m,
      ),
    ).toBe(300);
    // The other proxy carried nothing, and says so (a series of zeros, not an absent one).
    expect(value(after, /^toxiproxy_proxy_connections_total\{proxy="m_b"\} (\d+)$/m)).toBe(0);
    expect(
      value(
        after,
        /^toxiproxy_proxy_received_bytes_total\{direction="upstream",[^}]*proxy="m_b"[^}]*\} (\d+)$/m,
      ),
    ).toBe(0);
  });
});

describe('bad input', () => {
  it('answers every garbled request with a 4xx and keeps serving (200 seeded random requests)', async () => {
    await tp.createProxy({ name: 'f', listen: '127.0.0.1:0', upstream: upstream() });
    await call('POST', '/proxies/f/toxics', { type: 'latency', name: 'lat' });
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 48271) % 2147483647;
      return seed % n;
    };
    const values: unknown[] = [
      null,
      true,
      -1,
      0,
      1.5,
      1e308,
      '',
      'x',
      'upstream',
      [],
      {},
      { latency: 'x' },
      [1],
      { rate: -3 },
    ];
    const keys = ['name', 'listen', 'upstream', 'enabled', 'type', 'stream', 'toxicity', 'attributes'];
    const paths = [
      '/proxies',
      '/populate',
      '/proxies/f',
      '/proxies/f/toxics',
      '/proxies/f/toxics/lat',
      '/proxies/%E0%A4%A',
      '/reset/x',
    ];
    const statuses = new Map<number, number>();
    for (let i = 0; i < 200; i++) {
      const body: Record<string, unknown> = {};
      for (let k = 0; k < 3; k++) body[keys[rnd(keys.length)] as string] = values[rnd(values.length)];
      // Keep the fuzz from binding real addresses or re-pointing the proxy: listen only on 127.0.0.1:0.
      if ('listen' in body) body.listen = '127.0.0.1:0';
      const method = ['POST', 'PATCH', 'GET'][rnd(3)] as string;
      const raw = rnd(5) === 0 ? '{"name": ' : rnd(5) === 0 ? [body] : body;
      const r = await call(method, paths[rnd(paths.length)] as string, method === 'GET' ? undefined : raw);
      statuses.set(r.status, (statuses.get(r.status) ?? 0) + 1);
      expect(r.status, `${method} ${JSON.stringify(raw)} -> ${r.text}`).toBeLessThan(500);
    }
    console.log(`[proxy] fuzz statuses: ${JSON.stringify(Object.fromEntries(statuses))}`);
    expect(statuses.get(400)).toBeGreaterThan(0);
    expect(JSON.parse(await tp.getVersion())).toHaveProperty('version');
  });
});

describe('auditchaos proxy (the binary)', () => {
  it('prints one ready line, creates the --config proxies, and stops on SIGTERM', async () => {
    const cfg = path.join(tmpdir(), `auditchaos-proxy-${process.pid}.json`);
    await writeFile(cfg, JSON.stringify([{ name: 'echo', listen: '127.0.0.1:0', upstream: upstream() }]));
    const child = execa(
      process.execPath,
      [BIN, 'proxy', '--host', '127.0.0.1', '--port', '0', '--config', cfg],
      {
        cwd: REPO_ROOT,
        reject: false,
        env: { NO_COLOR: '1' },
      },
    );
    try {
      const line = await new Promise<string>((resolve, reject) => {
        let buf = '';
        child.stdout?.on('data', (c: Buffer) => {
          buf += c.toString();
          if (buf.includes('\n')) resolve(buf);
        });
        child.once('exit', () => reject(new Error(`exited early: ${buf}`)));
      });
      expect(line).toMatch(/^auditchaos proxy listening on http:\/\/127\.0\.0\.1:\d+\n$/);
      const url = line.trim().replace(/^.* on /, '');
      const client = new Toxiproxy(url);
      const all = await client.getAll();
      expect(all.echo?.upstream).toBe(upstream());
      const c = await connect(portOf(all.echo?.listen ?? ''));
      expect(await roundTrip(c)).toBeLessThan(1000);
      child.kill('SIGTERM');
      const r = await child;
      expect([0, 130]).toContain(r.exitCode);
      expect(await c.closed).not.toBe('open');
      await expect(fetch(`${url}/version`)).rejects.toThrow();
    } finally {
      child.kill('SIGKILL');
    }
  });

  it('a bad --config file is exit 2 with the reason', async () => {
    const cfg = path.join(tmpdir(), `auditchaos-proxy-bad-${process.pid}.json`);
    await writeFile(cfg, JSON.stringify([{ name: 'x' }]));
    const r = await execa(process.execPath, [BIN, 'proxy', '--port', '0', '--config', cfg], {
      reject: false,
      env: { NO_COLOR: '1' },
      timeout: 20_000,
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/proxy 1: missing required field: upstream/);
  });
});
