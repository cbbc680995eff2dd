/**
 * The main side of range-parallel verification (range-scan.ts): cut a JSONL file into ranges of
 * whole lines, have workers verify them, and join their summaries in log order into the checks of
 * one scan, so that the findings are those of the one-thread scan, finding for finding.
 *
 * Joining range r: its start chain state must be the true state at its start (the end state of
 * range r - 1 as joined); a guessed one that differs makes the range be verified again from the
 * true state (rare: a fork or long damage right before the cut). Then its findings are emitted
 * (line numbers shifted by the lines before the range), its ledger and checkpoint events replayed
 * into the real checks, its fingerprints handed to the duplicate check (sorted together once a core is free and at the end), and its end state becomes
 * the true state for the next range. After the last range, the chain check holds that state and
 * the scan's finish() calls run as on one thread.
 */

import { closeSync, openSync, readSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import type { ChainCheck, ChainState } from './checks/chain.ts';
import type { Check } from './checks/check.ts';
import { type Emit, where } from './checks/check.ts';
import type { CheckpointCheck } from './checks/checkpoint.ts';
import { ScanWorkerPool } from './parallel.ts';
import type { RangeContext, RangeJob, RangeSummary } from './range-scan.ts';
import { RANGE_SUMMARY_VERSION, scanRange } from './range-scan.ts';
import type { RangeMessage } from './scan-worker.ts';
import type { Finding, LogEntry, SourceItem } from './types.ts';

/** What a JSONL source offers for a range scan (jsonlSource sets it for plain files of the reference format). */
export interface RangeSpec {
  file: string;
  size: number;
  /** Worker threads; default os.availableParallelism(). */
  workers: number;
  /** Bytes a range; default: the file cut into 8 ranges a worker, each 4..64 MiB. */
  rangeBytes?: number;
  /** Lines read before a range to guess its chain state (tests make it small). */
  warmLines?: number;
  /** Bytes a read inside a range (tests make it small). */
  readBytes?: number;
  /**
   * Ranges already verified elsewhere (scan merge): joined in this order, no workers. A range
   * whose guessed start state proves wrong is verified again here, after `beforeReread` (which
   * throws when the file cannot be read as the same log).
   */
  summaries?: RangeSummary[];
  beforeReread?: (why: string) => void;
}

/** Cut points: byte offsets of line starts, from 0 to size (each range is [cuts[i], cuts[i+1])). */
export function planRanges(file: string, size: number, rangeBytes: number): number[] {
  const cuts = [0];
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.allocUnsafe(1 << 16);
    for (let nominal = rangeBytes; nominal < size; ) {
      // the first line start after `nominal`
      let at = nominal;
      let cut = -1;
      while (at < size) {
        const n = readSync(fd, buf, 0, Math.min(buf.length, size - at), at);
        if (n === 0) break;
        const i = buf.subarray(0, n).indexOf(10);
        if (i >= 0) {
          cut = at + i + 1;
          break;
        }
        at += n;
      }
      if (cut < 0 || cut >= size) break;
      if (cut > cuts[cuts.length - 1]!) cuts.push(cut);
      nominal = Math.max(cut, nominal + rangeBytes);
    }
  } finally {
    closeSync(fd);
  }
  cuts.push(size);
  return cuts;
}

export function defaultRangeBytes(size: number, workers: number): number {
  return Math.min(64 * 2 ** 20, Math.max(4 * 2 ** 20, Math.ceil(size / (workers * 8))));
}

function shiftState(s: ChainState, by: number): ChainState {
  if (s.held?.line === undefined || by === 0) return s;
  return { ...s, held: { ...s.held, line: s.held.line + by } };
}

function withoutFork(s: ChainState): ChainState {
  const { lastForkAt: _, ...rest } = s;
  return rest;
}

export interface MergeChecks {
  emit: Emit;
  chain: ChainCheck;
  duplicate: Check & { observeRun(pairs: Uint32Array): void; compactRuns?(): void };
  ledger?: Check;
  checkpoint?: CheckpointCheck;
}

/** Joins range summaries, in log order, into the checks of one scan. */
export class RangeMerger {
  entries = 0;
  unreadable = 0;
  firstSeq: number | undefined;
  lastSeq: number | undefined;
  /** Lines before the next range. */
  lineOffset = 0;
  /** Byte where the next range must start. */
  nextStart = 0;
  /** Ranges verified again from the true state. */
  reruns = 0;
  private state: ChainState;

  constructor(private readonly c: MergeChecks) {
    this.state = c.chain.exportState();
  }

  /**
   * The true start state for `s` when its own start state is not it (verify the range again
   * from the returned state, line numbers local to it); undefined: `s` can be joined.
   */
  check(s: RangeSummary): ChainState | undefined {
    if (s.version !== RANGE_SUMMARY_VERSION)
      throw new Error(
        `range summary version ${s.version}: this auditchaos reads version ${RANGE_SUMMARY_VERSION}`,
      );
    if (s.start !== this.nextStart)
      throw new Error(
        `range ${s.start}..${s.end} does not start where the previous one ended (byte ${this.nextStart})`,
      );
    if (s.startExact) return undefined;
    const truth = this.state;
    const guess = shiftState(s.startState, this.lineOffset);
    const same = JSON.stringify(withoutFork(truth)) === JSON.stringify(withoutFork(guess));
    let forkSame: boolean;
    if (guess.lastForkAt !== undefined) forkSame = guess.lastForkAt === truth.lastForkAt;
    else {
      const t = truth.lastForkAt ?? Number.NEGATIVE_INFINITY;
      forkSame = s.forkReads.every((seq) => seq - t > 16);
    }
    return same && forkSame ? undefined : shiftState(truth, -this.lineOffset);
  }

  /** Joins `s` (check(s) returned undefined, or `s` was verified from the state it returned). */
  join(s: RangeSummary): void {
    const off = this.lineOffset;
    const { emit, ledger, checkpoint, duplicate } = this.c;
    for (const ev of s.events) {
      if ('f' in ev) emit(off ? shiftFinding(ev.f, off) : ev.f);
      else if ('present' in ev) {
        const p = ev.present;
        const item: Partial<LogEntry> = { eventId: p.eventId };
        if (p.seq !== undefined) item.seq = p.seq;
        if (p.line !== undefined) item.line = p.line + off;
        ledger?.observe(item as SourceItem);
      } else {
        const cp = ev.cp;
        const item: Record<string, unknown> = cp.unreadable
          ? { unreadable: true, reason: '', seq: cp.seq }
          : { seq: cp.seq, hash: cp.hash, eventId: cp.eventId };
        if (cp.line !== undefined) item.line = cp.line + off;
        checkpoint?.observe(item as unknown as SourceItem);
      }
    }
    duplicate.observeRun(s.fingerprints);
    if (s.maxSeq !== undefined) checkpoint?.noteSeq(s.maxSeq);
    this.entries += s.entries;
    this.unreadable += s.unreadable;
    if (s.firstSeq !== undefined && this.firstSeq === undefined) this.firstSeq = s.firstSeq;
    if (s.lastSeq !== undefined) this.lastSeq = s.lastSeq;
    const end = shiftState(s.endState, off);
    if (end.lastForkAt === undefined && this.state.lastForkAt !== undefined)
      end.lastForkAt = this.state.lastForkAt;
    this.state = end;
    this.lineOffset += s.lines;
    this.nextStart = s.end;
  }

  /** Sorts the fingerprints joined so far now (a core is free), leaving finish() less to do. */
  compactFingerprints(): void {
    this.c.duplicate.compactRuns?.();
  }

  /** After the last range: the chain check continues from the joined state (its finish() runs next). */
  done(): void {
    this.c.chain.importState(this.state);
  }
}

/** A finding of a range with its line numbers made the log's. */
function shiftFinding(f: Finding, by: number): Finding {
  if (f.line === undefined) return f;
  const local = where(f);
  const g: Finding = { ...f, line: f.line + by };
  if (f.message.startsWith(local)) g.message = where(g) + f.message.slice(local.length);
  return g;
}

export interface RangeRunOptions {
  signal?: AbortSignal | undefined;
  /** After each joined range. */
  onJoined?: (m: RangeMerger) => void;
}

/** Verifies every range of `spec` with a pool of workers and joins them into `merger`, in order. */
export async function runRanges(
  spec: RangeSpec,
  context: RangeContext,
  merger: RangeMerger,
  opts: RangeRunOptions = {},
): Promise<void> {
  if (spec.summaries) {
    joinGiven(spec, spec.summaries, context, merger, opts);
    return;
  }
  const rangeBytes = spec.rangeBytes ?? defaultRangeBytes(spec.size, spec.workers);
  const cuts = planRanges(spec.file, spec.size, rangeBytes);
  const jobs: RangeJob[] = [];
  for (let i = 0; i + 1 < cuts.length; i++) {
    const job: RangeJob = { file: spec.file, start: cuts[i]!, end: cuts[i + 1]! };
    if (spec.warmLines !== undefined) job.warmLines = spec.warmLines;
    if (spec.readBytes !== undefined) job.readBytes = spec.readBytes;
    jobs.push(job);
  }
  await withRangePool(new ScanWorkerPool(spec.workers), async (pool) => {
    await Promise.all(
      Array.from({ length: pool.size }, (_, i) =>
        pool.send(i, { type: 'context', context } satisfies RangeMessage),
      ),
    );
    const results: Promise<RangeSummary>[] = [];
    let sent = 0;
    let joined = 0;
    const run = (i: number, job: RangeJob) =>
      pool
        .send<{ summary?: RangeSummary; error?: string }>(i, { type: 'range', job } satisfies RangeMessage)
        .then((r) => {
          if (r.error !== undefined || !r.summary) throw new Error(r.error ?? 'no summary');
          return r.summary;
        });
    const idlest = () => {
      let best = 0;
      for (let i = 1; i < pool.size; i++) if (pool.pending(i) < pool.pending(best)) best = i;
      return best;
    };
    // Two jobs queued a worker, and no more than a few summaries waiting to be joined.
    const feed = () => {
      while (sent < jobs.length && sent < joined + 3 * pool.size) {
        const w = idlest();
        if (pool.pending(w) >= 2) return;
        const p = run(w, jobs[sent]!);
        p.then(feed, () => undefined);
        results[sent++] = p;
      }
    };
    feed();
    const cores = availableParallelism();
    const busy = () => {
      let n = 0;
      for (let i = 0; i < pool.size; i++) if (pool.pending(i) > 0) n++;
      return n;
    };
    for (let r = 0; r < jobs.length; r++) {
      opts.signal?.throwIfAborted();
      let s = await results[r]!;
      delete results[r];
      const truth = merger.check(s);
      stats.ranges++;
      if (truth) {
        merger.reruns++;
        stats.reruns++;
        s = await run(idlest(), { ...jobs[r]!, state: truth });
      }
      merger.join(s);
      joined++;
      feed();
      // Every range is out and a core is free (a worker has nothing left, or the pool leaves one
      // to this thread): sort the fingerprints joined so far while the last ranges run, so that
      // the duplicate check's finish has only theirs to sort and look up (2 workers, 1M entries:
      // its part of the finish ~90 ms -> ~17 ms).
      if (sent === jobs.length && joined < jobs.length && busy() < cores) merger.compactFingerprints();
      opts.onJoined?.(merger);
    }
    merger.done();
  });
}

/** Runs fn with a pool of range workers (a file's or a table's), counted while alive, closed after. */
export async function withRangePool<T>(
  pool: ScanWorkerPool,
  fn: (pool: ScanWorkerPool) => Promise<T>,
): Promise<T> {
  rangeWorkersLive += pool.size;
  try {
    return await fn(pool);
  } finally {
    rangeWorkersLive -= pool.size;
    await pool.close();
  }
}

/** Joins summaries made elsewhere, in log order; a wrong guess is verified again on this thread. */
function joinGiven(
  spec: RangeSpec,
  summaries: RangeSummary[],
  context: RangeContext,
  merger: RangeMerger,
  opts: RangeRunOptions,
): void {
  for (let s of summaries) {
    opts.signal?.throwIfAborted();
    const truth = merger.check(s);
    stats.ranges++;
    if (truth) {
      merger.reruns++;
      stats.reruns++;
      spec.beforeReread?.(
        `to verify bytes ${s.start}..${s.end} again from the chain state at their start (the range's guess of it was wrong: damage or a fork across the cut)`,
      );
      s = scanRange({ file: spec.file, start: s.start, end: s.end, state: truth }, context);
    }
    merger.join(s);
    opts.onJoined?.(merger);
  }
  merger.done();
}

const stats = { ranges: 0, reruns: 0 };
/** Ranges joined and ranges verified again (a wrong guess of the start state) since the process started. */
export function rangeStats(): Readonly<typeof stats> {
  return { ...stats };
}

let rangeWorkersLive = 0;
/** Range workers alive now (tests check none leak). */
export function liveRangeWorkers(): number {
  return rangeWorkersLive;
}
