/**
 * The scanner's worker threads (src/scan/parallel.ts) against the single-thread path: the same
 * items, the same findings in the same order, byte for byte, on damaged JSONL logs (plain and gzip,
 * blocks cut at many places); no thread left behind when a scan ends, is aborted or its consumer
 * stops early; a dying worker only costs speed. (Postgres has no worker path: see docs/scan.md.)
 */

import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jsonlBlock } from '../../src/scan/block-work.ts';
import { referenceLines, writeJsonl } from '../../src/scan/generate.ts';
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
import { type ScanResult, scanLog } from '../../src/scan/scan.ts';
import { jsonlSource } from '../../src/scan/sources/jsonl.ts';
import type { LogSource, SourceItem } from '../../src/scan/types.ts';
import { checkpointsFor, DAMAGE_KINDS, damagedLines, historyFor, N } from '../helpers/damaged-log.ts';

let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-scan-workers-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const view = (r: ScanResult) => JSON.stringify({ ...r, durationMs: 0 });

async function items(source: LogSource): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const b of source.referenceHashedBatches!()) out.push(...b.items);
  return out;
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
    for (const k of DAMAGE_KINDS) expect(kinds).toContain(k);
    expect(single.findings.some((f) => f.message.includes('fork'))).toBe(true);
    expect(single.findings.some((f) => f.preexisting)).toBe(true);
    for (const [rangeBytes, warmLines, rangeReadBytes] of [
      [7_777, 64, undefined],
      [20_000, 2, 333], // lines cut across reads
      [65_536, 0, 64], // reads shorter than a line
    ] as const) {
      const before = rangeStats();
      const par = await scanLog({
        source: await jsonlSource(file, {
          workers: 2,
          parallelMinBytes: 1,
          rangeBytes,
          warmLines,
          ...(rangeReadBytes ? { rangeReadBytes } : {}),
        }),
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
