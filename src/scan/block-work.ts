/**
 * The work of a scan worker on one block (parallel.ts), also done on the main thread when the
 * workers are behind: per item, the reference hash the chain check would compute, and for canonical
 * JSONL lines where each field's value text is. The per-line code is the single-thread path's.
 */

import { type BlockReply, REC_STRIDE } from './block-format.ts';
import {
  canonicalBodyOf,
  F_PREV_HASH,
  fieldString,
  newReferenceLine,
  parseReferenceLine,
} from './fast-line.ts';
import { makeHasher, referenceRecipe } from './recipe.ts';
import { REFERENCE_MAPPING, recordReader, slowLineItem } from './sources/record.ts';
import { isUnreadable, type SourceItem } from './types.ts';

const recipe = referenceRecipe();
const hasher = makeHasher('sha256');
const read = recordReader(REFERENCE_MAPPING, { hashless: false });
const ref = newReferenceLine();

/** The reference hash of an item, or null when it is unreadable or cannot be hashed. */
function hashOf(item: SourceItem): string | null {
  if (isUnreadable(item)) return null;
  try {
    return recipe.hash(item.prevHash, item);
  } catch {
    return null; // the chain check recomputes it and reports the error itself
  }
}

export function jsonlBlock(text: string): BlockReply {
  const len = text.length;
  let rec = new Int32Array(REC_STRIDE * 1024);
  let seqs = new Float64Array(1024);
  const hashes: (string | null)[] = [];
  let n = 0;
  let rel = 0;
  for (let p = 0; p < len; ) {
    let nl = text.indexOf('\n', p);
    if (nl === -1) nl = len;
    const e = nl > p && text.charCodeAt(nl - 1) === 13 ? nl - 1 : nl;
    const lineRel = rel++;
    const ls = p;
    p = nl + 1;
    if (e === ls || (text.charCodeAt(ls) <= 32 && text.slice(ls, e).trim() === '')) continue;
    if (n === seqs.length) {
      const r2 = new Int32Array(rec.length * 2);
      r2.set(rec);
      rec = r2;
      const s2 = new Float64Array(seqs.length * 2);
      s2.set(seqs);
      seqs = s2;
    }
    const o = n * REC_STRIDE;
    rec[o] = lineRel;
    rec[o + 2] = ls;
    rec[o + 3] = e;
    if (parseReferenceLine(text, ls, e, ref)) {
      rec[o + 1] = 1;
      rec[o + 4] = ref.escapes;
      rec.set(ref.at, o + 5);
      seqs[n] = ref.seq;
      hashes.push(hasher(fieldString(text, ref, F_PREV_HASH), canonicalBodyOf(text, ls, ref)));
    } else {
      rec[o + 1] = 2;
      hashes.push(hashOf(slowLineItem(read, text.slice(ls, e), 0)));
    }
    n++;
  }
  return {
    lines: rel,
    count: n,
    rec: rec.subarray(0, n * REC_STRIDE),
    seqs: seqs.subarray(0, n),
    hashes: JSON.stringify(hashes),
  };
}
