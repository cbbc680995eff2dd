/**
 * The reference service's append throughput on this machine: closed-loop clients (each sends its
 * next append when the last one is answered) at 1, 8 and 32 concurrent clients against a real
 * PostgreSQL (embedded, default durability: fsync on, synchronous_commit on), appends/s and p50/p99
 * latency; then the same at 32 clients with the async-commit flaw, to show what durability costs.
 * Appends take the head lock one transaction at a time; the service groups the appends that arrive
 * meanwhile into the next transaction (group commit), so concurrency buys throughput: the ratios
 * say how much.
 */
import http from 'node:http';
import { type FlawMode, startService } from '../src/service/index.ts';
import { PostgresServer } from '../src/stack/local/postgres.ts';

const SECONDS = Number(process.env.BENCH_SECONDS ?? 6);
const WARMUP_MS = 1000;

interface Row {
  label: string;
  clients: number;
  perSec: number;
  p50: number;
  p99: number;
  errors: number;
}

function post(agent: http.Agent, url: URL, body: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      {
        method: 'POST',
        agent,
        headers: { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) },
      },
      (res) => {
        res.resume();
        res.on('end', () => resolve(res.statusCode ?? 0));
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

async function measure(baseUrl: string, label: string, clients: number): Promise<Row> {
  const url = new URL('/events', baseUrl);
  const agent = new http.Agent({ keepAlive: true, maxSockets: clients });
  const latencies: number[] = [];
  let errors = 0;
  let n = 0;
  const t0 = performance.now();
  const warmEnd = t0 + WARMUP_MS;
  const end = warmEnd + SECONDS * 1000;
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      while (performance.now() < end) {
        const body = JSON.stringify({
          event_id: `${label}-${clients}-${w}-${n++}`,
          actor: `user-${w}`,
          action: 'login',
          payload: { ip: '10.0.0.1', n, pad: 'x'.repeat(200) },
        });
        const s = performance.now();
        const status = await post(agent, url, body).catch(() => 0);
        const e = performance.now();
        if (s < warmEnd) continue;
        if (status === 201) latencies.push(e - s);
        else errors++;
      }
    }),
  );
  const elapsed = (performance.now() - warmEnd) / 1000;
  agent.destroy();
  latencies.sort((a, b) => a - b);
  const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
  return { label, clients, perSec: latencies.length / elapsed, p50: q(0.5), p99: q(0.99), errors };
}

async function withService<T>(
  pg: PostgresServer,
  db: string,
  flaws: FlawMode[],
  fn: (url: string) => Promise<T>,
) {
  const s = await startService({
    databaseUrl: pg.url(db, 'auditlog_writer', 'auditlog_writer'),
    adminUrl: pg.url(db),
    flaws,
    log: () => undefined,
  });
  for (let i = 0; i < 100; i++) {
    const r = await fetch(`${s.url}/health`).catch(() => undefined);
    if (r?.status === 200) break;
    await new Promise((res) => setTimeout(res, 100));
  }
  try {
    return await fn(s.url);
  } finally {
    await s.close();
  }
}

const pg = await PostgresServer.create();
try {
  const rows: Row[] = [];
  await withService(pg, 'bench_correct', [], async (url) => {
    for (const c of [1, 8, 32]) rows.push(await measure(url, 'correct', c));
  });
  await withService(pg, 'bench_async', ['async-commit'], async (url) => {
    rows.push(await measure(url, 'async-commit', 32));
  });
  console.log(
    `closed-loop appends, ${SECONDS} s each after ${WARMUP_MS} ms warm-up, payload ~250 B, embedded PostgreSQL (fsync on)`,
  );
  console.log('');
  console.log('service        clients   appends/s   p50 ms   p99 ms   errors');
  for (const r of rows) {
    console.log(
      `${r.label.padEnd(14)} ${String(r.clients).padStart(7)} ${r.perSec.toFixed(0).padStart(11)} ${r.p50.toFixed(1).padStart(8)} ${r.p99.toFixed(1).padStart(8)} ${String(r.errors).padStart(8)}`,
    );
  }
  const base = rows.find((r) => r.label === 'correct' && r.clients === 1)!;
  console.log('');
  for (const r of rows.filter((x) => x !== base)) {
    console.log(
      `ratio ${r.label} ${r.clients} clients / correct 1 client: ${(r.perSec / base.perSec).toFixed(2)}x appends/s`,
    );
  }
} finally {
  await pg.dispose();
}
