/**
 * Each toxic's effect, measured on real sockets, driven through toxiproxy-node-client (the client
 * the harness uses). Timing bounds are generous (a busy two-core machine); measured values are
 * printed.
 */
import { createHash, randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { type ICreateToxicBody, Toxiproxy, type Proxy as ToxiproxyProxy } from 'toxiproxy-node-client';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { type ProxyServer, startProxyServer } from '../../src/proxy/server.ts';
import {
  activeTimers,
  type Client,
  connect,
  echoServer,
  eventually,
  portOf,
  roundTrip,
  sleep,
  type TestServer,
  tcpServer,
} from './proxy-helpers.ts';

let server: ProxyServer;
let tp: Toxiproxy;
let echo: TestServer;
const clients: Client[] = [];
let n = 0;

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
  for (const c of clients.splice(0)) c.socket.destroy();
  for (const p of Object.values(await tp.getAll())) await p.remove();
});

async function proxyTo(port: number): Promise<{ proxy: ToxiproxyProxy; port: number }> {
  const proxy = await tp.createProxy({
    name: `t${++n}`,
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${port}`,
  });
  return { proxy, port: portOf(proxy.listen) };
}

async function open(port: number): Promise<Client> {
  const c = await connect(port);
  clients.push(c);
  return c;
}

function toxic<T>(
  type: ICreateToxicBody<T>['type'],
  attributes: T,
  more: Partial<ICreateToxicBody<T>> = {},
): ICreateToxicBody<T> {
  return { type, attributes, ...more } as ICreateToxicBody<T>;
}

const log = (what: string, v: number | string) => console.log(`[proxy] ${what}: ${v}`);

describe('latency', () => {
  it('adds latency (downstream) and latency+latency (both streams) to a round trip', async () => {
    const { proxy, port } = await proxyTo(echo.port);
    const c = await open(port);
    const base = await roundTrip(c);
    await proxy.addToxic(toxic('latency', { latency: 100, jitter: 0 }));
    const one = await roundTrip(c); // applies to the connection already open
    await proxy.addToxic(toxic('latency', { latency: 50, jitter: 0 }, { stream: 'upstream' }));
    const two = await roundTrip(c);
    log(
      'round trip ms: none / 100 down / 100 down + 50 up',
      `${base.toFixed(1)} / ${one.toFixed(1)} / ${two.toFixed(1)}`,
    );
    expect(one).toBeGreaterThanOrEqual(98);
    expect(one).toBeLessThan(100 + 250);
    expect(two).toBeGreaterThanOrEqual(148);
    expect(two).toBeLessThan(150 + 250);
  });

  it('jitter spreads delays over latency ± jitter', async () => {
    const { proxy, port } = await proxyTo(echo.port);
    await proxy.addToxic(toxic('latency', { latency: 60, jitter: 40 }));
    const c = await open(port);
    const xs: number[] = [];
    for (let i = 0; i < 12; i++) xs.push(await roundTrip(c));
    log('jittered round trips ms', xs.map((x) => x.toFixed(0)).join(' '));
    expect(Math.min(...xs)).toBeGreaterThanOrEqual(19);
    expect(Math.max(...xs)).toBeLessThan(100 + 250);
    expect(Math.max(...xs) - Math.min(...xs)).toBeGreaterThan(10);
  });

  it('removing a latency toxic delivers what it held at once, in order', async () => {
    const { proxy, port } = await proxyTo(echo.port);
    const t = await proxy.addToxic(toxic('latency', { latency: 5000, jitter: 0 }));
    const c = await open(port);
    const payload = Buffer.from(Array.from({ length: 200 }, (_, i) => `${i},`).join(''));
    for (let i = 0; i < payload.length; i += 50) c.socket.write(payload.subarray(i, i + 50));
    await sleep(100);
    expect(c.received().length).toBe(0);
    const t0 = performance.now();
    await t.remove();
    const got = await c.waitBytes(payload.length, 2000);
    log('ms from toxic delete to held data back', (performance.now() - t0).toFixed(1));
    expect(got.equals(payload)).toBe(true);
  });
});

describe('bandwidth', () => {
  it('caps throughput at rate KB/s', async () => {
    const blob = Buffer.alloc(300_000, 7);
    const srv = await tcpServer((s) => s.end(blob));
    try {
      const { proxy, port } = await proxyTo(srv.port);
      await proxy.addToxic(toxic('bandwidth', { rate: 300 }));
      const t0 = performance.now();
      const c = await open(port);
      await c.waitBytes(blob.length, 10_000);
      const secs = (performance.now() - t0) / 1000;
      const kbps = blob.length / 1000 / secs;
      log('bandwidth 300 KB/s measured', `${kbps.toFixed(0)} KB/s over ${secs.toFixed(2)} s`);
      expect(kbps).toBeLessThan(300 * 1.15);
      expect(kbps).toBeGreaterThan(300 * 0.5);
    } finally {
      await srv.close();
    }
  });

  it('removing a bandwidth toxic under load answers at once and lets the data through', async () => {
    const blob = Buffer.alloc(2_000_000, 9);
    const srv = await tcpServer((s) => s.end(blob));
    try {
      const { proxy, port } = await proxyTo(srv.port);
      const t = await proxy.addToxic(toxic('bandwidth', { rate: 10 }));
      const c = await open(port);
      await sleep(300);
      const t0 = performance.now();
      await t.remove();
      const apiMs = performance.now() - t0;
      await c.waitBytes(blob.length, 5000);
      log('toxic delete under load, API ms', apiMs.toFixed(1));
      expect(apiMs).toBeLessThan(1000);
      expect(c.received().equals(blob)).toBe(true);
    } finally {
      await srv.close();
    }
  });
});

describe('slow_close', () => {
  it('delays the close by delay ms', async () => {
    let serverEndAt = 0;
    const srv = await tcpServer((s) => {
      s.write('bye');
      setTimeout(() => {
        serverEndAt = performance.now();
        s.end();
      }, 50);
    });
    try {
      const { proxy, port } = await proxyTo(srv.port);
      await proxy.addToxic(toxic('slow_close', { delay: 300 }));
      const c = await open(port);
      await c.waitBytes(3);
      await c.closed.catch(() => undefined);
      await eventually(() => c.endedAt() !== undefined);
      const delay = (c.endedAt() ?? 0) - serverEndAt;
      log('slow_close 300 ms measured', delay.toFixed(1));
      expect(c.received().toString()).toBe('bye');
      expect(delay).toBeGreaterThanOrEqual(295);
      expect(delay).toBeLessThan(300 + 500);
    } finally {
      await srv.close();
    }
  });
});

describe('timeout', () => {
  it('timeout 0 lets no data through and keeps the connection open until the toxic goes', async () => {
    const { proxy, port } = await proxyTo(echo.port);
    const c = await open(port);
    await roundTrip(c);
    const t = await proxy.addToxic(toxic('timeout', { timeout: 0 }, { stream: 'upstream' }));
    const before = c.received().length;
    c.socket.write('held');
    await sleep(400);
    expect(c.received().length).toBe(before);
    expect(c.socket.destroyed).toBe(false);
    // As in Toxiproxy, removing a timeout toxic closes the connections it held.
    await t.remove();
    expect(await Promise.race([c.closed, sleep(2000).then(() => 'still open')])).not.toBe('still open');
  });

  it('timeout N closes the connection after N ms, with no data through', async () => {
    const { proxy, port } = await proxyTo(echo.port);
    const c = await open(port);
    await proxy.addToxic(toxic('timeout', { timeout: 300 }));
    const t0 = performance.now();
    c.socket.write('lost');
    const how = await c.closed;
    const ms = performance.now() - t0;
    log('timeout 300 ms: closed after', `${ms.toFixed(1)} ms (${how})`);
    expect(c.received().length).toBe(0);
    expect(ms).toBeGreaterThanOrEqual(280);
    expect(ms).toBeLessThan(300 + 700);
  });
});

describe('reset_peer', () => {
  it('the client sees a connection reset on its next write (timeout 0)', async () => {
    const { proxy, port } = await proxyTo(echo.port);
    const c = await open(port);
    await roundTrip(c);
    await proxy.addToxic(toxic('reset_peer', { timeout: 0 }, { stream: 'upstream' }));
    c.socket.write('boom');
    expect(await c.closed).toBe('ECONNRESET');
  });

  it('with timeout N the reset comes N ms after the data', async () => {
    const { proxy, port } = await proxyTo(echo.port);
    await proxy.addToxic(toxic('reset_peer', { timeout: 250 }, { stream: 'upstream' }));
    const c = await open(port);
    const t0 = performance.now();
    c.socket.write('boom');
    const how = await c.closed;
    const ms = performance.now() - t0;
    log('reset_peer 250 ms: reset after', ms.toFixed(1));
    expect(how).toBe('ECONNRESET');
    expect(ms).toBeGreaterThanOrEqual(240);
    expect(ms).toBeLessThan(250 + 700);
  });
});

describe('slicer', () => {
  it('splits one write into many small ones, bytes intact', async () => {
    const payload = Buffer.from('0123456789'.repeat(20));
    const srv = await tcpServer((s) => {
      s.setNoDelay(true);
      s.write(payload);
    });
    try {
      const { proxy, port } = await proxyTo(srv.port);
      await proxy.addToxic(toxic('slicer', { average_size: 10, size_variation: 4, delay: 2000 }));
      const c = await open(port);
      await c.waitBytes(payload.length);
      log('slicer: data events for one 200-byte write', c.chunks());
      expect(c.received().equals(payload)).toBe(true);
      expect(c.chunks()).toBeGreaterThanOrEqual(8);
    } finally {
      await srv.close();
    }
  });

  it('without the toxic the same write arrives in one piece (the test can tell)', async () => {
    const payload = Buffer.from('0123456789'.repeat(20));
    const srv = await tcpServer((s) => s.write(payload));
    try {
      const { port } = await proxyTo(srv.port);
      const c = await open(port);
      await c.waitBytes(payload.length);
      expect(c.chunks()).toBeLessThanOrEqual(2);
    } finally {
      await srv.close();
    }
  });
});

describe('limit_data', () => {
  it('closes the connection after exactly N bytes', async () => {
    const srv = await tcpServer((s) => {
      s.write(Buffer.alloc(150, 1));
      setTimeout(() => s.write(Buffer.alloc(150, 2)), 50);
    });
    try {
      const { proxy, port } = await proxyTo(srv.port);
      await proxy.addToxic(toxic('limit_data', { bytes: 200 }));
      const c = await open(port);
      const how = await c.closed;
      expect(how).toBe('end');
      expect(c.received().length).toBe(200);
      expect(
        c
          .received()
          .subarray(150)
          .every((b) => b === 2),
      ).toBe(true);
    } finally {
      await srv.close();
    }
  });
});

describe('toxicity', () => {
  it('toxicity 0 spares every connection, 1 hits every one', async () => {
    const { proxy, port } = await proxyTo(echo.port);
    await proxy.addToxic(toxic('latency', { latency: 500, jitter: 0 }, { toxicity: 0 }));
    const spared = await Promise.all([1, 2, 3].map(async () => roundTrip(await open(port))));
    const t = await proxy.getToxic('latency_downstream');
    await t.update({ ...t.toJson(), toxicity: 1 });
    const hit = await Promise.all([1, 2, 3].map(async () => roundTrip(await open(port))));
    log(
      'toxicity 0 / 1 round trips ms',
      `${spared.map((x) => x.toFixed(0))} / ${hit.map((x) => x.toFixed(0))}`,
    );
    for (const x of spared) expect(x).toBeLessThan(400);
    for (const x of hit) expect(x).toBeGreaterThanOrEqual(495);
  });

  it('toxicity 0.5 is decided per connection: some are hit, some spared, each consistently', async () => {
    const { proxy, port } = await proxyTo(echo.port);
    await proxy.addToxic(toxic('latency', { latency: 600, jitter: 0 }, { toxicity: 0.5 }));
    const conns = await Promise.all(Array.from({ length: 24 }, () => open(port)));
    const first = await Promise.all(conns.map((c) => roundTrip(c)));
    const second = await Promise.all(conns.map((c) => roundTrip(c)));
    // Hit: >= 600 ms; spared: well under (450 leaves room for a busy machine's stalls).
    const hit = first.map((x) => x >= 450);
    const hits = hit.filter(Boolean).length;
    log('toxicity 0.5: connections hit', `${hits} of 24`);
    expect(hits).toBeGreaterThan(0);
    expect(hits).toBeLessThan(24);
    expect(second.map((x) => x >= 450)).toEqual(hit);
  });
});

describe('proxy state', () => {
  it('disable closes open connections and refuses new ones; enable accepts again on the same address', async () => {
    const { proxy, port } = await proxyTo(echo.port);
    const c = await open(port);
    await roundTrip(c);
    const off = await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    expect(off.enabled).toBe(false);
    await c.closed;
    await expect(connect(port)).rejects.toThrow(/ECONNREFUSED/);
    const on = await off.update({ enabled: true, listen: off.listen, upstream: off.upstream });
    expect(on.enabled).toBe(true);
    expect(on.listen).toBe(proxy.listen);
    expect(await roundTrip(await open(port))).toBeLessThan(1000);
  });

  it('/reset enables every proxy and removes every toxic, also from open connections', async () => {
    const a = await proxyTo(echo.port);
    const b = await proxyTo(echo.port);
    await a.proxy.addToxic(toxic('latency', { latency: 600, jitter: 0 }));
    await b.proxy.update({ enabled: false, listen: b.proxy.listen, upstream: b.proxy.upstream });
    const c = await open(a.port);
    expect(await roundTrip(c)).toBeGreaterThanOrEqual(595);
    await tp.reset();
    const all = await tp.getAll();
    expect(all[a.proxy.name]?.enabled).toBe(true);
    expect(all[b.proxy.name]?.enabled).toBe(true);
    const res = (await (await fetch(`${server.url}/proxies/${a.proxy.name}/toxics`)).json()) as unknown[];
    expect(res).toEqual([]);
    expect(await roundTrip(c)).toBeLessThan(500);
    expect(await roundTrip(await open(b.port))).toBeLessThan(1000);
  });

  it('populate creates proxies, keeps identical ones, replaces changed ones', async () => {
    const created = await tp.populate([
      { name: 'pa', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}` },
      { name: 'pb', listen: '127.0.0.1:0', upstream: `127.0.0.1:${echo.port}`, enabled: false },
    ]);
    expect(created.pa?.enabled).toBe(true);
    expect(created.pb?.enabled).toBe(false);
    const pa = created.pa as ToxiproxyProxy;
    await pa.addToxic(toxic('latency', { latency: 10, jitter: 0 }));
    const again = await tp.populate([{ name: 'pa', listen: pa.listen, upstream: pa.upstream }]);
    expect(again.pa?.listen).toBe(pa.listen);
    expect((await tp.get('pa')).listen).toBe(pa.listen);
    expect(await (await fetch(`${server.url}/proxies/pa/toxics`)).json()).toHaveLength(1); // kept
    await tp.populate([{ name: 'pa', listen: '127.0.0.1:0', upstream: `localhost:${echo.port}` }]);
    const replaced = await tp.get('pa');
    expect(replaced.upstream).toBe(`localhost:${echo.port}`);
    expect(await (await fetch(`${server.url}/proxies/pa/toxics`)).json()).toHaveLength(0);
    expect(await roundTrip(await open(portOf(replaced.listen)))).toBeLessThan(1000);
  });
});

describe('robustness', () => {
  it('passes a client half-close through: the server still answers after the client EOF', async () => {
    const srv = await tcpServer((s) => {
      let bytes = 0;
      s.on('data', (c: Buffer) => {
        bytes += c.length;
      });
      s.on('end', () => s.end(`got ${bytes}`));
    });
    try {
      const { port } = await proxyTo(srv.port);
      const c = await open(port);
      c.socket.end('hello world');
      expect(await c.closed).toBe('end');
      expect(c.received().toString()).toBe('got 11');
    } finally {
      await srv.close();
    }
  });

  it('bulk data arrives intact (sha-256) through latency and bandwidth toxics', async () => {
    const srv = await tcpServer((s) => {
      const h = createHash('sha256');
      let bytes = 0;
      s.on('data', (c: Buffer) => {
        h.update(c);
        bytes += c.length;
      });
      s.on('end', () => s.end(`${bytes} ${h.digest('hex')}`));
    });
    try {
      const { proxy, port } = await proxyTo(srv.port);
      await proxy.addToxic(toxic('latency', { latency: 20, jitter: 10 }, { stream: 'upstream' }));
      await proxy.addToxic(toxic('bandwidth', { rate: 40_000 }, { stream: 'upstream' }));
      const data = randomBytes(16 * 2 ** 20);
      const c = await open(port);
      const t0 = performance.now();
      let peakRss = 0;
      const sampler = setInterval(() => {
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }, 20);
      const rssBefore = process.memoryUsage().rss;
      for (let i = 0; i < data.length; i += 65536) {
        if (!c.socket.write(data.subarray(i, i + 65536))) await new Promise((r) => c.socket.once('drain', r));
      }
      c.socket.end();
      await c.closed;
      clearInterval(sampler);
      const [bytes, digest] = c.received().toString().split(' ');
      log(
        '16 MiB through latency+bandwidth(40 MB/s)',
        `${((performance.now() - t0) / 1000).toFixed(2)} s, rss +${((peakRss - rssBefore) / 2 ** 20).toFixed(0)} MiB`,
      );
      expect(Number(bytes)).toBe(data.length);
      expect(digest).toBe(createHash('sha256').update(data).digest('hex'));
    } finally {
      await srv.close();
    }
  });

  it('server-to-client bulk data arrives intact (sha-256) to a slow reader, with and without a toxic', async () => {
    const data = randomBytes(24 * 2 ** 20);
    const srv = await tcpServer((s) => s.end(data));
    try {
      const { proxy, port } = await proxyTo(srv.port);
      for (const withToxic of [false, true]) {
        if (withToxic) await proxy.addToxic(toxic('latency', { latency: 5, jitter: 5 }));
        const c = await open(port);
        // A reader that stalls now and then, so that the proxy has to hold back and resume.
        let reads = 0;
        c.socket.on('data', () => {
          if (++reads % 20 === 0) {
            c.socket.pause();
            setTimeout(() => c.socket.resume(), 5);
          }
        });
        await c.closed;
        const got = c.received();
        expect(got.length).toBe(data.length);
        expect(createHash('sha256').update(got).digest('hex')).toBe(
          createHash('sha256').update(data).digest('hex'),
        );
      }
    } finally {
      await srv.close();
    }
  });

  it('a client reset, an idle client, and an unreachable upstream leave no connection behind', async () => {
    const { proxy, port } = await proxyTo(echo.port);
    const reset = await open(port);
    await roundTrip(reset);
    reset.socket.resetAndDestroy();
    const idle = await open(port);
    expect(await eventually(() => server.connectionCount() === 1)).toBe(true);
    await proxy.remove();
    expect(await idle.closed).not.toBe('open');
    // Toxiproxy accepts upstreams it cannot resolve; a connection to one is simply closed.
    const nowhere = await tp.createProxy({
      name: 'nowhere',
      listen: '127.0.0.1:0',
      upstream: 'postgres.invalid:5432',
    });
    const c = await open(portOf(nowhere.listen));
    await c.closed;
    expect(await eventually(() => server.connectionCount() === 0)).toBe(true);
  });

  it('leaves no timer or connection behind after toxics are removed and proxies deleted', async () => {
    await sleep(50);
    const timersBefore = activeTimers();
    const { proxy, port } = await proxyTo(echo.port);
    for (const [type, attributes] of [
      ['latency', { latency: 1000, jitter: 10 }],
      ['bandwidth', { rate: 1 }],
      ['slow_close', { delay: 5000 }],
      ['slicer', { average_size: 2, size_variation: 1, delay: 100_000 }],
    ] as const) {
      await proxy.addToxic(toxic(type, attributes, { stream: 'downstream' }));
    }
    await proxy.addToxic(toxic('timeout', { timeout: 60_000 }, { stream: 'upstream', name: 'to' }));
    const conns = await Promise.all([1, 2, 3].map(() => open(port)));
    for (const c of conns) c.socket.write('x'.repeat(100));
    await sleep(100);
    expect(activeTimers()).toBeGreaterThan(timersBefore);
    const t = await proxy.getToxic('latency_downstream');
    await t.remove();
    await proxy.remove();
    for (const c of conns) await c.closed;
    expect(await eventually(() => activeTimers() <= timersBefore)).toBe(true);
    expect(server.connectionCount()).toBe(0);
  });
});

describe('plain reads (slabReads: false), the fallback path', () => {
  it('relays bulk data intact both ways', async () => {
    const plain = await startProxyServer({ port: 0, slabReads: false });
    const data = randomBytes(8 * 2 ** 20);
    const srv = await tcpServer((s) => {
      const h = createHash('sha256');
      s.on('data', (c: Buffer) => h.update(c));
      s.on('end', () => s.end(Buffer.concat([Buffer.from(h.digest('hex')), data])));
    });
    try {
      const p = await new Toxiproxy(plain.url).createProxy({
        name: 'plain',
        listen: '127.0.0.1:0',
        upstream: `127.0.0.1:${srv.port}`,
      });
      const c = await connect(portOf(p.listen));
      c.socket.end(data);
      await c.closed;
      const got = c.received();
      expect(got.subarray(0, 64).toString()).toBe(createHash('sha256').update(data).digest('hex'));
      expect(got.subarray(64).equals(data)).toBe(true);
    } finally {
      await plain.close();
      await srv.close();
    }
  });
});
