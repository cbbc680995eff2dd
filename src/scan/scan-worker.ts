/**
 * Worker thread of the scanner's pool (parallel.ts): runs block-work.ts on the blocks of JSONL lines
 * it is sent and replies in order; the typed arrays of a reply are transferred.
 */
import { parentPort } from 'node:worker_threads';
import { jsonlBlock } from './block-work.ts';
import { type BlockRequest, decodeBlock } from './parallel.ts';

const port = parentPort;
if (port) {
  port.on('message', (m: BlockRequest) => {
    const text = decodeBlock(Buffer.from(m.buf.buffer, m.buf.byteOffset, m.buf.byteLength));
    const reply = jsonlBlock(text);
    port.postMessage(reply, [reply.rec.buffer as ArrayBuffer, reply.seqs.buffer as ArrayBuffer]);
  });
  port.postMessage('ready');
}
