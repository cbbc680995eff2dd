/**
 * The ledger cross-check (when a run's history is given): every acknowledged op must be in the log
 * (else missing), every entry in the log must come from an op a writer attempted (else
 * unexpected), and every indeterminate op is reported as recovered (present) or absent.
 */
import type { LedgerOp, OpOutcome, SourceItem } from '../types.ts';
import { type Check, type Emit, finding } from './check.ts';

const CHECK = 'ledger';
const RANK: Record<OpOutcome, number> = { 'not-sent': 0, fail: 1, indeterminate: 2, ok: 3 };

export interface Ledger {
  ops: Map<string, LedgerOp>;
  /** eventId -> payload digest sent, for the partial check. */
  digests: Map<string, string>;
  counts: Record<OpOutcome, number>;
}

/** One op per event id: if an id appears in several lines, the strongest outcome wins (ok > indeterminate > fail > not-sent). */
export function buildLedger(ops: Iterable<LedgerOp>): Ledger {
  const byId = new Map<string, LedgerOp>();
  for (const op of ops) {
    const had = byId.get(op.eventId);
    if (!had || RANK[op.outcome] > RANK[had.outcome]) byId.set(op.eventId, op);
  }
  const digests = new Map<string, string>();
  const counts: Record<OpOutcome, number> = { ok: 0, fail: 0, indeterminate: 0, 'not-sent': 0 };
  for (const op of byId.values()) {
    counts[op.outcome]++;
    if (op.payloadDigest) digests.set(op.eventId, op.payloadDigest);
  }
  return { ops: byId, digests, counts };
}

/**
 * `before.lastSeq`: entries up to that seq were in the log before the run. No writer of this run
 * attempted them, so they are never unexpected, and they cannot stand in for an acknowledged event
 * of this run (an id collision must still show as missing).
 */
export function createLedgerCheck(emit: Emit, ledger: Ledger, before?: { lastSeq: number }): Check {
  const present = new Map<string, { seq?: number; line?: number }>();
  const lastSeqBefore = before?.lastSeq ?? Number.NEGATIVE_INFINITY;
  return {
    name: CHECK,
    observe(item: SourceItem) {
      const id = item.eventId;
      if (id === undefined || id === '') return;
      if (item.seq !== undefined && item.seq <= lastSeqBefore) return;
      const op = ledger.ops.get(id);
      if (op === undefined) {
        emit(
          finding('unexpected', CHECK, {
            seq: item.seq,
            line: item.line,
            eventId: id,
            message: `event id ${id} is in the log, but no writer attempted it`,
          }),
        );
        return;
      }
      if (present.has(id)) return; // a second copy is the duplicate check's business
      present.set(id, { seq: item.seq, line: item.line });
      if (op.outcome === 'fail' || op.outcome === 'not-sent') {
        emit(
          finding('unexpected', CHECK, {
            seq: item.seq,
            line: item.line,
            eventId: id,
            message:
              op.outcome === 'not-sent'
                ? `event id ${id} is in the log, but the load driver never sent it`
                : `event id ${id} is in the log, but its writer was told the write failed definitely${op.status ? ` (status ${op.status})` : ''}`,
            detail: { outcome: op.outcome, status: op.status, error: op.error },
          }),
        );
      }
    },
    finish() {
      for (const op of ledger.ops.values()) {
        const at = present.get(op.eventId);
        if (op.outcome === 'ok' && at === undefined) {
          emit(
            finding('missing', CHECK, {
              eventId: op.eventId,
              seq: op.seq,
              message: `event id ${op.eventId} was acknowledged${op.seq !== undefined ? ` as seq ${op.seq}` : ''} but is not in the log`,
              detail: { invokedAt: op.invokedAt, completedAt: op.completedAt, status: op.status },
            }),
          );
        } else if (op.outcome === 'indeterminate') {
          emit(
            finding('indeterminate', CHECK, {
              eventId: op.eventId,
              seq: at?.seq ?? op.seq,
              line: at?.line,
              message: `event id ${op.eventId} had an unknown outcome (${op.error ?? (op.status ? `status ${op.status}` : 'no answer')}); it is ${at ? 'present: recovered' : 'absent'}`,
              detail: {
                recovered: at !== undefined,
                invokedAt: op.invokedAt,
                completedAt: op.completedAt,
                status: op.status,
                error: op.error,
              },
            }),
          );
        }
      }
    },
  };
}
