/**
 * Worker thread of a PostgreSQL seq-range scan (sources/pg-ranges.ts): holds one connection and
 * verifies the ranges it is sent, one at a time, in the order sent; replies in that order (the
 * summary's fingerprints are transferred).
 */

import { parentPort } from 'node:worker_threads';
import type pg from 'pg';
import type { RangeContext } from '../range-scan.ts';
import { type SeqRangeJob, type SeqRangeTable, scanSeqRange } from './pg-range-scan.ts';
import { connect, prepareSession } from './postgres.ts';

export type SeqRangeMessage =
  | { type: 'context'; context: RangeContext; table: SeqRangeTable }
  | { type: 'range'; job: SeqRangeJob };

const port = parentPort;
if (port) {
  let context: RangeContext = {};
  let table: SeqRangeTable | undefined;
  let client: pg.Client | undefined;
  let queue: Promise<void> = Promise.resolve();
  port.on('message', (m: SeqRangeMessage) => {
    if (m.type === 'context') {
      context = m.context;
      table = m.table;
      port.postMessage('context');
      return;
    }
    queue = queue.then(async () => {
      try {
        if (!table) throw new Error('no table context');
        if (!client) {
          client = await connect(table.url, table.connectTimeoutMs);
          await prepareSession(client, table.row);
        }
        const s = await scanSeqRange(client, table, m.job, context);
        port.postMessage({ summary: s }, [s.fingerprints.buffer as ArrayBuffer]);
      } catch (e) {
        port.postMessage({ error: (e as Error).message ?? String(e) });
      }
    });
  });
  port.postMessage('ready');
}
