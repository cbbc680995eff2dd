/**
 * Findings compared by identity (kind, check, place, message, expected and found values), counted:
 * what a canary or a tamper probe added to a log is the difference between two scans, so a log
 * that was already broken at the same place still shows the new defect. Pure.
 */
import type { Finding } from '../scan/types.ts';

export function findingIdentity(f: Finding): string {
  return [
    f.kind,
    f.check,
    f.seq ?? '',
    f.eventId ?? '',
    f.line ?? '',
    f.message,
    f.expected ?? '',
    f.found ?? '',
  ].join('\u0000');
}

export class FindingSet {
  private readonly counts = new Map<string, number>();

  static of(findings: Iterable<Finding>): FindingSet {
    const s = new FindingSet();
    for (const f of findings) s.add(f);
    return s;
  }

  add(f: Finding): void {
    const k = findingIdentity(f);
    this.counts.set(k, (this.counts.get(k) ?? 0) + 1);
  }

  /** Removes one finding of this identity; false when there was none left (the finding is new). */
  take(f: Finding): boolean {
    const k = findingIdentity(f);
    const n = this.counts.get(k) ?? 0;
    if (n === 0) return false;
    if (n === 1) this.counts.delete(k);
    else this.counts.set(k, n - 1);
    return true;
  }

  copy(): FindingSet {
    const s = new FindingSet();
    for (const [k, n] of this.counts) s.counts.set(k, n);
    return s;
  }

  /** The findings of `after` that this set does not account for, in order. */
  newIn(after: Iterable<Finding>): Finding[] {
    const left = this.copy();
    const out: Finding[] = [];
    for (const f of after) if (!left.take(f)) out.push(f);
    return out;
  }
}
