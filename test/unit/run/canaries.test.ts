import { describe, expect, it } from 'vitest';
import { seededRandom, uniform } from '../../../src/random.ts';
import { CANARY_NAMES, runCanaries } from '../../../src/run/canaries.ts';
import { referenceEntries } from '../../../src/scan/generate.ts';
import { CanonicalEntry } from '../../../src/scan/line-items.ts';
import { referenceRecipe } from '../../../src/scan/recipe.ts';
import { scanEntries } from '../../../src/scan/scan.ts';
import type { LogEntry } from '../../../src/scan/types.ts';

const recipe = referenceRecipe();
const rechain = (es: LogEntry[], from: number) => {
  for (let i = from; i < es.length; i++) {
    const e = es[i] as LogEntry;
    e.prevHash = i === 0 ? recipe.genesis : (es[i - 1] as LogEntry).hash;
    e.hash = recipe.hash(e.prevHash, e);
  }
};
const realChecks = async (es: LogEntry[]) => (await scanEntries(es, { recipe })).findings;

describe('canaries', () => {
  const log = [...referenceEntries({ count: 200 })];

  it('the real checks catch every canary, wherever it is planted', async () => {
    for (const seed of [1, 2, 3]) {
      const rnd = seededRandom(seed);
      const { results, skipped } = await runCanaries(log, realChecks, {
        pick: (n) => Math.floor(uniform(rnd) * n),
        rechain,
      });
      expect(skipped).toBeUndefined();
      expect(results.map((r) => r.name)).toEqual(CANARY_NAMES);
      for (const r of results) expect(r, r.name).toMatchObject({ caught: true });
    }
  });

  it('catches every canary in entries that keep their payload as canonical text behind a getter (the JSONL fast path and the Postgres source: CanonicalEntry)', async () => {
    const lazy = log.map(
      (e) =>
        new CanonicalEntry(
          e.seq,
          e.eventId,
          e.ts,
          e.actor,
          e.action,
          JSON.stringify(e.payload),
          e.prevHash,
          e.hash,
          undefined,
          JSON.stringify(e.payload, null, 1),
        ),
    );
    const { results, skipped } = await runCanaries(lazy, realChecks, { pick: () => 17, rechain });
    expect(skipped).toBeUndefined();
    for (const r of results) expect(r, r.name).toMatchObject({ caught: true });
  });

  it('a verifier that always passes is caught: every canary is missed', async () => {
    const { results } = await runCanaries(log, async () => [], { pick: () => 10, rechain });
    expect(results.every((r) => !r.caught)).toBe(true);
  });

  it('a verifier that flags everything is caught too: findings already in the clean log do not count', async () => {
    const everything = async (es: LogEntry[]) =>
      es.map((e) => ({
        kind: 'broken-chain' as const,
        severity: 'violation' as const,
        message: 'x',
        check: 'x',
        seq: e.seq,
      }));
    const { results } = await runCanaries(log, everything, { pick: () => 10, rechain });
    expect(results.filter((r) => r.caught).length).toBeLessThan(results.length);
  });

  it('a verifier without a duplicate check misses the reused id canary only', async () => {
    const noDup = async (es: LogEntry[]) => (await realChecks(es)).filter((f) => f.kind !== 'duplicate');
    const { results } = await runCanaries(log, noDup, { pick: () => 50, rechain });
    expect(results.filter((r) => !r.caught).map((r) => r.name)).toEqual(['reused event id']);
  });

  it('needs at least three entries', async () => {
    const r = await runCanaries(log.slice(0, 2), realChecks, { pick: () => 0, rechain });
    expect(r.skipped).toMatch(/canaries need 3/);
  });
});
