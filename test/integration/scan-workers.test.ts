/**
 * The scanner's worker threads (src/scan/parallel.ts) against the single-thread path: the same
 * items, the same findings in the same order, byte for byte, on damaged JSONL logs (plain and gzip,
 * blocks cut at many places); no thread left behind when a scan ends, is aborted or its consumer
 * stops early; a dying worker only costs speed. (Postgres has no worker path: see docs/scan.md.)
 */

import { generateKeyPairSync, sign } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonlBlock } from '../../src/scan/block-work.ts';
import { referenceLines, toJsonLine, writeJsonl } from '../../src/scan/generate.ts';
import {
  type BlockReply,
  decodeBlock,
  lineBlocks,
  liveScanWorkers,
  ScanWorkerPool,
  scanWorkerStats,
  throughPool,
} from '../../src/scan/parallel.ts';
import { liveRangeWorkers, rangeStats } from '../../src/scan/range-merge.ts';
import { jcs, payloadDigest } from '../../src/scan/reference-chain.ts';
import { type ScanResult, scanLog } from '../../src/scan/scan.ts';
import { jsonlSource } from '../../src/scan/sources/jsonl.ts';
import type { CheckpointSet, LedgerOp, LogSource, SourceItem } from '../../src/scan/types.ts';

const N = 20_000;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-scan-workers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A damaged log: every kind of line the JSONL source distinguishes, and defects for every check. */
function damagedLines(): string[] {
  const gen = [...referenceLines({ count: N, payloadBytes: 24 })];
  const lines = gen.map((b) => b.line);
  lines[10] = lines[10]!.replace('"ok":true', '"ok":false'); // content edit
  lines.splice(500, 3); // a gap
  [lines[1000], lines[1001]] = [lines[1001]!, lines[1000]!]; // swapped pair
  lines[1500] = lines[1500]!.replace(/"payload":\{[^}]*\}/, '"payload":{"b":1,"a":[1.5,-0,1e21]}');
  lines[2000] = '{"seq": 2001, broken';
  lines[2500] = toJsonLine(gen[2500]!.entry); // other key order
  lines[3000] = lines[3000]!.replace('"actor":"', '"actor":"\\u00e9\\n'); // escapes, hash now wrong
  lines[3500] = `${lines[3500]!.replace('"payload":{', '"payload":{"name":"zoë 😀",')}\r`; // UTF-8, CRLF
  lines[4000] = lines[4000]!.replace(/"actor":"[^"]*"/, '"actor":""'); // partial
  lines[4500] = lines[4500]!.replace('"seq":', '"seq": '); // whitespace: general path
  lines.splice(5000, 0, '', '   ', 'null', '{}');
  // not I-JSON (duplicate member names, a lone surrogate): partial, on every path alike
  lines[6000] = lines[6000]!.replace('"payload":{', '"payload":{"amount":1000000,"amount":5,');
  lines[6500] = lines[6500]!.replace('"payload":{', '"payload":{"note":"\\ud800",');
  lines[7000] = lines[7000]!.replace('"actor":', '"actor":"hidden","actor":');
  lines[9000] = lines[9000]!.replace(/"prev_hash":"[0-9a-f]{4}/, '"prev_hash":"ffff'); // broken link
  lines.push(lines[20]!); // duplicate id
  lines.push(lines[12_000]!.slice(0, -1)); // truncated last line, no newline at the end
  return lines;
}

const view = (r: ScanResult) => JSON.stringify({ ...r, durationMs: 0 });

async function items(source: LogSource): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const b of source.referenceHashedBatches!()) out.push(...b.items);
  return out;
}

/** A history for the damaged log: ok, failed, indeterminate and never-sent ops, digests, and ops never written. */
function historyFor(lines: string[]): LedgerOp[] {
  const ops: LedgerOp[] = [];
  let i = 0;
  for (const line of lines) {
    let e: { event_id?: unknown; payload?: unknown; seq?: unknown };
    try {
      e = JSON.parse(line);
    } catch {
      continue;
    }
    if (typeof e?.event_id !== 'string') continue;
    i++;
    if (i % 997 === 0) continue; // unexpected: no writer attempted it
    const outcome =
      i % 1499 === 0 ? 'fail' : i % 1201 === 0 ? 'not-sent' : i % 401 === 0 ? 'indeterminate' : 'ok';
    const digest = i % 1301 === 0 ? 'f'.repeat(64) : payloadDigest(e.payload); // a digest that differs
    ops.push({
      eventId: e.event_id,
      outcome,
      payloadDigest: digest,
      invokedAt: i,
      completedAt: i + 1,
      attempts: 1,
    });
  }
  for (let k = 0; k < 5; k++)
    ops.push({
      eventId: `lost-${k}`,
      outcome: k % 2 ? 'ok' : 'indeterminate',
      payloadDigest: '',
      invokedAt: 1,
      completedAt: 2,
      attempts: 1,
    });
  return ops;
}

function checkpointsFor(lines: string[]): CheckpointSet {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const cp = (seq: number, hash: string) => {
    const body = { seq, hash, ts: '2026-12-02T12:00:00.000000Z' };
    return { ...body, signature: sign(null, Buffer.from(jcs(body)), privateKey).toString('base64') };
  };
  const at = (k: number) => JSON.parse(lines[k]!) as { seq: number; hash: string };
  return {
    publicKey: publicKey.export({ type: 'spki', format: 'pem' }).toString(),
    checkpoints: [
      cp(at(100).seq, at(100).hash),
      cp(at(3001).seq, 'ab'.repeat(32)), // rewritten since
      { ...cp(at(8000).seq, at(8000).hash), signature: 'AAAA' }, // bad signature
      cp(N + 50, 'cd'.repeat(32)), // a lost tail
    ],
  };
}

describe('scan in ranges (range-scan.ts, range-merge.ts)', () => {
  it('JSONL: the same result as one thread, finding for finding, ranges cut anywhere, guesses wrong or right', async () => {
    const lines = damagedLines();
    // a fork near many cuts: two entries claim the same predecessor, and a link skipping one entry
    const fork = JSON.parse(lines[11_000]!) as Record<string, unknown>;
    lines.splice(11_001, 0, JSON.stringify({ ...fork, event_id: 'forked', hash: 'ee'.repeat(32) }));
    lines[13_000] = lines[13_000]!.replace(
      /"prev_hash":"[0-9a-f]{64}"/,
      `"prev_hash":${JSON.stringify(JSON.parse(lines[12_998]!).hash)}`,
    );
    const file = path.join(dir, 'damaged-ranges.jsonl');
    await writeJsonl(file, lines);
    const history = historyFor(lines);
    const checkpoints = checkpointsFor(lines);
    const opts = { ledger: history, checkpoints, before: { lastSeq: 40 } };
    const single = await scanLog({
      source: await jsonlSource(file, { workers: 0 }),
      ...opts,
      maxFindings: 100_000,
    });
    const kinds = new Set(single.findings.map((f) => f.kind));
    for (const k of [
      'broken-chain',
      'partial',
      'duplicate',
      'missing',
      'unexpected',
      'indeterminate',
      'rollback',
    ])
      expect(kinds).toContain(k);
    expect(single.findings.some((f) => f.message.includes('fork'))).toBe(true);
    expect(single.findings.some((f) => f.preexisting)).toBe(true);
    for (const [rangeBytes, warmLines] of [
      [7_777, 64],
      [20_000, 2],
      [65_536, 0],
    ] as const) {
      const before = rangeStats();
      const par = await scanLog({
        source: await jsonlSource(file, { workers: 2, parallelMinBytes: 1, rangeBytes, warmLines }),
        ...opts,
        maxFindings: 100_000,
      });
      const after = rangeStats();
      expect(after.ranges - before.ranges).toBeGreaterThan(50);
      if (warmLines <= 2) expect(after.reruns).toBeGreaterThan(before.reruns); // wrong guesses are redone
      expect(view(par)).toBe(view(single));
      expect(liveRangeWorkers()).toBe(0);
    }
  }, 180_000);
});

describe('scan with worker threads', () => {
  it('JSONL: the same items and findings as one thread, plain and gzip, blocks cut anywhere', async () => {
    const lines = damagedLines();
    const file = path.join(dir, 'damaged.jsonl');
    const gz = path.join(dir, 'damaged.jsonl.gz');
    const written = await writeJsonl(file, lines);
    await writeJsonl(gz, lines, { gzip: true });
    // the last line has no newline: rewrite it without one
    const { truncate, stat } = await import('node:fs/promises');
    await truncate(file, (await stat(file)).size - 1);
    expect(written).toBe(lines.length);

    const single = await scanLog({ source: await jsonlSource(file, { workers: 0 }) });
    expect(single.findings.length).toBeGreaterThanOrEqual(10);
    expect(new Set(single.findings.map((f) => f.kind))).toEqual(
      new Set(['broken-chain', 'partial', 'duplicate']),
    );
    const reasons = single.findings.map((f) => f.detail?.reason).filter((r) => r !== undefined);
    expect(reasons).toEqual(['duplicate-member', 'lone-surrogate', 'duplicate-member']);
    for (const [f, chunkBytes] of [
      [file, 65_536],
      [file, 7_777],
      [gz, 50_000],
    ] as const) {
      const opts = { workers: 1, parallelMinBytes: 1, chunkBytes, waitForWorkers: true, ranges: false };
      const before = scanWorkerStats().workerBlocks;
      const par = await scanLog({ source: await jsonlSource(f, opts) });
      expect(scanWorkerStats().workerBlocks).toBeGreaterThan(before);
      expect(view(par)).toBe(view(single).replace(JSON.stringify(file), JSON.stringify(f)));
      expect(await items(await jsonlSource(f, opts))).toEqual(
        await items(await jsonlSource(file, { workers: 0 })),
      );
      expect(liveScanWorkers()).toBe(0);
    }
  });

  it('JSONL: workers are torn down when the scan is aborted or its consumer stops', async () => {
    const file = path.join(dir, 'clean.jsonl');
    await writeJsonl(
      file,
      [...referenceLines({ count: N, payloadBytes: 24 })].map((b) => b.line),
    );
    const opts = { workers: 1, parallelMinBytes: 1, chunkBytes: 32_768, waitForWorkers: true, ranges: false };
    const ac = new AbortController();
    const aborted = scanLog({
      source: await jsonlSource(file, opts),
      signal: ac.signal,
      progressIntervalMs: 0,
      onProgress: (p) => {
        if (p.entries > 2000) ac.abort(new Error('stop here'));
      },
    });
    await expect(aborted).rejects.toThrow('stop here');
    expect(liveScanWorkers()).toBe(0);

    const source = await jsonlSource(file, opts);
    let batches = 0;
    for await (const _ of source.referenceHashedBatches!()) if (++batches === 3) break;
    expect(liveScanWorkers()).toBe(0);
  });

  it('a worker that dies only costs speed: its blocks are done on the main thread', async () => {
    const file = path.join(dir, 'clean.jsonl');
    await writeJsonl(
      file,
      [...referenceLines({ count: 3000, payloadBytes: 24 })].map((b) => b.line),
    );
    const { createReadStream } = await import('node:fs');
    const run = async (makePool: () => ScanWorkerPool) => {
      const out: BlockReply[] = [];
      const blocks = lineBlocks(createReadStream(file, { highWaterMark: 16_384 }) as AsyncIterable<Buffer>);
      for await (const r of throughPool(
        blocks,
        makePool,
        decodeBlock,
        jsonlBlock,
        (_t: string, reply: BlockReply) => reply,
        { waitForWorkers: true },
      ))
        out.push(r);
      return out;
    };
    // says it is ready, then exits on the first block it is sent
    const dying = `const { parentPort } = require('node:worker_threads');
      parentPort.on('message', () => process.exit(3)); parentPort.postMessage('ready');`;
    const before = scanWorkerStats().workerBlocks;
    const viaDying = await run(() => new ScanWorkerPool(1, dying));
    expect(scanWorkerStats().workerBlocks).toBeGreaterThan(before);
    expect(liveScanWorkers()).toBe(0);
    const viaWorker = await run(() => new ScanWorkerPool(1));
    expect(viaDying.length).toBeGreaterThan(10);
    expect(viaDying).toEqual(viaWorker);
  });
});
