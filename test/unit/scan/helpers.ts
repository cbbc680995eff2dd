import type { Check, Emit } from '../../../src/scan/checks/check.ts';
import { referenceEntries, rehash } from '../../../src/scan/generate.ts';
import { fromArray } from '../../../src/scan/sources/array.ts';
import type { Finding, LogEntry, SourceItem } from '../../../src/scan/types.ts';

/** A clean reference log of n entries, seq 1..n. */
export function makeLog(n: number, payloadBytes = 8): LogEntry[] {
  return [...referenceEntries({ count: n, payloadBytes })];
}

/** Rewrites entries from index i on so that the chain is valid again (a thorough tamperer). */
export function relinkFrom(log: LogEntry[], i: number): LogEntry[] {
  const out = log.slice();
  for (let j = i; j < out.length; j++) {
    const prev = j === 0 ? '0'.repeat(64) : out[j - 1]!.hash;
    out[j] = rehash({ ...out[j]!, prevHash: prev });
  }
  return out;
}

export async function runCheck(
  make: (emit: Emit) => Check,
  items: readonly SourceItem[],
): Promise<Finding[]> {
  const findings: Finding[] = [];
  const check = make((f) => findings.push(f));
  for (const item of items) check.observe(item);
  const src = fromArray(items);
  await check.finish(() => src.batches!());
  return findings;
}

/** Compact view for exact assertions: "kind@seq". */
export function brief(findings: Finding[]): string[] {
  return findings.map((f) => `${f.kind}@${f.seq ?? (f.line !== undefined ? `line${f.line}` : '-')}`);
}

export const POSITIONS = { first: 0, middle: 4, last: 9 } as const;
