/**
 * JSONL / NDJSON files, plain or gzip-compressed (recognised by their magic bytes, whatever the
 * name): one entry a line, the line order is the log order. Streamed in chunks; blank lines are
 * skipped, a line that does not parse becomes an UnreadableEntry with its line number.
 *
 * Lines of the reference format in canonical form (fast-line.ts) are read without JSON.parse of the
 * whole line, and hashedBatches() hashes their canonical body cut from the line; every other line
 * takes the general path (JSON.parse + recordReader), which gives the same items.
 */

import * as buffer from 'node:buffer';
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { StringDecoder } from 'node:string_decoder';
import { createGunzip } from 'node:zlib';
import { UsageError } from '../../errors.ts';
import type { EntryMapping } from '../../scenario/schema.ts';
import { READ_CHUNK_BYTES } from '../block-format.ts';
import { jsonlBlock } from '../block-work.ts';
import { F_ACTION, F_ACTOR, F_EVENT_ID, F_HASH, F_PAYLOAD, F_PREV_HASH, F_TS } from '../fast-line.ts';
import { lineItemReader } from '../line-items.ts';
import {
  type BlockReply,
  decodeBlock,
  defaultWorkerCount,
  lineBlocks,
  PARALLEL_MIN_BYTES,
  REC_STRIDE,
  ScanWorkerPool,
  throughPool,
} from '../parallel.ts';
import type { RangeSpec } from '../range-merge.ts';
import type { HashedBatch, LogEntry, LogSource, SourceItem } from '../types.ts';
import { itemsOf } from './array.ts';
import { REFERENCE_MAPPING, recordReader, slowLineItem } from './record.ts';

export interface JsonlSourceOptions {
  mapping?: Partial<EntryMapping>;
  /** The log has no hash fields: the chain check cannot run. */
  hashless?: boolean;
  /** Read chunk size in bytes. */
  chunkBytes?: number;
  /** Turn the canonical-line fast path off (tests compare both paths). */
  fastPath?: boolean;
  /**
   * Worker threads validating and hashing canonical lines (referenceHashedBatches only); default
   * os.availableParallelism() - 1, at least 1; 0: one thread.
   */
  workers?: number;
  /** Files smaller than this (a quarter of it when gzipped) are scanned on one thread; default 8 MiB. */
  parallelMinBytes?: number;
  /** Tests: wait for the workers to load before the first block, so that they get blocks. */
  waitForWorkers?: boolean;
  /**
   * Verify a plain (not gzipped) file in byte ranges, each by a worker doing all its per-entry work
   * (range-scan.ts), instead of the block pipeline; default true. Workers default to
   * os.availableParallelism() there (the main thread only joins the ranges).
   */
  ranges?: boolean;
  /** Bytes a range (tests cut small ranges). */
  rangeBytes?: number;
  /** Lines read before a range to guess its chain state; default 64 (tests make it small). */
  warmLines?: number;
  /** Bytes a read inside a range; default 1 MiB (tests make it small). */
  rangeReadBytes?: number;
  /** Keep each entry's stored form (LogEntry.stored), for recipes over the stored text. */
  stored?: boolean;
}

/** Field f of a canonical line described by rec at o (fieldString() of fast-line.ts). */
function recField(text: string, rec: Int32Array, o: number, f: number): string {
  const vs = rec[o + 5 + f * 2]!;
  const ve = rec[o + 6 + f * 2]!;
  return rec[o + 4]! & (1 << f) ? (JSON.parse(text.slice(vs, ve)) as string) : text.slice(vs + 1, ve - 1);
}

/** The items of a block from a worker's reply: what addLines() makes of the same lines. */
function itemsFromReply(
  text: string,
  reply: BlockReply,
  lineBase: number,
  slowItem: (text: string, lineNo: number) => SourceItem,
): HashedBatch {
  const { rec, seqs, count } = reply;
  const hashes = JSON.parse(reply.hashes) as (string | null)[];
  const items: SourceItem[] = new Array(count);
  const hs: (string | undefined)[] = new Array(count);
  for (let k = 0; k < count; k++) {
    const o = k * REC_STRIDE;
    const line = lineBase + rec[o]!;
    const h = hashes[k];
    hs[k] = h === null ? undefined : h;
    if (rec[o + 1] === 1) {
      const entry: LogEntry = {
        seq: seqs[k]!,
        eventId: recField(text, rec, o, F_EVENT_ID),
        ts: recField(text, rec, o, F_TS),
        actor: recField(text, rec, o, F_ACTOR),
        action: recField(text, rec, o, F_ACTION),
        payload: JSON.parse(text.slice(rec[o + 5 + F_PAYLOAD * 2]!, rec[o + 6 + F_PAYLOAD * 2]!)),
        prevHash: recField(text, rec, o, F_PREV_HASH),
        hash: recField(text, rec, o, F_HASH),
        line,
      };
      items[k] = entry;
    } else items[k] = slowItem(text.slice(rec[o + 2]!, rec[o + 3]!), line);
  }
  return { items, hashes: hs };
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

// buffer.isAscii: Node >= 20.? (simdutf); without it every chunk goes through the decoder.
const isAscii = (buffer as { isAscii?: (b: Buffer) => boolean }).isAscii;

function isReferenceMapping(m: Partial<EntryMapping> | undefined): boolean {
  if (m === undefined) return true;
  for (const [k, v] of Object.entries(m)) if (REFERENCE_MAPPING[k as keyof EntryMapping] !== v) return false;
  return true;
}

/** Checks the file exists and is readable before a scan starts (exit 2 with a clear message if not). */
export async function jsonlSource(file: string, opts: JsonlSourceOptions = {}): Promise<LogSource> {
  let size = 0;
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
    size = st.size;
  } catch (e) {
    throw new UsageError(`cannot read the log file ${file}: ${(e as Error).message}`, {
      hint: 'SOURCE is a .jsonl/.ndjson(.gz) file or a postgres:// URL',
      cause: e,
    });
  }
  const gz = await isGzip(file);
  const hashless = opts.hashless ?? false;
  const read = recordReader(opts.mapping, { hashless });
  const fast = (opts.fastPath ?? true) && !hashless && isReferenceMapping(opts.mapping);
  const workerCount = opts.workers ?? defaultWorkerCount();
  const parallel =
    fast && workerCount > 0 && size >= (opts.parallelMinBytes ?? PARALLEL_MIN_BYTES) / (gz ? 4 : 1);
  const highWaterMark = opts.chunkBytes ?? READ_CHUNK_BYTES;

  const storedKey = opts.stored ? { ...REFERENCE_MAPPING, ...opts.mapping }.payload : undefined;
  const slowItem = (text: string, lineNo: number): SourceItem => slowLineItem(read, text, lineNo, storedKey);

  function open(signal?: AbortSignal) {
    const raw = createReadStream(file, { highWaterMark, ...(signal ? { signal } : {}) });
    const stream = gz ? raw.pipe(createGunzip({ chunkSize: highWaterMark })) : raw;
    if (gz) raw.on('error', (e) => stream.destroy(e));
    return { raw, stream };
  }

  /** The file's bytes, through gunzip when compressed. */
  async function* bytes(signal?: AbortSignal): AsyncIterable<Buffer> {
    const { raw, stream } = open(signal);
    try {
      yield* stream as AsyncIterable<Buffer>;
    } finally {
      stream.destroy();
      raw.destroy();
    }
  }

  /** referenceHashedBatches() with the validation and hashing done by worker threads. */
  async function* parallelBatches(signal?: AbortSignal): AsyncIterable<HashedBatch> {
    let lineBase = 1;
    const finish = (text: string, reply: BlockReply): HashedBatch => {
      const b = itemsFromReply(text, reply, lineBase, slowItem);
      lineBase += reply.lines;
      return b;
    };
    for await (const b of throughPool(
      lineBlocks(bytes(signal)),
      () => new ScanWorkerPool(workerCount),
      decodeBlock,
      jsonlBlock,
      finish,
      opts.waitForWorkers ? { waitForWorkers: true } : {},
    )) {
      if (b.items.length) yield b;
    }
  }

  async function* chunks(signal?: AbortSignal, withHashes = false): AsyncIterable<HashedBatch> {
    const { raw, stream } = open(signal);
    const decoder = new StringDecoder('utf8');
    const add = lineItemReader({ fast, slowItem, storedKey });
    let carry = '';
    let lineNo = 1;
    let asciiAfter = true;
    /** The lines of text[start, stop) into `out` (at least one: stop ends the last line). */
    const addLines = (out: HashedBatch, text: string, start: number, stop: number): void => {
      lineNo = add(out, text, start, stop, lineNo);
    };
    const newBatch = (): HashedBatch => (withHashes ? { items: [], hashes: [] } : { items: [] });
    try {
      for await (const chunk of stream as AsyncIterable<Buffer>) {
        // Lines are read in place in the decoded chunk (a flat string: charCodeAt is cheapest there);
        // only the line split across chunks is joined.
        // An ASCII chunk after a chunk ending in ASCII (the decoder holds nothing) decodes as latin1, faster.
        const text = asciiAfter && isAscii?.(chunk) ? chunk.toString('latin1') : decoder.write(chunk);
        asciiAfter = chunk.length > 0 && chunk[chunk.length - 1]! < 0x80;
        const first = text.indexOf('\n');
        if (first === -1) {
          carry += text;
          continue;
        }
        const b = newBatch();
        const head = carry + text.slice(0, first);
        addLines(b, head, 0, head.length);
        const last = text.lastIndexOf('\n');
        if (last > first) addLines(b, text, first + 1, last);
        carry = text.slice(last + 1);
        if (b.items.length) yield b;
      }
      const rest = carry + decoder.end();
      if (rest.length) {
        const b = newBatch();
        addLines(b, rest, 0, rest.length);
        if (b.items.length) yield b;
      }
    } finally {
      stream.destroy();
      raw.destroy();
    }
  }

  async function* batches(signal?: AbortSignal): AsyncIterable<SourceItem[]> {
    for await (const b of chunks(signal)) yield b.items;
  }
  const useRanges = parallel && !gz && opts.stored !== true && (opts.ranges ?? true);
  const ranges: RangeSpec | undefined = useRanges
    ? {
        file,
        size,
        workers: opts.workers ?? availableParallelism(),
        ...(opts.rangeBytes !== undefined ? { rangeBytes: opts.rangeBytes } : {}),
        ...(opts.warmLines !== undefined ? { warmLines: opts.warmLines } : {}),
        ...(opts.rangeReadBytes !== undefined ? { readBytes: opts.rangeReadBytes } : {}),
      }
    : undefined;
  const source: LogSource = {
    describe: file,
    ...(ranges ? { ranges } : {}),
    ...(hashless ? { notAvailable: { chain: 'the log has no hash fields' } } : {}),
    batches,
    entries: (signal) => itemsOf(batches(signal)),
    ...(fast
      ? {
          referenceHashedBatches: (signal?: AbortSignal) =>
            parallel ? parallelBatches(signal) : chunks(signal, true),
        }
      : {}),
  };
  return source;
}
