/**
 * What crosses between the scanner's main thread and its workers for the block pipeline
 * (parallel.ts), kept apart from the pool so that the workers' code (worker-code.ts bundles it)
 * holds nothing of the main side.
 */
import * as buffer from 'node:buffer';

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
