/**
 * Ranges of one JSONL log verified by separate processes or machines, then merged (docs/scan.md,
 * "Range summaries"): `summarizeRange` is one range job (`scan SOURCE --range A..B --summary-out
 * FILE`), `mergeSource` turns the summaries of every range into a LogSource that scanLog joins as
 * it joins its own workers' ranges (range-merge.ts), so a merge gives the result of one scan.
 */
import { createHash } from 'node:crypto';
import { closeSync, openSync, readSync, statSync } from 'node:fs';
import { UsageError } from '../errors.ts';
import { buildLedger } from './checks/ledger.ts';
import type { RangeSpec } from './range-merge.ts';
import { type RangeContext, rangeContextOf, scanRange } from './range-scan.ts';
import { REFERENCE_RECIPE_ID } from './recipe.ts';
import { jsonlSource } from './sources/jsonl.ts';
import type { SourceIdentity, SummaryFile, SummaryInputs } from './summary-file.ts';
import type { CheckpointSet, LedgerOp, LogSource, SourceItem } from './types.ts';

/** `--range`: bytes `A..B` (B empty: to the end) or part `K/N` (0-based) of the file. */
export type RangeRequest = { start: number; end?: number } | { part: number; parts: number };

export function parseRange(text: string): RangeRequest {
  const bytes = /^(\d+)\.\.(\d*)$/.exec(text);
  if (bytes) {
    const start = Number(bytes[1]);
    const end = bytes[2] === '' ? undefined : Number(bytes[2]);
    if (!Number.isSafeInteger(start) || (end !== undefined && (!Number.isSafeInteger(end) || end < start)))
      throw new UsageError(`--range ${text}: expected A..B with 0 <= A <= B (byte offsets)`);
    return end === undefined ? { start } : { start, end };
  }
  const part = /^(\d+)\/(\d+)$/.exec(text);
  if (part) {
    const k = Number(part[1]);
    const n = Number(part[2]);
    if (n < 1 || k >= n || !Number.isSafeInteger(n))
      throw new UsageError(`--range ${text}: expected K/N with 0 <= K < N (part K of N equal parts)`);
    return { part: k, parts: n };
  }
  throw new UsageError(
    `--range ${text}: expected A..B (byte offsets, B may be empty) or K/N (part K of N, from 0)`,
    {
      hint: 'e.g. --range 0..1048576, --range 1048576.., --range 2/4',
    },
  );
}

const HEAD_BYTES = 64 * 1024;

function statFile(file: string): number {
  let st: ReturnType<typeof statSync>;
  try {
    st = statSync(file);
  } catch (e) {
    throw new UsageError(
      `${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      {
        cause: e,
      },
    );
  }
  if (!st.isFile()) throw new UsageError(`${file}: not a regular file`);
  return st.size;
}

/** Size and a digest of the first 64 KiB: the same log wherever it is read. */
export function sourceIdentity(file: string): SourceIdentity {
  const size = statFile(file);
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(Math.min(HEAD_BYTES, size));
    let got = 0;
    while (got < buf.length) {
      const n = readSync(fd, buf, got, buf.length - got, got);
      if (n === 0) break;
      got += n;
    }
    if (buf.length >= 2 && buf[0] === 0x1f && buf[1] === 0x8b)
      throw new UsageError(`${file}: gzip-compressed: range scans read a plain JSONL file`, {
        hint: 'decompress it first (gunzip -k), then scan the ranges of the plain file',
      });
    return { path: file, size, headSha256: createHash('sha256').update(buf.subarray(0, got)).digest('hex') };
  } finally {
    closeSync(fd);
  }
}

/** The first line start at or after `at` (0, just after a newline, or the file's size). */
function lineStartFrom(fd: number, at: number, size: number): number {
  if (at <= 0) return 0;
  if (at >= size) return size;
  const buf = Buffer.allocUnsafe(1 << 16);
  for (let pos = at - 1; pos < size; ) {
    const n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos);
    if (n === 0) break;
    const i = buf.subarray(0, n).indexOf(10);
    if (i >= 0) return pos + i + 1;
    pos += n;
  }
  return size;
}

/**
 * The bytes a request covers: the lines that start in [A, B). Adjacent requests (A..B, B..C; or
 * K/N for every K) tile the file exactly, wherever their edges fall inside a line.
 */
export function resolveRange(file: string, size: number, r: RangeRequest): { start: number; end: number } {
  const [a, b] =
    'parts' in r
      ? [Math.floor((size * r.part) / r.parts), Math.floor((size * (r.part + 1)) / r.parts)]
      : [r.start, r.end ?? size];
  const fd = openSync(file, 'r');
  try {
    return { start: lineStartFrom(fd, a, size), end: lineStartFrom(fd, Math.min(b, size), size) };
  } finally {
    closeSync(fd);
  }
}

/** The range context and its digest for these inputs (a merge must be given the same ones). */
export function rangeInputs(
  history: LedgerOp[] | undefined,
  checkpoints: CheckpointSet | undefined,
): { context: RangeContext; inputs: SummaryInputs } {
  const ledger = history ? buildLedger(history) : undefined;
  const context = rangeContextOf(ledger, checkpoints, undefined);
  const sha256 = createHash('sha256')
    .update(JSON.stringify({ ops: context.ledgerOps ?? null, checkpoints: checkpoints ?? null }))
    .digest('hex');
  return {
    context,
    inputs: { history: history !== undefined, checkpoints: checkpoints !== undefined, sha256 },
  };
}

export interface SummarizeOptions {
  file: string;
  range: RangeRequest;
  history?: LedgerOp[];
  checkpoints?: CheckpointSet;
  /** Lines before the range read to guess the chain state at its start (default 64; tests make it 0). */
  warmLines?: number;
}

/** One range job: verifies the range on this thread and returns its summary. */
export function summarizeRange(opts: SummarizeOptions): SummaryFile {
  const source = sourceIdentity(opts.file);
  const { start, end } = resolveRange(opts.file, source.size, opts.range);
  const { context, inputs } = rangeInputs(opts.history, opts.checkpoints);
  let summary: SummaryFile['summary'];
  try {
    summary = scanRange(
      { file: opts.file, start, end, ...(opts.warmLines !== undefined ? { warmLines: opts.warmLines } : {}) },
      context,
    );
  } catch (e) {
    throw new UsageError(`${opts.file}: bytes ${start}..${end} could not be read: ${(e as Error).message}`, {
      cause: e,
    });
  }
  return { source, recipe: REFERENCE_RECIPE_ID, inputs, summary };
}

export interface MergeOptions {
  /** Names of the summaries (file paths), for messages; same order as `files`. */
  names: string[];
  /** What the merge was given (rangeInputs of its --history and --checkpoints). */
  inputs: SummaryInputs;
  /** Where the log is on this machine, when not at the path the summaries name. */
  sourcePath?: string;
}

const flag = (i: SummaryInputs) =>
  [i.history ? '--history' : '', i.checkpoints ? '--checkpoints' : ''].filter(Boolean).join(' and ') ||
  'neither --history nor --checkpoints';

/**
 * The summaries of every range of one log as a LogSource for scanLog. Checks first that they are
 * of one log, one recipe and one set of inputs, and that their ranges tile the file (no overlap,
 * no gap). The log itself is read only when the merge needs it: to confirm repeated event-id
 * fingerprints, or to verify again a range whose guessed start state was wrong.
 */
export function mergeSource(files: SummaryFile[], opts: MergeOptions): LogSource {
  if (files.length === 0) throw new UsageError('scan merge: no range summary given');
  const at = files.map((f, i) => ({ f, name: opts.names[i] ?? `summary ${i + 1}` }));
  const first = at[0]!;
  for (const { f, name } of at) {
    if (f.recipe !== REFERENCE_RECIPE_ID)
      throw new UsageError(
        `${name}: hash recipe "${f.recipe}", scan merge joins "${REFERENCE_RECIPE_ID}" ranges only`,
      );
    if (f.source.size !== first.f.source.size || f.source.headSha256 !== first.f.source.headSha256)
      throw new UsageError(
        `${name} and ${first.name} are summaries of different logs (${f.source.path}: ${f.source.size} bytes, head ${f.source.headSha256.slice(0, 12)}; ${first.f.source.path}: ${first.f.source.size} bytes, head ${first.f.source.headSha256.slice(0, 12)})`,
      );
    if (f.inputs.sha256 !== opts.inputs.sha256)
      throw new UsageError(
        `${name} was made with ${flag(f.inputs)} ${f.inputs.history || f.inputs.checkpoints ? `(digest ${f.inputs.sha256.slice(0, 12)})` : ''}, but the merge was given ${flag(opts.inputs)}${opts.inputs.history || opts.inputs.checkpoints ? ` (digest ${opts.inputs.sha256.slice(0, 12)})` : ''}`.replace(
          /\s+,/,
          ',',
        ),
        { hint: 'give the merge the same --history and --checkpoints files as every range job' },
      );
  }
  at.sort((x, y) => x.f.summary.start - y.f.summary.start || x.f.summary.end - y.f.summary.end);
  const size = first.f.source.size;
  let end = 0;
  let prevName = '';
  for (const { f, name } of at) {
    const s = f.summary;
    if (s.start > end)
      throw new UsageError(
        `the summaries leave a gap: bytes ${end}..${s.start} are in none of them (${prevName ? `after ${prevName}, ` : ''}before ${name})`,
        { hint: 'give every range of the log: adjacent ranges A..B and B..C, or K/N for every K' },
      );
    if (s.start < end)
      throw new UsageError(
        `the summaries overlap: ${name} (bytes ${s.start}..${s.end}) and ${prevName} (ending at byte ${end})`,
        { hint: 'give each range once: adjacent ranges A..B and B..C, or K/N for every K' },
      );
    end = s.end;
    prevName = name;
  }
  if (end !== size)
    throw new UsageError(
      `the summaries leave a gap: bytes ${end}..${size} (the end of the log) are in none of them`,
      {
        hint: 'give every range of the log: adjacent ranges A..B and B..C, or K/N for every K',
      },
    );

  const file = opts.sourcePath ?? first.f.source.path;
  const beforeReread = (why: string) => {
    let id: SourceIdentity;
    try {
      id = sourceIdentity(file);
    } catch (e) {
      throw new UsageError(`scan merge must read the log ${why}, but ${(e as Error).message}`, {
        hint: 'pass --source PATH where the log is on this machine',
        cause: e,
      });
    }
    if (id.size !== size || id.headSha256 !== first.f.source.headSha256)
      throw new UsageError(
        `scan merge must read the log ${why}, but ${file} is not the log the summaries are of`,
        {
          hint: 'pass --source PATH where the log is on this machine',
        },
      );
  };
  const ranges: RangeSpec = {
    file,
    size,
    workers: 0,
    summaries: at.map((x) => x.f.summary),
    beforeReread,
  };
  async function* batches(signal?: AbortSignal): AsyncIterable<SourceItem[]> {
    beforeReread('to confirm repeated event ids (their fingerprints match)');
    const log = await jsonlSource(file, { workers: 0 });
    yield* log.batches!(signal);
  }
  // scanLog joins the ranges: the item streams of a merge source are never iterated.
  const notRead = (): AsyncIterable<never> => ({
    [Symbol.asyncIterator]() {
      throw new Error('scan merge: the items of a merge source are not read (scanLog joins its ranges)');
    },
  });
  return {
    describe: first.f.source.path,
    ranges,
    batches,
    entries: notRead,
    referenceHashedBatches: notRead,
  };
}
