/** Flaw modes of the reference service: parsing and the one-sentence story of each. */
import { UsageError } from '../errors.ts';
import { FLAW_MODES, type FlawMode } from '../scenario/vocabulary.ts';

export type { FlawMode };

/** The text field the truncate-payload flaw pushes payloads through (bytes of JSON text). */
export const TRUNCATE_PAYLOAD_BYTES = 128;

/** What each flaw reproduces, as the README and `serve --help` say it. */
export const FLAW_DESCRIPTIONS: Record<FlawMode, string> = {
  'ack-before-commit':
    'answers 201 as soon as the row is inserted and commits afterwards, so a commit that fails (crash, lost connection, deferred constraint) leaves an acknowledged event missing',
  'async-commit':
    'runs with synchronous_commit = off, so a database crash loses the last acknowledged entries whose WAL was not yet flushed',
  'no-idempotency':
    'drops the unique event_id constraint and the lookup, so a client retry after a timeout stores the event twice',
  'unlocked-append':
    'reads the head without locking it and takes seq from a sequence, so concurrent appends link to the same predecessor and fork the chain',
  'truncate-payload': `pushes the payload through a ${TRUNCATE_PAYLOAD_BYTES}-byte text field, so a longer payload is silently cut (and the cut text is what gets hashed)`,
  mutable:
    'creates no immutability triggers and grants the service role UPDATE and DELETE, so entries can be rewritten in place',
  'api-delete': 'DELETE /events/{event_id} removes the entry (a "purge" endpoint), and the schema lets it',
  'crash-on-db-error':
    'exits on its first database error once it is serving (no reconnect, no supervisor), so a database outage leaves the log service dead after the database is back',
  'late-visible':
    'acknowledges a write once it is in an in-memory queue and appends it about a second later (AUDITLOG_LATE_VISIBLE_MS), holding the queue while the database is unreachable, so an acknowledged event is not readable for a while (longer during an outage)',
  'stale-head-cache':
    'keeps the head (seq, hash) in memory and updates it before commit, so a failed commit, a restored database or a second replica makes later appends break the chain',
  'app-clock':
    "stamps ts from the service's own clock instead of the database's clock_timestamp(), so a step of the service host's clock (NTP, a VM resumed) makes ts go backwards along seq and lie outside the time the write happened",
};

export function isFlawMode(name: string): name is FlawMode {
  return (FLAW_MODES as readonly string[]).includes(name);
}

/** `a,b` (spaces allowed, empty means none) -> flaw names, or a UsageError naming the bad one. */
export function parseFlaws(text: string | undefined): FlawMode[] {
  if (text === undefined) return [];
  const out: FlawMode[] = [];
  for (const raw of text.split(',')) {
    const name = raw.trim();
    if (name === '' || name === 'none') continue;
    if (!isFlawMode(name)) {
      throw new UsageError(`unknown flaw mode "${name}"`, {
        hint: `known flaw modes: ${FLAW_MODES.join(', ')}`,
      });
    }
    if (!out.includes(name)) out.push(name);
  }
  return out;
}
