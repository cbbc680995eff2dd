/**
 * One seq range of a PostgreSQL table, read and verified on the connection it is given (a worker's
 * own, sources/pg-range-worker.ts, or the main thread's for a range verified again): the rows with
 * lo <= seq < hi in seq order, each decoded, hashed (jsonb payloads made canonical as text) and
 * observed by range-observer.ts, the same per-entry work as a byte range of a file. The chain
 * state at the range's start is guessed from the `warmRows` rows before it (exact when there are
 * fewer: the guess then ran from the table's first row), or given. Every range of one scan reads
 * in the snapshot the main side exported, so together they see the table as one COPY would.
 */
import type pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import type { ChainState } from '../checks/chain.ts';
import { createRangeObserver } from '../range-observer.ts';
import type { RangeContext, RangeSummary } from '../range-scan.ts';
import { makeHasher } from '../recipe.ts';
import type { HashedBatch } from '../types.ts';
import { splitLines } from './lines.ts';
import { copyLineToRow, type RowContext, readRow } from './postgres.ts';

/** The table as every range reads it (sent once to each worker). */
export interface SeqRangeTable {
  url: string;
  connectTimeoutMs: number;
  describe: string;
  /** The SELECT list of the eight fields as text, the FROM, the qualified seq column. */
  list: string;
  from: string;
  seqCol: string;
  row: RowContext;
}

export interface SeqRangeJob {
  /** The range's place: its summary spans [index, index + 1). */
  index: number;
  /** Decimal integer bounds, lo <= seq < hi; absent: unbounded on that side. */
  lo?: string;
  hi?: string;
  /** pg_export_snapshot() of the main side's transaction. */
  snapshot?: string;
  /** Rows before lo run through the chain check to guess its state; default 64. */
  warmRows?: number;
  /** The true chain state at lo: no guess. */
  state?: ChainState;
}

const INTEGER = /^-?\d{1,19}$/;
const SNAPSHOT = /^[0-9A-F]+-[0-9A-F]+(-[0-9A-F]+)?$/i;

/** Streams the rows of `sql` through COPY text, each to `each` as a HashedBatch of one batch. */
async function copyRows(
  client: pg.Client,
  sql: string,
  row: RowContext,
  each: (b: HashedBatch) => void,
): Promise<void> {
  const hasher = makeHasher('sha256');
  const stream = client.query(copyTo(`COPY (${sql}) TO STDOUT`));
  for await (const { lines } of splitLines(stream as AsyncIterable<Buffer>)) {
    const out: HashedBatch = { items: [], hashes: [] };
    for (let i = 0; i < lines.length; i++) readRow(copyLineToRow(lines[i]!), row, hasher, out);
    each(out);
  }
}

export async function scanSeqRange(
  client: pg.Client,
  t: SeqRangeTable,
  job: SeqRangeJob,
  ctx: RangeContext,
  /** false: `client` is already in a transaction with the scan's snapshot (the main side's). */
  transaction = true,
): Promise<RangeSummary> {
  for (const b of [job.lo, job.hi])
    if (b !== undefined && !INTEGER.test(b)) throw new Error(`seq range bound ${b} is not an integer`);
  if (job.snapshot !== undefined && !SNAPSHOT.test(job.snapshot))
    throw new Error(`${job.snapshot} is not a snapshot id`);
  const obs = createRangeObserver(ctx);
  const { list, from, seqCol } = t;
  const where = [
    ...(job.lo !== undefined ? [`${seqCol} >= ${job.lo}`] : []),
    ...(job.hi !== undefined ? [`${seqCol} < ${job.hi}`] : []),
  ];
  if (transaction) await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
  try {
    if (transaction && job.snapshot !== undefined)
      await client.query(`SET TRANSACTION SNAPSHOT '${job.snapshot}'`);
    let exact = true;
    if (job.state) obs.start(job.state);
    else {
      if (job.lo !== undefined) {
        const n = job.warmRows ?? 64;
        let warmed = 0;
        await copyRows(
          client,
          `SELECT ${list} FROM ${from} WHERE ${seqCol} < ${job.lo} AND ${seqCol} >= (SELECT min(s) FROM (SELECT ${seqCol} AS s FROM ${from} WHERE ${seqCol} < ${job.lo} ORDER BY ${seqCol} DESC LIMIT ${n}) w) ORDER BY ${seqCol}`,
          t.row,
          (b) => {
            for (let k = 0; k < b.items.length; k++) obs.warm(b.items[k]!, b.hashes![k]);
            warmed += b.items.length;
          },
        );
        exact = warmed < n;
      }
      obs.start();
    }
    await copyRows(
      client,
      `SELECT ${list} FROM ${from}${where.length ? ` WHERE ${where.join(' AND ')}` : ''} ORDER BY ${seqCol}`,
      t.row,
      (b) => {
        for (let k = 0; k < b.items.length; k++) obs.observe(b.items[k]!, b.hashes![k]);
      },
    );
    if (transaction) await client.query('COMMIT');
    return obs.summary({ file: t.describe, start: job.index, end: job.index + 1, lines: 0 }, exact);
  } catch (e) {
    if (transaction) await client.query('ROLLBACK').catch(() => undefined);
    throw e;
  }
}
