/**
 * The verifier checks itself: each canary plants one known defect in an in-memory copy of entries
 * that were read, runs the checks on it, and requires a finding of the expected kind at the planted
 * place. A verifier that always passes (or flags everything) is caught in every run. Pure.
 */
import type { Finding, FindingKind, LogEntry } from '../scan/types.ts';
import { FindingSet } from './finding-set.ts';

export type CheckRunner = (entries: LogEntry[]) => Promise<Finding[]>;

export interface CanaryResult {
  name: string;
  caught: boolean;
  /** where it was planted */
  seq: number;
  expected: FindingKind[];
  found: string[];
}

interface Canary {
  name: string;
  expected: FindingKind[];
  plant(
    entries: LogEntry[],
    k: number,
    rechain: Rechain | undefined,
  ): { entries: LogEntry[]; seqs: number[] };
}

/** Recomputes hashes from index i on, so that a canary tests one check, not the chain check. */
export type Rechain = (entries: LogEntry[], from: number) => void;

// A source may keep an entry's payload as canonical text behind a getter (the Postgres source's
// jsonb rows): a copy holds the payload itself and not that text, which an edit would leave stale.
const clone = (e: LogEntry): LogEntry => {
  const { canonicalPayload: _, ...rest } = e;
  return { ...rest, payload: e.payload };
};

const CANARIES: Canary[] = [
  {
    name: 'edited payload',
    expected: ['broken-chain', 'partial'],
    plant: (es, k) => {
      const out = es.map(clone);
      const e = out[k] as LogEntry;
      e.payload = { canary: 'edited', was: typeof e.payload === 'object' ? 'object' : String(e.payload) };
      return { entries: out, seqs: [e.seq, e.seq + 1] };
    },
  },
  {
    name: 'deleted entry',
    expected: ['broken-chain', 'missing'],
    plant: (es, k) => {
      const out = es.map(clone);
      const [gone] = out.splice(k, 1);
      return { entries: out, seqs: [(gone as LogEntry).seq, (gone as LogEntry).seq + 1] };
    },
  },
  {
    name: 'reordered pair',
    expected: ['broken-chain'],
    plant: (es, k) => {
      const out = es.map(clone);
      const a = out[k] as LogEntry;
      out[k] = out[k + 1] as LogEntry;
      out[k + 1] = a;
      return { entries: out, seqs: [a.seq, a.seq + 1, a.seq + 2] };
    },
  },
  {
    name: 'truncated entry',
    expected: ['partial'],
    plant: (es, k, rechain) => {
      const out = es.map(clone);
      const e = out[k] as LogEntry;
      e.actor = '';
      rechain?.(out, k);
      return { entries: out, seqs: [e.seq] };
    },
  },
  {
    name: 'reused event id',
    expected: ['duplicate'],
    plant: (es, k, rechain) => {
      const out = es.map(clone);
      const e = out[k + 1] as LogEntry;
      e.eventId = (out[k] as LogEntry).eventId;
      rechain?.(out, k + 1);
      return { entries: out, seqs: [e.seq, (out[k] as LogEntry).seq] };
    },
  },
];

export const CANARY_NAMES = CANARIES.map((c) => c.name);

/** Entries a canary touches from its position k (the entry, its neighbours, the one after). */
const REACH = 3;

/**
 * Plants every canary at a seeded place in `entries` (needs at least 3) and runs `check` on each
 * copy. A canary is caught by a finding the clean copy does not have (compared by identity, so a
 * log already broken at the same place still shows the planted defect); it is planted where the
 * clean copy has no finding when there is such a place.
 */
export async function runCanaries(
  entries: LogEntry[],
  check: CheckRunner,
  opts: { pick: (n: number) => number; rechain?: Rechain },
): Promise<{ results: CanaryResult[]; skipped?: string }> {
  if (entries.length < 3)
    return { results: [], skipped: `only ${entries.length} entries were read; canaries need 3` };
  const clean = await check(entries);
  const baseline = FindingSet.of(clean);
  const flagged = new Set(clean.flatMap((f) => (f.seq === undefined ? [] : [f.seq])));
  const places: number[] = [];
  for (let k = 0; k + 2 < entries.length; k++) {
    let quiet = true;
    for (let j = k; j < Math.min(entries.length, k + REACH + 1) && quiet; j++)
      quiet = !flagged.has((entries[j] as LogEntry).seq);
    if (quiet) places.push(k);
  }
  const results: CanaryResult[] = [];
  for (const c of CANARIES) {
    const k =
      places.length > 0 ? (places[opts.pick(places.length)] as number) : opts.pick(entries.length - 2);
    const { entries: planted, seqs } = c.plant(entries, k, opts.rechain);
    const findings = baseline.newIn(await check(planted));
    const hits = findings.filter(
      (f) =>
        c.expected.includes(f.kind) &&
        ((f.seq !== undefined && seqs.includes(f.seq)) ||
          (f.eventId !== undefined && planted.some((e) => e.eventId === f.eventId && seqs.includes(e.seq)))),
    );
    results.push({
      name: c.name,
      caught: hits.length > 0,
      seq: (entries[k] as LogEntry).seq,
      expected: c.expected,
      found: findings.slice(0, 5).map((f) => `${f.kind}${f.seq !== undefined ? `@${f.seq}` : ''}`),
    });
  }
  return { results };
}
