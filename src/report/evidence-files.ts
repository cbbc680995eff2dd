/**
 * Replayable evidence in the report folder: the stored log as the judging scan read it
 * (log.jsonl.gz) and the checkpoints the writers observed (checkpoints.json), in the shapes
 * `auditchaos scan` reads, so that
 *
 *     auditchaos scan reports/<run>/log.jsonl.gz --history reports/<run>/history.ndjson \
 *       --checkpoints reports/<run>/checkpoints.json
 *
 * re-runs the run's checks on what it saw (docs/report.md, "Replaying a run"). The log is written
 * while the scan reads it: by the report phase the stack, and with it the database, is gone.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { createGzip } from 'node:zlib';
import type { CheckpointSet, SourceItem } from '../scan/types.ts';
import { isUnreadable } from '../scan/types.ts';

export const LOG_FILE = 'log.jsonl.gz';
export const CHECKPOINTS_FILE = 'checkpoints.json';
export const HISTORY_FILE = 'history.ndjson';
/** Written first into a report folder and removed once its report is written: a killed run's folder says so. */
export const INCOMPLETE_FILE = 'INCOMPLETE.txt';

/**
 * One JSONL line under the reference field names (the scenario's mapping already applied by the
 * source), each value as read. An unreadable record keeps its raw text when the source had it, so
 * that a replay finds it unreadable too.
 */
export function logLineOf(item: SourceItem): string {
  if (isUnreadable(item)) {
    if (item.raw !== undefined) return item.raw.replace(/[\r\n]+/g, ' ');
    const { seq, eventId, reason } = item;
    return JSON.stringify({ seq, event_id: eventId, unreadable: reason });
  }
  return JSON.stringify({
    seq: item.seq,
    event_id: item.eventId,
    ts: item.ts,
    actor: item.actor,
    action: item.action,
    payload: item.payload,
    prev_hash: item.prevHash,
    hash: item.hash,
  });
}

/** The checkpoints file `scan --checkpoints` reads: {publicKey, checkpoints}. */
export function checkpointsFileText(set: CheckpointSet): string {
  return `${JSON.stringify({ publicKey: set.publicKey, checkpoints: set.checkpoints }, null, 2)}\n`;
}

export interface LogWriter {
  write(items: readonly SourceItem[]): Promise<void>;
  close(): Promise<void>;
}

/** A gzip JSONL writer with backpressure: a scan waits for the disk rather than buffering the log. */
export function createLogWriter(file: string): LogWriter {
  const gzip = createGzip();
  const out = createWriteStream(file);
  gzip.pipe(out);
  let failed: unknown;
  const fail = (e: unknown) => {
    failed ??= e;
  };
  gzip.on('error', fail);
  out.on('error', fail);
  return {
    async write(items) {
      if (failed) throw failed;
      if (items.length === 0) return;
      let text = '';
      for (const item of items) text += `${logLineOf(item)}\n`;
      if (!gzip.write(text)) await once(gzip, 'drain');
    },
    async close() {
      const done = once(out, 'close');
      gzip.end();
      await done;
      if (failed) throw failed;
    },
  };
}
