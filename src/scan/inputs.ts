/** Reading a scan's optional inputs: history.ndjson (the writers' ledger) and a checkpoints file. */
import { createReadStream } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { UsageError } from '../errors.ts';
import { splitLines } from './sources/lines.ts';
import type { CheckpointSet, LedgerOp } from './types.ts';

const ledgerOpSchema = z.looseObject({
  eventId: z.string().min(1),
  outcome: z.enum(['ok', 'fail', 'indeterminate', 'not-sent']),
  payloadDigest: z.string(),
  invokedAt: z.number(),
  completedAt: z.number(),
  attempts: z.number(),
  status: z.number().optional(),
  error: z.string().optional(),
  writer: z.number().optional(),
  seq: z.number().optional(),
});

const checkpointSchema = z.looseObject({
  seq: z.number().int(),
  hash: z.string(),
  ts: z.string(),
  signature: z.string(),
  observedAt: z.number().optional(),
});

const checkpointSetSchema = z.looseObject({
  publicKey: z.string().min(1),
  checkpoints: z.array(checkpointSchema),
});

/** history.ndjson: one LedgerOp a line. Lines of other kinds (with a `type` other than op) are skipped. */
export async function readHistory(file: string): Promise<LedgerOp[]> {
  const ops: LedgerOp[] = [];
  try {
    for await (const { firstLine, lines } of splitLines(createReadStream(file))) {
      for (const [i, text] of lines.entries()) {
        if (text.trim() === '') continue;
        let rec: unknown;
        try {
          rec = JSON.parse(text);
        } catch {
          throw new UsageError(`${file}:${firstLine + i}: not valid JSON`);
        }
        const type = (rec as { type?: unknown }).type;
        if (type !== undefined && type !== 'op') continue;
        const parsed = ledgerOpSchema.safeParse(rec);
        if (!parsed.success) {
          throw new UsageError(
            `${file}:${firstLine + i}: not a history op: ${parsed.error.issues[0]?.message}`,
            {
              hint: 'history.ndjson lines are {eventId, outcome, payloadDigest, invokedAt, completedAt, attempts}',
            },
          );
        }
        ops.push(parsed.data as LedgerOp);
      }
    }
  } catch (e) {
    if (e instanceof UsageError) throw e;
    throw new UsageError(`cannot read the history file ${file}: ${(e as Error).message}`, { cause: e });
  }
  return ops;
}

/** A checkpoints file: JSON {publicKey, checkpoints: [{seq, hash, ts, signature}]}. */
export async function readCheckpoints(file: string): Promise<CheckpointSet> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(`cannot read the checkpoints file ${file}: ${(e as Error).message}`, { cause: e });
  }
  let rec: unknown;
  try {
    rec = JSON.parse(text);
  } catch {
    throw new UsageError(`${file}: not valid JSON`);
  }
  const parsed = checkpointSetSchema.safeParse(rec);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new UsageError(`${file}: ${issue?.path.join('.') || 'top level'}: ${issue?.message}`, {
      hint: 'a checkpoints file is {"publicKey": "<PEM SPKI>", "checkpoints": [{seq, hash, ts, signature}]}',
    });
  }
  return parsed.data as CheckpointSet;
}
