/**
 * Worker thread of the scanner's pool (parallel.ts): runs block-work.ts on the blocks of JSONL lines
 * it is sent and replies in order; the typed arrays of a reply are transferred.
 */
import { parentPort } from 'node:worker_threads';
import { type BlockRequest, decodeBlock } from './block-format.ts';
import { jsonlBlock } from './block-work.ts';
import { type RangeContext, type RangeJob, scanRange } from './range-scan.ts';

/** Messages of range-merge.ts (the BlockRequests of parallel.ts have no type). */
export type RangeMessage = { type: 'context'; context: RangeContext } | { type: 'range'; job: RangeJob };

let context: RangeContext = {};
const port = parentPort;
if (port) {
  port.on('message', (m: BlockRequest | RangeMessage) => {
    if ('type' in m) {
      if (m.type === 'context') {
        context = m.context;
        port.postMessage('context');
        return;
      }
      try {
        const s = scanRange(m.job, context);
        port.postMessage({ summary: s }, [s.fingerprints.buffer as ArrayBuffer]);
      } catch (e) {
        port.postMessage({ error: (e as Error).message ?? String(e) });
      }
      return;
    }
    const text = decodeBlock(Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength));
    const reply = jsonlBlock(text);
    port.postMessage(reply, [reply.rec.buffer as ArrayBuffer, reply.seqs.buffer as ArrayBuffer]);
  });
  port.postMessage('ready');
}
