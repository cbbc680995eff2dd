/**
 * The checkpoint check (when checkpoints are given): each signed checkpoint's Ed25519 signature
 * over the UTF-8 bytes of jcs({seq, hash, ts}) must verify against the public key, and the log must
 * still hold the entry it names with the same hash; otherwise the log was rolled back (tail
 * truncated, restored from an older state) and the finding is a rollback.
 */
import { createPublicKey, type KeyObject, verify } from 'node:crypto';
import { UsageError } from '../../errors.ts';
import { jcs } from '../reference-chain.ts';
import { type Checkpoint, type CheckpointSet, isUnreadable, type SourceItem } from '../types.ts';
import { type Check, type Emit, finding } from './check.ts';

const CHECK = 'checkpoint';

export function parsePublicKey(pem: string): KeyObject {
  try {
    const key = createPublicKey(pem);
    if (key.asymmetricKeyType !== 'ed25519') throw new Error(`a ${key.asymmetricKeyType} key, not ed25519`);
    return key;
  } catch (e) {
    throw new UsageError("the checkpoints' publicKey is not a PEM (SPKI) Ed25519 public key", { cause: e });
  }
}

export function checkpointSignatureValid(key: KeyObject, c: Checkpoint): boolean {
  try {
    const data = Buffer.from(jcs({ seq: c.seq, hash: c.hash, ts: c.ts }), 'utf8');
    return verify(null, data, key, Buffer.from(c.signature, 'base64'));
  } catch {
    return false;
  }
}

export interface CheckpointCheck extends Check {
  /** How many checkpoints had a valid signature. */
  readonly verified: number;
  /** An entry of this seq was read (it is not one a checkpoint names): where the log ends. */
  noteSeq(seq: number): void;
}

export function createCheckpointCheck(emit: Emit, set: CheckpointSet): CheckpointCheck {
  const key = parsePublicKey(set.publicKey);
  const pending = new Map<number, Checkpoint[]>();
  let verified = 0;
  let lastSeq: number | undefined;
  for (const c of set.checkpoints) {
    if (!checkpointSignatureValid(key, c)) {
      emit(
        finding('rollback', CHECK, {
          seq: c.seq,
          found: c.hash,
          message: `the checkpoint of seq ${c.seq} has an invalid signature: it cannot vouch for the log`,
          detail: { reason: 'bad-signature', checkpoint: c },
        }),
      );
      continue;
    }
    verified++;
    if (c.seq <= 0) continue; // an empty log's head: nothing to hold
    const list = pending.get(c.seq);
    if (!list) pending.set(c.seq, [c]);
    else if (!list.some((o) => o.hash === c.hash)) list.push(c); // the same head polled again
  }
  return {
    name: CHECK,
    get verified() {
      return verified;
    },
    noteSeq(seq: number) {
      if (lastSeq === undefined || seq > lastSeq) lastSeq = seq;
    },
    observe(item: SourceItem) {
      if (item.seq === undefined) return;
      if (lastSeq === undefined || item.seq > lastSeq) lastSeq = item.seq;
      const list = pending.get(item.seq);
      if (!list) return;
      if (isUnreadable(item)) {
        pending.delete(item.seq); // the entry is there but unreadable: the partial check reports it
        return;
      }
      const rest = list.filter((c) => {
        if (c.hash === item.hash) return false;
        emit(
          finding('rollback', CHECK, {
            seq: item.seq,
            line: item.line,
            eventId: item.eventId,
            expected: c.hash,
            found: item.hash,
            message: `seq ${item.seq} now has a different hash than the signed checkpoint observed at ${c.ts}: the log was rewritten or restored from an older state`,
            detail: { checkpoint: c },
          }),
        );
        return false;
      });
      if (rest.length) pending.set(item.seq, rest);
      else pending.delete(item.seq);
    },
    finish() {
      // Tail gone: one rollback, however many checkpoints saw the lost tail.
      const beyond: Checkpoint[] = [];
      for (const [seq, list] of pending) {
        if (lastSeq === undefined || seq > lastSeq) {
          beyond.push(...list);
          continue;
        }
        for (const c of list) {
          emit(
            finding('rollback', CHECK, {
              seq,
              expected: c.hash,
              message: `the log no longer holds seq ${seq}, which a signed checkpoint observed at ${c.ts}`,
              detail: { checkpoint: c },
            }),
          );
        }
      }
      if (beyond.length) {
        beyond.sort((a, b) => a.seq - b.seq);
        const first = beyond[0]!;
        const last = beyond[beyond.length - 1]!;
        emit(
          finding('rollback', CHECK, {
            seq: first.seq,
            expected: `seq ${last.seq}`,
            found: lastSeq === undefined ? 'an empty log' : `seq ${lastSeq}`,
            message: `the log ends at ${lastSeq === undefined ? 'nothing (it is empty)' : `seq ${lastSeq}`}, but signed checkpoints observed it up to seq ${last.seq} (at ${last.ts}): the tail was truncated or the log restored from an older state`,
            detail: { checkpoints: beyond.length, firstLost: first, lastLost: last },
          }),
        );
      }
    },
  };
}
