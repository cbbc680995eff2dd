/**
 * The main side of a PostgreSQL table verified in seq ranges (DESIGN.md, "Scanning at scale"):
 * one transaction exports its snapshot, the table's seq span is cut into ranges, a pool of workers
 * (sources/pg-range-worker.ts, each with its own connection in that snapshot) verifies them, and
 * their summaries are joined in seq order by range-merge.ts's RangeMerger, the join of the JSONL
 * ranges, so that the findings are those of one ORDER BY seq scan, finding for finding. A range
 * whose guessed start state proves wrong is verified again on the main thread's connection.
 *
 * Only tables whose seq is an integer column, unique and never NULL, are cut (postgresSource
 * decides): ties or NULLs in seq have no order two queries would agree on.
 */

import { availableParallelism } from 'node:os';
import type pg from 'pg';
import { ScanWorkerPool } from '../parallel.ts';
import { type RangeMerger, type RangeRunOptions, withRangePool } from '../range-merge.ts';
import type { RangeContext, RangeSummary } from '../range-scan.ts';
import { PG_RANGE_WORKER, scanWorkerCode } from '../worker-code.ts';
import { type SeqRangeJob, type SeqRangeTable, scanSeqRange } from './pg-range-scan.ts';
import type { SeqRangeMessage } from './pg-range-worker.ts';
import { connect, prepareSession } from './postgres.ts';

export interface SeqRangeSpec {
  table: SeqRangeTable;
  /** The seq column's name and type (seqRangeFacts, checked again in the scan's snapshot). */
  seqName: string;
  seqType: string;
  /** Worker threads; default os.availableParallelism(). */
  workers?: number;
  /** Ranges; default 4 a worker. */
  ranges?: number;
  /** Rows read before a range to guess its chain state (tests make it small). */
  warmRows?: number;
}

/** Cut points of [min, max]: ranges of about equal seq span (decimal strings, exact for bigint). */
export function seqCuts(min: string, max: string, ranges: number): string[] {
  const lo = BigInt(min);
  const span = BigInt(max) - lo + 1n;
  const n = BigInt(Math.max(1, ranges));
  const cuts: string[] = [];
  for (let i = 1n; i < n; i++) {
    const c = lo + (span * i) / n;
    if (cuts.length === 0 ? c > lo : c > BigInt(cuts[cuts.length - 1]!)) cuts.push(c.toString());
  }
  return cuts;
}

const INTEGER_TYPES = new Set(['smallint', 'integer', 'bigint']);

/**
 * Whether the table's seq orders its rows totally (an integer column with a unique index on it
 * alone, and no NULL), so that range queries see the rows in the order one ORDER BY seq does.
 * `rows`: the planner's estimate of the table's size.
 */
export async function seqRangeFacts(
  client: pg.Client,
  from: string,
  seqName: string,
  seqType: string,
): Promise<{ ordered: boolean; why?: string; rows: number }> {
  const r = await client.query<{ uniq: boolean; notnull: boolean; rows: number }>(
    `SELECT EXISTS (SELECT 1 FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = i.indkey[0]
        WHERE i.indrelid = $1::regclass AND i.indisunique AND i.indisvalid AND i.indnkeyatts = 1
          AND i.indpred IS NULL AND i.indexprs IS NULL AND a.attname = $2) AS uniq,
       coalesce((SELECT attnotnull FROM pg_attribute WHERE attrelid = $1::regclass AND attname = $2), false) AS notnull,
       (SELECT reltuples FROM pg_class WHERE oid = $1::regclass)::float8 AS rows`,
    [from, seqName],
  );
  const { uniq, notnull, rows } = r.rows[0]!;
  if (!INTEGER_TYPES.has(seqType)) return { ordered: false, why: `seq is ${seqType}`, rows };
  if (!uniq) return { ordered: false, why: 'no unique index on seq alone', rows };
  if (!notnull) {
    const q = client.escapeIdentifier(seqName);
    const nulls = await client.query(`SELECT 1 FROM ${from} WHERE ${from}.${q} IS NULL LIMIT 1`);
    if (nulls.rows.length) return { ordered: false, why: 'seq is NULL in some rows', rows };
  }
  return { ordered: true, rows };
}

const stats = { ranges: 0, reruns: 0 };
/** Seq ranges joined and verified again since the process started (tests). */
export function seqRangeStats(): Readonly<typeof stats> {
  return { ...stats };
}

export async function runSeqRanges(
  spec: SeqRangeSpec,
  context: RangeContext,
  merger: RangeMerger,
  opts: RangeRunOptions = {},
): Promise<void> {
  const t = spec.table;
  const main = await connect(t.url, t.connectTimeoutMs);
  try {
    await prepareSession(main, t.row);
    await main.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    const snap = await main.query<{ s: string }>('SELECT pg_export_snapshot() AS s');
    const snapshot = snap.rows[0]!.s;
    // Checked again in the snapshot every range reads: where seq does not order the rows totally
    // (now), the whole table is one range, read on this connection as one ORDER BY seq scan.
    const facts = await seqRangeFacts(main, t.from, spec.seqName, spec.seqType);
    const span = await main.query<{ min: string | null; max: string | null }>(
      `SELECT min(${t.seqCol})::text AS min, max(${t.seqCol})::text AS max FROM ${t.from}`,
    );
    const { min, max } = span.rows[0]!;
    const workers = Math.max(1, spec.workers ?? availableParallelism());
    const cuts =
      min === null || max === null || !facts.ordered ? [] : seqCuts(min, max, spec.ranges ?? workers * 4);
    const jobs: SeqRangeJob[] = [];
    for (let i = 0; i <= cuts.length; i++) {
      const job: SeqRangeJob = { index: i, snapshot };
      if (i > 0) job.lo = cuts[i - 1]!;
      if (i < cuts.length) job.hi = cuts[i]!;
      if (spec.warmRows !== undefined) job.warmRows = spec.warmRows;
      jobs.push(job);
    }
    if (jobs.length === 1) {
      const s = await scanSeqRange(main, t, jobs[0]!, context, false);
      stats.ranges++;
      merger.join(s);
      opts.onJoined?.(merger);
      merger.done();
      await main.query('COMMIT');
      return;
    }
    await withRangePool(
      new ScanWorkerPool(Math.min(workers, jobs.length), scanWorkerCode(PG_RANGE_WORKER)),
      async (p) => {
        await Promise.all(
          Array.from({ length: p.size }, (_, i) =>
            p.send(i, { type: 'context', context, table: t } satisfies SeqRangeMessage),
          ),
        );
        const run = (i: number, job: SeqRangeJob) =>
          p
            .send<{ summary?: RangeSummary; error?: string }>(i, {
              type: 'range',
              job,
            } satisfies SeqRangeMessage)
            .then((r) => {
              if (r.error !== undefined || !r.summary) throw new Error(r.error ?? 'no summary');
              return r.summary;
            });
        // Every range is sent at once, round robin: a worker reads its ranges in turn on its connection.
        const results = jobs.map((job, i) => run(i % p.size, job));
        for (const r of results) r.catch(() => undefined);
        for (let r = 0; r < jobs.length; r++) {
          opts.signal?.throwIfAborted();
          let s = await results[r]!;
          const truth = merger.check(s);
          stats.ranges++;
          if (truth) {
            merger.reruns++;
            stats.reruns++;
            // on the main connection, inside the transaction whose snapshot every range reads
            s = await scanSeqRange(main, t, { ...jobs[r]!, state: truth }, context, false);
          }
          merger.join(s);
          opts.onJoined?.(merger);
        }
      },
    );
    merger.done();
    await main.query('COMMIT');
  } finally {
    await main.end().catch(() => undefined);
  }
}
