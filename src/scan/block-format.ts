/**
 * What crosses between the scanner's main thread and its workers for the block pipeline
 * (parallel.ts), kept apart from the pool so that the workers' code (worker-code.ts bundles it)
 * holds nothing of the main side.
 */
import * as buffer from 'node:buffer';

/**
 * Bytes a read of a JSONL file, in the one-thread stream and in byte ranges: 64 KiB, so that the
 * text of a read (with the cut line carried over) stays under V8's 128 KiB limit for an object on
 * its regular heap pages. A bigger string gets pages of its own (from ~1 MB on it is external,
 * malloc'd), mapped and unmapped once a read; with two range workers that cost a scan of 1M lines
 * a third of its CPU (docs/scan.md, "Read size").
 */
export const READ_CHUNK_BYTES = 1 << 16;

/** Per JSONL item: [line index in block, kind (1 canonical, 2 other), start, end, escapes, at[16]]. */
export const REC_STRIDE = 21;

export interface BlockRequest {
  /** Whole JSONL lines. */
  buf: Uint8Array;
}

export interface BlockReply {
  /** Lines in the block (blank ones included). */
  lines: number;
  /** Items (non-blank lines). */
  count: number;
  /** REC_STRIDE ints an item. */
  rec: Int32Array;
  /** The seq of canonical lines. */
  seqs: Float64Array;
  /** JSON array text: per item, its reference hash or null. */
  hashes: string;
}

const isAscii = (buffer as { isAscii?: (b: Uint8Array) => boolean }).isAscii;

/** A block of whole lines to text; the same string on both threads. */
export function decodeBlock(buf: Buffer): string {
  return isAscii?.(buf) ? buf.toString('latin1') : buf.toString('utf8');
}
