/**
 * The partial check: records that could not be read as entries (a line that does not parse, a
 * field missing), entries whose stored text is not I-JSON (duplicate member names, lone
 * surrogates: LogEntry.textIssue), entries with a required field empty, and payloads whose digest
 * differs from the one the writer recorded in its ledger (a truncated or rewritten payload).
 */

import { createHash } from 'node:crypto';
import { jcsFast } from '../fast-jcs.ts';
import { isUnreadable, type LogEntry, type SourceItem } from '../types.ts';
import { type Check, type Emit, finding, where } from './check.ts';

const CHECK = 'partial';

export type RequiredField = 'eventId' | 'ts' | 'actor' | 'action' | 'payload' | 'prevHash' | 'hash';
export const REQUIRED_FIELDS: readonly RequiredField[] = [
  'eventId',
  'ts',
  'actor',
  'action',
  'payload',
  'prevHash',
  'hash',
];

export interface PartialCheckOptions {
  /** Fields that must be non-empty; drop prevHash/hash when the source has no hash columns. */
  required?: readonly RequiredField[];
  /** eventId -> SHA-256 hex of the JCS payload the writer sent (from the ledger). */
  payloadDigests?: ReadonlyMap<string, string>;
  /** The recipe's genesis: when it is '' an empty prev_hash is the chain's start, not a gap in the entry. */
  genesis?: string;
}

function isEmpty(field: RequiredField, e: LogEntry): boolean {
  if (field === 'payload' && e.canonicalPayload !== undefined)
    return e.canonicalPayload === 'null' || e.canonicalPayload === '""';
  const v = e[field];
  return v === '' || v === null || v === undefined;
}

export function createPartialCheck(emit: Emit, opts: PartialCheckOptions = {}): Check {
  const required = (opts.required ?? REQUIRED_FIELDS).filter(
    (f) => !(f === 'prevHash' && opts.genesis === ''),
  );
  const digests = opts.payloadDigests;
  return {
    name: CHECK,
    observe(item: SourceItem) {
      if (isUnreadable(item)) {
        emit(
          finding('partial', CHECK, {
            seq: item.seq,
            line: item.line,
            eventId: item.eventId,
            message: `${where(item)} cannot be read as an entry: ${item.reason}`,
            found: item.raw === undefined ? undefined : item.raw.slice(0, 200),
          }),
        );
        return;
      }
      if (item.textIssue) {
        const { reason, member } = item.textIssue;
        emit(
          finding('partial', CHECK, {
            seq: item.seq,
            line: item.line,
            eventId: item.eventId || undefined,
            message: `${where(item)}: ${item.textIssue.message}`,
            detail: member === undefined ? { reason } : { reason, member },
          }),
        );
        return;
      }
      let empty: RequiredField[] | undefined;
      for (const f of required) {
        if (!isEmpty(f, item)) continue;
        empty ??= [];
        empty.push(f);
      }
      if (empty) {
        emit(
          finding('partial', CHECK, {
            seq: item.seq,
            line: item.line,
            eventId: item.eventId || undefined,
            message: `${where(item)}: required field${empty.length > 1 ? 's' : ''} ${empty.join(', ')} empty`,
          }),
        );
        return;
      }
      if (digests) {
        const sent = digests.get(item.eventId);
        if (sent === undefined || sent === '') return;
        let stored: string;
        try {
          stored = createHash('sha256')
            .update(item.canonicalPayload ?? jcsFast(item.payload))
            .digest('hex');
        } catch {
          stored = '(payload is not JSON)';
        }
        if (stored !== sent) {
          emit(
            finding('partial', CHECK, {
              seq: item.seq,
              line: item.line,
              eventId: item.eventId,
              message: `${where(item)}: the stored payload's digest differs from what the writer sent (truncated or rewritten)`,
              expected: sent,
              found: stored,
            }),
          );
        }
      }
    },
    finish() {},
  };
}
