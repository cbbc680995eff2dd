/**
 * The reference chain format v1, shared by the service (which writes it) and the scanner (which
 * verifies it): hash = SHA-256(bytes(prev_hash) || JCS({seq, event_id, ts, actor, action, payload})),
 * genesis prev_hash = 32 zero bytes, hashes as lowercase hex, ts as stored (RFC 3339 UTC, 6 digits).
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';

// The package is CommonJS with an ESM-style .d.ts: take the function whichever way it arrives.
const canonicalize = ((canonicalizeModule as unknown as { default?: unknown }).default ??
  canonicalizeModule) as (value: unknown) => string | undefined;

export const GENESIS_PREV_HASH = '0'.repeat(64);

export interface ChainFields {
  seq: number;
  eventId: string;
  ts: string;
  actor: string;
  action: string;
  payload: unknown;
}

/** RFC 8785 canonical JSON. */
export function jcs(value: unknown): string {
  const s = canonicalize(value);
  if (s === undefined) throw new TypeError('value cannot be canonicalized as JSON');
  return s;
}

export function canonicalEntryBody(e: ChainFields): string {
  return jcs({
    seq: e.seq,
    event_id: e.eventId,
    ts: e.ts,
    actor: e.actor,
    action: e.action,
    payload: e.payload,
  });
}

export function referenceHash(prevHash: string, e: ChainFields): string {
  return createHash('sha256')
    .update(Buffer.from(prevHash, 'hex'))
    .update(canonicalEntryBody(e))
    .digest('hex');
}

/** The digest the writers keep in their ledger for each payload they send. */
export function payloadDigest(payload: unknown): string {
  return createHash('sha256').update(jcs(payload)).digest('hex');
}

/** The reference timestamp text: RFC 3339 UTC with exactly 6 fractional digits. */
export const REFERENCE_TS_RE = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** Postgres expression rendering a timestamptz column in the reference form (what is hashed). */
export function pgReferenceTs(column: string): string {
  return `to_char(${column} AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}
