/**
 * The shape every check shares: it observes the stream one item at a time (in log order) and
 * emits findings; finish() runs after the last item. Checks are pure (no I/O): the only thing
 * they may ask for is a second read of the same log (`reread`), which the duplicate check uses
 * to confirm suspects exactly.
 */
import type { Finding, FindingKind, SourceItem } from '../types.ts';
import { SEVERITY } from '../types.ts';

export type Emit = (finding: Finding) => void;

export interface Check {
  readonly name: string;
  observe(item: SourceItem): void;
  finish(reread: () => AsyncIterable<SourceItem[]>): void | Promise<void>;
}

/** A finding with its severity filled in from the taxonomy. */
export function finding(
  kind: FindingKind,
  check: string,
  rest: Omit<Finding, 'kind' | 'severity' | 'check'>,
) {
  const f: Finding = { kind, severity: SEVERITY[kind], check, message: rest.message };
  if (rest.seq !== undefined) f.seq = rest.seq;
  if (rest.line !== undefined) f.line = rest.line;
  if (rest.eventId !== undefined) f.eventId = rest.eventId;
  if (rest.expected !== undefined) f.expected = rest.expected;
  if (rest.found !== undefined) f.found = rest.found;
  if (rest.detail !== undefined) f.detail = rest.detail;
  return f;
}

/** Where an item is, for messages: "seq 12 (line 13)". */
export function where(item: { seq?: number | undefined; line?: number | undefined }): string {
  const parts: string[] = [];
  if (item.seq !== undefined) parts.push(`seq ${item.seq}`);
  if (item.line !== undefined) parts.push(parts.length ? `(line ${item.line})` : `line ${item.line}`);
  return parts.join(' ') || 'an entry';
}
