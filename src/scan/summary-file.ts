/**
 * A range summary as a file (docs/scan.md, "Range summaries"): the versioned value that
 * `auditchaos scan SOURCE --range A..B --summary-out FILE` writes and `auditchaos scan merge`
 * reads, so that ranges of one log can be verified by separate processes or machines. JSON, one
 * object; the fingerprints are base64 of little-endian uint32 pairs. Reading checks the shape and
 * says what is wrong (exit 2), never a stack trace.
 */
import { endianness } from 'node:os';
import { z } from 'zod';
import { UsageError } from '../errors.ts';
import { RANGE_SUMMARY_VERSION, type RangeEvent, type RangeSummary } from './range-scan.ts';

export const SUMMARY_FORMAT = 'auditchaos.range-summary';

/** Which log a summary is about: the same bytes wherever it was read (path may differ by machine). */
export interface SourceIdentity {
  /** The path as the range scan was given it (the merged result's `source`). */
  path: string;
  size: number;
  /** SHA-256 hex of the first min(64 KiB, size) bytes. */
  headSha256: string;
}

/** What the ranges were checked against: the same history and checkpoints everywhere. */
export interface SummaryInputs {
  history: boolean;
  checkpoints: boolean;
  /** SHA-256 hex over the ledger ops and checkpoints as given (rangeInputsDigest). */
  sha256: string;
}

export interface SummaryFile {
  source: SourceIdentity;
  /** HashRecipe.id; range scans exist for the reference chain v1 only. */
  recipe: string;
  inputs: SummaryInputs;
  summary: RangeSummary;
}

const hex64 = z.string().regex(/^[0-9a-f]{64}$/);
const seen = z.looseObject({
  seq: z.number(),
  hash: z.string(),
  prevHash: z.string(),
  contentBad: z.boolean(),
  children: z.number().int().nonnegative(),
});
const chainState = z.looseObject({
  prev: seen.optional(),
  prevInRing: z.boolean(),
  ring: z.array(seen).max(64),
  started: z.boolean(),
  held: z.looseObject({ seq: z.number(), hash: z.string(), prevHash: z.string() }).optional(),
  heldHash: z.string().optional(),
  linkUnknown: z.boolean(),
  seqLoose: z.boolean(),
  lastForkAt: z.number().optional(),
});
const finding = z.looseObject({
  kind: z.string(),
  severity: z.string(),
  check: z.string(),
  message: z.string(),
});
const event = z.union([
  z.strictObject({ f: finding }),
  z.strictObject({
    present: z.looseObject({ eventId: z.string(), seq: z.number().optional(), line: z.number().optional() }),
  }),
  z.strictObject({ cp: z.looseObject({ seq: z.number() }) }),
]);
const count = z.number().int().nonnegative();
const fileSchema = z.strictObject({
  format: z.literal(SUMMARY_FORMAT),
  version: z.number(),
  source: z.strictObject({ path: z.string(), size: count, headSha256: hex64 }),
  recipe: z.string(),
  inputs: z.strictObject({ history: z.boolean(), checkpoints: z.boolean(), sha256: hex64 }),
  range: z.strictObject({
    start: count,
    end: count,
    lines: count,
    entries: count,
    unreadable: count,
    firstSeq: z.number().optional(),
    lastSeq: z.number().optional(),
    maxSeq: z.number().optional(),
  }),
  chain: z.strictObject({
    startExact: z.boolean(),
    startState: chainState,
    forkReads: z.array(z.number()),
    endState: chainState,
  }),
  events: z.array(event),
  fingerprints: z.string(),
});

function littleEndian(): void {
  if (endianness() !== 'LE')
    throw new UsageError('range summaries are written and read on little-endian machines only');
}

/** The file's text. */
export function encodeSummary(f: SummaryFile): string {
  littleEndian();
  const s = f.summary;
  // sorted by value in the file (a copy: the summary's own array stays in log order)
  const fp = s.fingerprints.slice();
  new BigUint64Array(fp.buffer, 0, fp.length / 2).sort();
  const range: Record<string, number> = {
    start: s.start,
    end: s.end,
    lines: s.lines,
    entries: s.entries,
    unreadable: s.unreadable,
  };
  if (s.firstSeq !== undefined) range.firstSeq = s.firstSeq;
  if (s.lastSeq !== undefined) range.lastSeq = s.lastSeq;
  if (s.maxSeq !== undefined) range.maxSeq = s.maxSeq;
  return `${JSON.stringify({
    format: SUMMARY_FORMAT,
    version: s.version,
    source: f.source,
    recipe: f.recipe,
    inputs: f.inputs,
    range,
    chain: {
      startExact: s.startExact,
      startState: s.startState,
      forkReads: s.forkReads,
      endState: s.endState,
    },
    events: s.events,
    fingerprints: Buffer.from(fp.buffer, fp.byteOffset, fp.byteLength).toString('base64'),
  })}\n`;
}

/** Reads the text of a summary file named `name` (for messages); UsageError on anything wrong. */
export function decodeSummary(text: string, name: string): SummaryFile {
  littleEndian();
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (e) {
    throw new UsageError(`${name}: not a range summary (not valid JSON: ${(e as Error).message})`, {
      hint: 'a range summary is the file written by `auditchaos scan SOURCE --range A..B --summary-out FILE`',
    });
  }
  const head = raw as { format?: unknown; version?: unknown } | null;
  if (head === null || typeof head !== 'object' || head.format !== SUMMARY_FORMAT)
    throw new UsageError(`${name}: not a range summary (no "format": "${SUMMARY_FORMAT}")`, {
      hint: 'a range summary is the file written by `auditchaos scan SOURCE --range A..B --summary-out FILE`',
    });
  if (head.version !== RANGE_SUMMARY_VERSION)
    throw new UsageError(
      `${name}: range summary version ${JSON.stringify(head.version)}, this auditchaos reads version ${RANGE_SUMMARY_VERSION}`,
      { hint: 'make every summary with the same auditchaos version as the one that merges them' },
    );
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(
      `${name}: not a valid range summary: ${issue?.path.join('.') || '(top)'}: ${issue?.message}`,
    );
  }
  const d = parsed.data;
  const bytes = Buffer.from(d.fingerprints, 'base64');
  if (bytes.length % 8 !== 0 || bytes.toString('base64') !== d.fingerprints)
    throw new UsageError(`${name}: not a valid range summary: fingerprints are not base64 of uint32 pairs`);
  const fingerprints = new Uint32Array(bytes.length / 4);
  Buffer.from(fingerprints.buffer).set(bytes);
  const r = d.range;
  if (r.start > r.end || r.end > d.source.size)
    throw new UsageError(
      `${name}: not a valid range summary: range ${r.start}..${r.end} of a ${d.source.size}-byte file`,
    );
  const summary: RangeSummary = {
    version: RANGE_SUMMARY_VERSION,
    file: d.source.path,
    start: r.start,
    end: r.end,
    lines: r.lines,
    entries: r.entries,
    unreadable: r.unreadable,
    startState: d.chain.startState as RangeSummary['startState'],
    startExact: d.chain.startExact,
    forkReads: d.chain.forkReads,
    endState: d.chain.endState as RangeSummary['endState'],
    events: d.events as RangeEvent[],
    fingerprints,
  };
  if (r.firstSeq !== undefined) summary.firstSeq = r.firstSeq;
  if (r.lastSeq !== undefined) summary.lastSeq = r.lastSeq;
  if (r.maxSeq !== undefined) summary.maxSeq = r.maxSeq;
  return { source: d.source, recipe: d.recipe, inputs: d.inputs, summary };
}
