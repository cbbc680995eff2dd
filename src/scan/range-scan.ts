/**
 * One byte range of a JSONL log verified on its own (in a worker thread, another process or
 * another machine): every per-entry check runs here, and what crosses the range's edges is a small
 * RangeSummary that range-merge.ts joins, in log order, into the result of one scan.
 *
 * - chain: the range is checked from a start state: the true one (the file's start, or a state the
 *   merge hands back), or a guess made by running the chain check silently over the `warmLines`
 *   lines before the range. The summary carries that start state, and the merge accepts the
 *   range's findings only when the guess is the true state (else it asks for the range again, from
 *   the true state); the end state carries the held entry and the recent links to the next range.
 * - partial (the payload digests included), the ledger's "no writer attempted it": per entry, here.
 * - duplicate: the 64-bit fingerprint of every event id, merged into the one table by the merge.
 * - ledger join and checkpoints: the first occurrence in the range of each id the ledger has, and
 *   the entries a checkpoint names, as events the merge replays into the real checks.
 *
 * Findings and those events are in the order the one-thread scan emits them (per entry: chain,
 * partial, ledger, checkpoint), with line numbers local to the range (line 1 is its first line).
 */
import * as buffer from 'node:buffer';
import { closeSync, openSync, readSync } from 'node:fs';
import { decodeBlock, READ_CHUNK_BYTES } from './block-format.ts';
import type { ChainState } from './checks/chain.ts';
import type { Ledger } from './checks/ledger.ts';
import { lineItemReader } from './line-items.ts';
import { createRangeObserver, type RangeContext, type RangeSummary } from './range-observer.ts';
import { REFERENCE_MAPPING, recordReader, slowLineItem } from './sources/record.ts';
import type { CheckpointSet, HashedBatch, SourceItem } from './types.ts';

export {
  type CheckpointItem,
  RANGE_SUMMARY_VERSION,
  type RangeContext,
  type RangeEvent,
  type RangeSummary,
} from './range-observer.ts';

export interface RangeJob {
  file: string;
  /** Byte offsets; start is a line start (0 or just after a newline), end a line start or the file's size. */
  start: number;
  end: number;
  /** Lines before `start` run through the chain check to guess its state; default 64. */
  warmLines?: number;
  /** The true chain state at `start` (line numbers local to this range): no guess. */
  state?: ChainState;
  /** Bytes a read; default READ_CHUNK_BYTES, 64 KiB (tests make it small, to cut lines across reads). */
  readBytes?: number;
}

const isUtf8 = (buffer as { isUtf8?: (b: Uint8Array) => boolean }).isUtf8;
const read = recordReader(REFERENCE_MAPPING, { hashless: false });
const slowItem = (text: string, lineNo: number): SourceItem => slowLineItem(read, text, lineNo);

/** The context of a scan with these inputs: the same in scanLog and in a range scan of its own (range-job.ts). */
export function rangeContextOf(
  ledger: Ledger | undefined,
  checkpoints: CheckpointSet | undefined,
  before: { lastSeq: number } | undefined,
): RangeContext {
  const context: RangeContext = {};
  if (ledger) context.ledgerOps = [...ledger.ops.values()];
  if (before) context.before = before;
  if (checkpoints) context.checkpointSeqs = [...new Set(checkpoints.checkpoints.map((c) => c.seq))];
  return context;
}

function readAt(fd: number, from: number, length: number): Buffer {
  const buf = Buffer.allocUnsafe(length);
  readInto(fd, buf, 0, length, from);
  return buf;
}

/** Exactly `length` bytes of the file at `from` into buf at `offset`. */
function readInto(fd: number, buf: Buffer, offset: number, length: number, from: number): void {
  let got = 0;
  while (got < length) {
    const n = readSync(fd, buf, offset + got, length - got, from + got);
    if (n === 0)
      throw new Error(
        `the file ended at byte ${from + got}, before byte ${from + length}: it changed during the scan`,
      );
    got += n;
  }
}

/** Where the `lines` lines before `start` begin (0 when the file has fewer before it). */
function warmStart(fd: number, start: number, lines: number): number {
  for (let back = 1 << 16; ; back *= 4) {
    const from = Math.max(0, start - back);
    const buf = readAt(fd, from, start - from);
    let pos = buf.length - 1; // the newline that ends the line before `start`
    let count = 0;
    while (count < lines && pos > 0) {
      const i = buf.lastIndexOf(10, pos - 1);
      if (i < 0) break;
      count++;
      pos = i;
    }
    if (count === lines) return from + pos + 1;
    if (from === 0) return 0;
  }
}

/** Verifies one range (synchronous: it owns its thread). */
export function scanRange(job: RangeJob, ctx: RangeContext): RangeSummary {
  const obs = createRangeObserver(ctx);
  let warm = false;
  const add = lineItemReader({ fast: true, slowItem, lazyPayload: true });
  const batch: HashedBatch = { items: [], hashes: [] };
  /** Whole lines of bytes, numbered from lineNo; may overwrite `buf` (lineItemReader's byte mode). */
  const feed = (buf: Buffer, lineNo: number): number => {
    batch.items.length = 0;
    batch.hashes!.length = 0;
    // Valid UTF-8 is read in byte mode (no decoding of the whole block: only its non-ASCII lines);
    // other bytes as the one-thread path decodes them (U+FFFD for each bad sequence).
    const bytes = isUtf8 === undefined || !isUtf8(buf) ? undefined : buf;
    const text = bytes ? buf.toString('latin1') : decodeBlock(buf);
    const next = add(batch, text, 0, text.length, lineNo, bytes);
    const { items, hashes } = batch;
    if (warm) for (let k = 0; k < items.length; k++) obs.warm(items[k]!, hashes![k]);
    else for (let k = 0; k < items.length; k++) obs.observe(items[k]!, hashes![k]);
    return next;
  };

  const fd = openSync(job.file, 'r');
  let lineNo = 1;
  let startExact = true;
  try {
    if (job.state) obs.start(job.state);
    else {
      if (job.start > 0) {
        const from = warmStart(fd, job.start, job.warmLines ?? 64);
        startExact = from === 0;
        const buf = readAt(fd, from, job.start - from);
        let lines = 0;
        for (let i = buf.indexOf(10); i >= 0; i = buf.indexOf(10, i + 1)) lines++;
        warm = true;
        // text up to and without the last newline: the lines before `start`, numbered ..., -1, 0
        if (buf.length > 1) feed(buf.subarray(0, buf.length - 1), 1 - lines);
        warm = false;
      }
      obs.start();
    }
    // One buffer for the whole range: the bytes of the line cut by the last read stay at its start.
    const readBytes = job.readBytes ?? READ_CHUNK_BYTES;
    let work = Buffer.allocUnsafe(readBytes * 2);
    let held = 0;
    for (let at = job.start; at < job.end; ) {
      const n = Math.min(readBytes, job.end - at);
      if (held + n > work.length) {
        const bigger = Buffer.allocUnsafe(Math.max(work.length * 2, held + n));
        work.copy(bigger, 0, 0, held);
        work = bigger;
      }
      readInto(fd, work, held, n, at);
      at += n;
      const len = held + n;
      const cut = work.lastIndexOf(10, len - 1);
      if (cut < held) {
        held = len; // no line ends in this read
        continue;
      }
      lineNo = feed(work.subarray(0, cut), lineNo);
      held = len - cut - 1;
      work.copyWithin(0, cut + 1, len);
    }
    if (held) lineNo = feed(work.subarray(0, held), lineNo);
  } finally {
    closeSync(fd);
  }
  return obs.summary({ file: job.file, start: job.start, end: job.end, lines: lineNo - 1 }, startExact);
}
