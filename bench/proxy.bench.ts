/**
 * The built-in proxy with no toxics against a direct loopback connection, in the same run:
 * bulk throughput of one connection (128 MiB, 5 runs, each way: client -> server and
 * server -> client) and small-message round-trip latency (64-byte ping-pong, one at a time). The servers and the proxy are child processes, as in the
 * local runtime (`auditchaos proxy`), so the proxy has its own event loop and the bench its own.
 * Goals (issue #4): proxy throughput >= 70% of direct; added median round trip < 100 µs.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { Toxiproxy } from 'toxiproxy-node-client';

const ROOT = path.resolve(import.meta.dirname, '..');
const BULK_BYTES = 128 * 2 ** 20;
const ROUND_TRIPS = 20_000;
const REPEATS = 5;

// An echo server (mode "echo"), a source that sends BYTES and closes (mode "source"), or a sink
// that answers with the byte count at EOF (mode "sink").
const SERVER = `
const net = require('node:net');
const [mode, bytes] = process.argv.slice(1);
const srv = net.createServer({ allowHalfOpen: true, noDelay: true }, (s) => {
  s.setNoDelay(true);
  if (mode === 'echo') { s.pipe(s); return; }
  if (mode === 'source') {
    const block = Buffer.alloc(256 * 1024, 7);
    let sent = 0;
    const pump = () => {
      while (sent < Number(bytes)) {
        sent += block.length;
        if (!s.write(block)) { s.once('drain', pump); return; }
      }
      s.end();
    };
    pump();
    s.resume();
    return;
  }
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

/** MB/s (MiB) of one connection receiving BULK_BYTES from the source until its EOF. */
async function pull(port: number): Promise<number> {
  const s = await connect(port);
  const t0 = performance.now();
  let n = 0;
  await new Promise<void>((resolve, reject) => {
    s.on('data', (c: Buffer) => {
      n += c.length;
    });
    s.on('end', () => (n === BULK_BYTES ? resolve() : reject(new Error(`got ${n} of ${BULK_BYTES} bytes`))));
    s.on('error', reject);
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

/** CPU time (user + system) of a process in ms, from /proc (Linux); 0 elsewhere. */
function cpuMs(pid: number | undefined): number {
  try {
    const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]?.split(' ') ?? [];
    return ((Number(fields[11]) + Number(fields[12])) * 1000) / 100;
  } catch {
    return 0;
  }
}

const children: ChildProcess[] = [];
const f = (n: number, d = 0) => n.toFixed(d).padStart(9);
try {
  const sink = await startChild(['-e', SERVER, 'sink']);
  const source = await startChild(['-e', SERVER, 'source', String(BULK_BYTES)]);
  const echo = await startChild(['-e', SERVER, 'echo']);
  children.push(sink.child, source.child, echo.child);
  const proxyProc = await startChild(['bin/auditchaos.js', 'proxy', '--host', '127.0.0.1', '--port', '0']);
  children.push(proxyProc.child);
  const tp = new Toxiproxy(proxyProc.line.replace(/^.* on /, ''));
  const portOf = (listen: string) => Number(listen.slice(listen.lastIndexOf(':') + 1));
  const viaProxy = async (name: string, port: string) =>
    portOf((await tp.createProxy({ name, listen: '127.0.0.1:0', upstream: `127.0.0.1:${port}` })).listen);
  const direct = { sink: Number(sink.line), source: Number(source.line), echo: Number(echo.line) };
  const proxied = {
    sink: await viaProxy('sink', sink.line),
    source: await viaProxy('source', source.line),
    echo: await viaProxy('echo', echo.line),
  };

  // Warm-up (JIT, TCP buffers), not measured.
  await bulk(direct.sink);
  await bulk(proxied.sink);
  await pull(direct.source);
  await pull(proxied.source);
  await pingPong(direct.echo);
  await pingPong(proxied.echo);

  let met = true;
  for (const [label, run, ports] of [
    ['client -> server', bulk, { direct: direct.sink, proxy: proxied.sink }],
    ['server -> client', pull, { direct: direct.source, proxy: proxied.source }],
  ] as const) {
    const thr = { direct: [] as number[], proxy: [] as number[] };
    const pairRatios: number[] = [];
    let proxyCpuMs = 0;
    for (let i = 0; i < REPEATS; i++) {
      // Alternate which goes first, so that a burst of load from elsewhere hits both alike.
      const order = i % 2 === 0 ? (['direct', 'proxy'] as const) : (['proxy', 'direct'] as const);
      const pair = { direct: 0, proxy: 0 };
      for (const k of order) {
        const cpu0 = cpuMs(proxyProc.child.pid);
        pair[k] = await run(ports[k]);
        if (k === 'proxy') proxyCpuMs += cpuMs(proxyProc.child.pid) - cpu0;
        thr[k].push(pair[k]);
      }
      pairRatios.push(pair.proxy / pair.direct);
    }
    const ratio = median(pairRatios);
    met &&= ratio >= 0.7;
    console.log(`bulk throughput ${label}, 1 connection, ${BULK_BYTES / 2 ** 20} MiB x ${REPEATS} (MiB/s)`);
    for (const k of ['direct', 'proxy'] as const) {
      console.log(
        `  ${k.padEnd(6)} ${f(median(thr[k]))} median   runs: ${thr[k].map((x) => x.toFixed(0)).join(', ')}`,
      );
    }
    console.log(
      `  proxy/direct ${(ratio * 100).toFixed(1)}% (median of back-to-back pairs: ${pairRatios.map((r) => `${(r * 100).toFixed(0)}%`).join(', ')})  goal >= 70%: ${ratio >= 0.7 ? 'met' : 'NOT met'}`,
    );
    if (proxyCpuMs > 0) {
      const gib = (BULK_BYTES * REPEATS) / 2 ** 30;
      console.log(`  proxy process CPU: ${(proxyCpuMs / gib).toFixed(0)} ms per GiB relayed`);
    }
    console.log('');
  }

  const rtt = { direct: [] as number[], proxy: [] as number[] };
  for (let i = 0; i < REPEATS; i++) {
    rtt.direct.push(...(await pingPong(direct.echo)));
    rtt.proxy.push(...(await pingPong(proxied.echo)));
  }
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
  console.log(`\nthroughput goal (>= 70% both ways): ${met ? 'met' : 'NOT met'} on this machine, this run`);
} finally {
  for (const c of children) c.kill('SIGTERM');
}
