/**
 * Scanner benchmark (`npm run bench -- scan`): entries/s for a JSONL file and a Postgres table of
 * 1,000,000 reference entries, peak RSS, and, measured in the same run, the floor: one SHA-256 per
 * entry over the same line bytes with node:crypto alone. JSONL is scanned with the worker pool (the
 * default) and on one thread (workers: 0). Postgres is read both ways (COPY and a
 * cursor). Memory flatness: peak RSS of a scan of 1M vs 5M entries from a generated stream.
 * Each scan runs in a fresh child process so that its peak RSS is its own. CPU time is shown next
 * to wall time: on a shared machine the CPU-time ratio is the steadier number.
 * Env: SCAN_BENCH_N (default 1000000), SCAN_BENCH_BIG (default 5000000, 0 to skip).
 */
import * as crypto from 'node:crypto';
import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { from as copyFrom } from 'pg-copy-streams';
import { createDuplicateCheck } from '../src/scan/checks/duplicate.ts';
import { eventIdFor, referenceLines } from '../src/scan/generate.ts';
import { defaultWorkerCount } from '../src/scan/parallel.ts';
import { scanLog } from '../src/scan/scan.ts';
import { jsonlSource } from '../src/scan/sources/jsonl.ts';
import { splitLines } from '../src/scan/sources/lines.ts';
import { postgresSource } from '../src/scan/sources/postgres.ts';
import { fileSpillStore } from '../src/scan/spill-file.ts';
import type { LogSource, SourceItem } from '../src/scan/types.ts';
import { PostgresServer } from '../src/stack/local/postgres.ts';

interface Measure {
  entries: number;
  wallMs: number;
  cpuMs: number;
  maxRssMB: number;
  findings: number;
}

function measureStart() {
  return { wall: performance.now(), cpu: process.cpuUsage() };
}
function measureEnd(s: ReturnType<typeof measureStart>) {
  const c = process.cpuUsage(s.cpu);
  return { wallMs: performance.now() - s.wall, cpuMs: (c.user + c.system) / 1000 };
}

/** A generated stream of n valid reference entries (no file), for the memory test. */
function generated(n: number): LogSource {
  async function* batches(): AsyncIterable<SourceItem[]> {
    let batch: SourceItem[] = [];
    for (const { entry } of referenceLines({ count: n, payloadBytes: 64 })) {
      batch.push(entry);
      if (batch.length === 4096) {
        yield batch;
        batch = [];
      }
    }
    if (batch.length) yield batch;
  }
  return {
    describe: `generated ${n}`,
    batches,
    async *entries() {
      for await (const b of batches()) yield* b;
    },
  };
}

async function child(mode: string, arg: string, extra?: string): Promise<void> {
  const s = measureStart();
  let source: LogSource;
  // jsonl with extra "1": one thread (workers: 0), the path before the worker pool, for the same-run ratio
  if (mode === 'jsonl') source = await jsonlSource(arg, extra === '1' ? { workers: 0 } : {});
  else if (mode === 'pg') source = await postgresSource({ url: arg, method: extra as 'copy' | 'cursor' });
  else source = generated(Number(arg));
  const r = await scanLog({ source });
  const m: Measure = {
    entries: r.entries,
    ...measureEnd(s),
    maxRssMB: process.resourceUsage().maxRSS / 1024,
    findings: r.findings.length,
  };
  process.stdout.write(JSON.stringify(m));
}

async function runChild(mode: string, arg: string, extra = ''): Promise<Measure> {
  const r = await execa(process.execPath, [
    '--import',
    'tsx',
    import.meta.filename,
    '--child',
    mode,
    arg,
    extra,
  ]);
  return JSON.parse(r.stdout) as Measure;
}

async function writeLog(file: string, n: number): Promise<void> {
  const out = createWriteStream(file);
  let buf = '';
  for (const { line } of referenceLines({ count: n, payloadBytes: 64 })) {
    buf += `${line}\n`;
    if (buf.length > 1 << 20) {
      if (!out.write(buf)) await once(out, 'drain');
      buf = '';
    }
  }
  out.end(buf);
  await once(out, 'finish');
}

/** The floor: one SHA-256 per line over the same bytes, lines already in memory. */
async function floor(file: string): Promise<{ entries: number; wallMs: number; cpuMs: number }> {
  const lines: string[] = [];
  for await (const b of splitLines(createReadStream(file, { highWaterMark: 1 << 20 }))) {
    for (const l of b.lines) lines.push(l);
  }
  const hash = (crypto as { hash?: (a: string, d: string, e: 'hex') => string }).hash;
  const s = measureStart();
  if (hash) for (const l of lines) hash('sha256', l, 'hex');
  else for (const l of lines) crypto.createHash('sha256').update(l).digest('hex');
  return { entries: lines.length, ...measureEnd(s) };
}

async function loadPostgres(url: string, file: string): Promise<void> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    await c.query(`CREATE TABLE audit_log (seq bigint primary key, event_id text unique not null,
      ts timestamptz not null, actor text not null, action text not null, payload jsonb not null,
      prev_hash text not null, hash text not null)`);
    // jsonl -> COPY text rows via a staging table of json lines
    await c.query('CREATE TEMP TABLE staging (j jsonb)');
    const ingest = c.query(
      copyFrom(`COPY staging (j) FROM STDIN WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')`),
    );
    for await (const b of splitLines(createReadStream(file, { highWaterMark: 1 << 20 }))) {
      if (!ingest.write(`${b.lines.join('\n')}\n`)) await once(ingest, 'drain');
    }
    ingest.end();
    await once(ingest, 'finish');
    await c.query(`INSERT INTO audit_log SELECT (j->>'seq')::bigint, j->>'event_id', (j->>'ts')::timestamptz,
      j->>'actor', j->>'action', j->'payload', j->>'prev_hash', j->>'hash' FROM staging`);
    await c.query('VACUUM ANALYZE audit_log');
  } finally {
    await c.end();
  }
}

const fmt = (n: number) => Math.round(n).toLocaleString('en-US');
const rate = (m: { entries: number; wallMs: number }) => (m.entries * 1000) / m.wallMs;
const cpuRate = (m: { entries: number; cpuMs: number }) => (m.entries * 1000) / m.cpuMs;

/** The duplicate check's memory on 10 million distinct ids, with the spill store (as scanLog runs it) and without. */
async function duplicateMemory(ids: number): Promise<void> {
  for (const mode of ['spill', 'table only'] as const) {
    globalThis.gc?.();
    const before = process.memoryUsage();
    const s = measureStart();
    const spill = mode === 'spill' ? fileSpillStore() : undefined;
    const check = createDuplicateCheck(
      () => {
        throw new Error('a distinct id was reported as a duplicate');
      },
      spill ? { spill } : {},
    );
    for (let i = 0; i < ids; i++) check.observe({ unreadable: true, reason: '', eventId: eventIdFor(i) });
    // the end-of-scan merge of the runs; a second read would only happen for suspects (none here)
    await check.finish(() => {
      throw new Error('no second read expected: there is no duplicate');
    });
    const t = measureEnd(s);
    globalThis.gc?.();
    const after = process.memoryUsage();
    const grown = after.heapUsed + after.arrayBuffers - before.heapUsed - before.arrayBuffers;
    console.log(
      `duplicate check, ${fmt(ids)} distinct ids, ${mode}: table ${(check.fingerprints.bytes / 2 ** 20).toFixed(0)} MiB` +
        `${spill ? ` + ${spill.runs} sorted runs on disk` : ''}, heap + array buffers grew ${(grown / 2 ** 20).toFixed(0)} MiB, ` +
        `${fmt((ids * 1000) / t.cpuMs)} ids/s (CPU)`,
    );
    spill?.dispose();
  }
}

async function main(): Promise<void> {
  if (process.env.SCAN_BENCH_ONLY === 'dup') {
    await duplicateMemory(10_000_000);
    return;
  }
  const N = Number(process.env.SCAN_BENCH_N ?? 1_000_000);
  const BIG = Number(process.env.SCAN_BENCH_BIG ?? 5_000_000);
  const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-scan-bench-'));
  const file = path.join(dir, 'log.jsonl');
  let server: PostgresServer | undefined;
  try {
    let s = measureStart();
    await writeLog(file, N);
    const size = (await stat(file)).size;
    console.log(
      `generated ${fmt(N)} reference entries, ${(size / N).toFixed(0)} B/line, in ${(measureEnd(s).wallMs / 1000).toFixed(1)} s`,
    );
    const fl = await floor(file);
    const js = await runChild('jsonl', file);
    const js1 = await runChild('jsonl', file, '1');
    for (const m of [js, js1])
      if (m.findings !== 0) throw new Error(`the clean JSONL log produced ${m.findings} findings`);
    server = await PostgresServer.create();
    s = measureStart();
    await loadPostgres(server.url(), file);
    console.log(`loaded ${fmt(N)} rows into PostgreSQL in ${(measureEnd(s).wallMs / 1000).toFixed(1)} s`);
    const copy = await runChild('pg', server.url(), 'copy');
    const cursor = await runChild('pg', server.url(), 'cursor');
    for (const m of [copy, cursor])
      if (m.findings !== 0) throw new Error('the clean table produced findings');
    await server.dispose();
    server = undefined;

    console.log('');
    console.log(
      '| what                            | entries   | wall s | entries/s (wall) | entries/s (CPU) | peak RSS MB |',
    );
    console.log(
      '| ------------------------------- | --------- | ------ | ---------------- | --------------- | ----------- |',
    );
    const row = (name: string, m: { entries: number; wallMs: number; cpuMs: number; maxRssMB?: number }) =>
      console.log(
        `| ${name.padEnd(31)} | ${fmt(m.entries).padStart(9)} | ${(m.wallMs / 1000).toFixed(2).padStart(6)} | ${fmt(rate(m)).padStart(16)} | ${fmt(cpuRate(m)).padStart(15)} | ${m.maxRssMB === undefined ? '          -' : m.maxRssMB.toFixed(0).padStart(11)} |`,
      );
    const workerCount = defaultWorkerCount();
    row('floor: sha256 per line', fl);
    row(`scan JSONL (${workerCount} worker)`, js);
    row('scan JSONL (one thread)', js1);
    row('scan Postgres (COPY)', copy);
    row('scan Postgres (cursor)', cursor);
    console.log('');
    console.log(
      `JSONL vs floor: ${(js.wallMs / fl.wallMs).toFixed(2)}x wall (goal <= 3x); ` +
        `JSONL ${fmt(rate(js))}/s (goal >= 500,000/s); workers vs one thread: ${(js1.wallMs / js.wallMs).toFixed(2)}x faster (wall)`,
    );
    console.log(
      'CPU columns count every thread of the process (JSONL with workers: both threads); Postgres has no worker path',
    );
    const best = copy.wallMs <= cursor.wallMs ? 'COPY' : 'cursor';
    console.log(
      `Postgres: COPY ${fmt(rate(copy))}/s, cursor ${fmt(rate(cursor))}/s (cursor/COPY time ${(cursor.wallMs / copy.wallMs).toFixed(2)}x; faster: ${best}; goal >= 250,000/s)`,
    );
    if (BIG > 0) {
      const small = await runChild('gen', String(N));
      const big = await runChild('gen', String(BIG));
      console.log(
        `memory: peak RSS scanning a generated stream of ${fmt(N)} entries ${small.maxRssMB.toFixed(0)} MB, of ${fmt(BIG)} entries ${big.maxRssMB.toFixed(0)} MB ` +
          `(${(big.maxRssMB / small.maxRssMB).toFixed(2)}x for ${(BIG / N).toFixed(0)}x the entries; ` +
          `${(((big.maxRssMB - small.maxRssMB) * 2 ** 20) / (BIG - N)).toFixed(1)} B/entry)`,
      );
    }
    await duplicateMemory(10_000_000);
  } finally {
    await server?.dispose();
    await rm(dir, { recursive: true, force: true });
  }
}

if (process.argv[2] === '--child') await child(process.argv[3]!, process.argv[4]!, process.argv[5]);
else await main();
