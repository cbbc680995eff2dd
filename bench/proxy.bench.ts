/**
 * The built-in proxy with no toxics against a direct loopback connection, in the same run:
 * bulk throughput (one connection, 256 MiB client -> server) and small-message round-trip latency
 * (64-byte ping-pong, one at a time). The servers and the proxy are child processes, as in the
 * local runtime (`auditchaos proxy`), so the proxy has its own event loop and the bench its own.
 * Goals (issue #4): proxy throughput >= 70% of direct; added median round trip < 100 µs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Toxiproxy } from 'toxiproxy-node-client';

const ROOT = path.resolve(import.meta.dirname, '..');
const BULK_BYTES = 256 * 2 ** 20;
const ROUND_TRIPS = 20_000;
const REPEATS = 3;

// An echo server (mode "echo") or a sink that answers "done" with the byte count at EOF (mode "sink").
const SERVER = `
const net = require('node:net');
const mode = process.argv[1];
const srv = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
  s.setNoDelay(true);
  if (mode === 'echo') { s.pipe(s); return; }
  let n = 0;
  s.on('data', (c) => { n += c.length; });
  s.on('end', () => s.end(String(n)));
});
srv.listen(0, '127.0.0.1', () => console.log(srv.address().port));
`;

function startChild(args: string[]): Promise<{ child: ChildProcess; line: string }> {
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  return new Promise((resolve, reject) => {
    let buf = '';
    child.stdout?.on('data', (c: Buffer) => {
      buf += c.toString();
      const nl = buf.indexOf('\n');
      if (nl >= 0) resolve({ child, line: buf.slice(0, nl).trim() });
    });
    child.once('exit', (code) => reject(new Error(`${args.join(' ')} exited ${code}`)));
  });
}

function connect(port: number): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect({ port, host: '127.0.0.1', noDelay: true, allowHalfOpen: true });
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

/** MB/s (MiB) of one connection pushing BULK_BYTES and waiting for the sink's count. */
async function bulk(port: number): Promise<number> {
  const s = await connect(port);
  const block = Buffer.alloc(256 * 1024, 7);
  const t0 = performance.now();
  let sent = 0;
  await new Promise<void>((resolve, reject) => {
    let reply = '';
    s.on('data', (c: Buffer) => {
      reply += c.toString();
    });
    s.on('end', () => {
      if (Number(reply) !== BULK_BYTES) reject(new Error(`sink counted ${reply}, expected ${BULK_BYTES}`));
      else resolve();
    });
    s.on('error', reject);
    const pump = () => {
      while (sent < BULK_BYTES) {
        sent += block.length;
        if (!s.write(block)) {
          s.once('drain', pump);
          return;
        }
      }
      s.end();
    };
    pump();
  });
  const ms = performance.now() - t0;
  s.destroy();
  return BULK_BYTES / 2 ** 20 / (ms / 1000);
}

/** Round-trip times in µs of ROUND_TRIPS 64-byte messages, one at a time. */
async function pingPong(port: number): Promise<number[]> {
  const s = await connect(port);
  const msg = Buffer.alloc(64, 1);
  const samples: number[] = [];
  let got = 0;
  let t = 0;
  await new Promise<void>((resolve) => {
    s.on('data', (c: Buffer) => {
      got += c.length;
      if (got < msg.length) return;
      got -= msg.length;
      samples.push((performance.now() - t) * 1000);
      if (samples.length === ROUND_TRIPS) {
        resolve();
        return;
      }
      t = performance.now();
      s.write(msg);
    });
    t = performance.now();
    s.write(msg);
  });
  s.destroy();
  return samples;
}

function quantile(xs: number[], q: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor(q * s.length))] ?? Number.NaN;
}

const median = (xs: number[]) => quantile(xs, 0.5);

const children: ChildProcess[] = [];
try {
  const sink = await startChild(['-e', SERVER, 'sink']);
  const echo = await startChild(['-e', SERVER, 'echo']);
  children.push(sink.child, echo.child);
  const proxyProc = await startChild(['bin/auditchaos.js', 'proxy', '--host', '127.0.0.1', '--port', '0']);
  children.push(proxyProc.child);
  const apiUrl = proxyProc.line.replace(/^.* on /, '');
  const tp = new Toxiproxy(apiUrl);
  const portOf = (listen: string) => Number(listen.slice(listen.lastIndexOf(':') + 1));
  const sinkProxy = await tp.createProxy({
    name: 'sink',
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${sink.line}`,
  });
  const echoProxy = await tp.createProxy({
    name: 'echo',
    listen: '127.0.0.1:0',
    upstream: `127.0.0.1:${echo.line}`,
  });
  const direct = { sink: Number(sink.line), echo: Number(echo.line) };
  const proxied = { sink: portOf(sinkProxy.listen), echo: portOf(echoProxy.listen) };

  // Warm-up (JIT, TCP buffers), not measured.
  await bulk(direct.sink);
  await bulk(proxied.sink);
  await pingPong(direct.echo);
  await pingPong(proxied.echo);

  const thr = { direct: [] as number[], proxy: [] as number[] };
  const rtt = { direct: [] as number[], proxy: [] as number[] };
  for (let i = 0; i < REPEATS; i++) {
    thr.direct.push(await bulk(direct.sink));
    thr.proxy.push(await bulk(proxied.sink));
    rtt.direct.push(...(await pingPong(direct.echo)));
    rtt.proxy.push(...(await pingPong(proxied.echo)));
  }

  const f = (n: number, d = 0) => n.toFixed(d).padStart(9);
  console.log(
    `bulk throughput, 1 connection, ${BULK_BYTES / 2 ** 20} MiB x ${REPEATS} (MiB/s, median of runs)`,
  );
  console.log(
    `  direct   ${f(median(thr.direct))}   runs: ${thr.direct.map((x) => x.toFixed(0)).join(', ')}`,
  );
  console.log(`  proxy    ${f(median(thr.proxy))}   runs: ${thr.proxy.map((x) => x.toFixed(0)).join(', ')}`);
  const ratio = median(thr.proxy) / median(thr.direct);
  console.log(
    `  proxy/direct ${(ratio * 100).toFixed(1)}%  (goal >= 70%: ${ratio >= 0.7 ? 'met' : 'NOT met'})`,
  );
  console.log('');
  console.log(`round trip, 64-byte ping-pong, ${ROUND_TRIPS} x ${REPEATS} (µs)`);
  console.log('             p50       p90       p99');
  for (const k of ['direct', 'proxy'] as const) {
    const xs = rtt[k];
    console.log(
      `  ${k.padEnd(6)} ${f(quantile(xs, 0.5), 1)} ${f(quantile(xs, 0.9), 1)} ${f(quantile(xs, 0.99), 1)}`,
    );
  }
  const added = median(rtt.proxy) - median(rtt.direct);
  console.log(`  added median ${added.toFixed(1)} µs  (goal < 100 µs: ${added < 100 ? 'met' : 'NOT met'})`);
} finally {
  for (const c of children) c.kill('SIGTERM');
}
