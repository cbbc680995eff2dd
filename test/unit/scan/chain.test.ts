import { describe, expect, it } from 'vitest';
import { createChainCheck } from '../../../src/scan/checks/chain.ts';
import { rehash } from '../../../src/scan/generate.ts';
import { referenceRecipe } from '../../../src/scan/recipe.ts';
import type { LogEntry, SourceItem } from '../../../src/scan/types.ts';
import { brief, makeLog, relinkFrom, runCheck } from './helpers.ts';

const chain = (items: readonly SourceItem[]) =>
  runCheck((emit) => createChainCheck(emit, { recipe: referenceRecipe() }), items);

const N = 10;
const at = { first: 0, middle: 4, last: 9 } as const;

describe('chain check', () => {
  it('passes a clean log, an empty log and a one-entry log', async () => {
    expect(await chain(makeLog(N))).toEqual([]);
    expect(await chain([])).toEqual([]);
    expect(await chain(makeLog(1))).toEqual([]);
  });

  it('flags an edited payload (not rehashed) once, at the entry, in any position', async () => {
    for (const i of Object.values(at)) {
      const log = makeLog(N);
      log[i] = { ...log[i]!, payload: { edited: true } };
      const f = await chain(log);
      expect(brief(f)).toEqual([`broken-chain@${i + 1}`]);
      expect(f[0]!.expected).not.toEqual(f[0]!.found);
      expect(f[0]!.found).toBe(log[i]!.hash);
    }
  });

  it('flags an edited-and-rehashed entry once, at the next link', async () => {
    for (const i of [at.first, at.middle]) {
      const log = makeLog(N);
      log[i] = rehash({ ...log[i]!, actor: 'mallory' });
      expect(brief(await chain(log))).toEqual([`broken-chain@${i + 2}`]);
    }
  });

  it('flags a deleted entry as one gap, not a cascade', async () => {
    const middle = makeLog(N).filter((e) => e.seq !== 5);
    const f = await chain(middle);
    expect(brief(f)).toEqual(['broken-chain@6']);
    expect(f[0]!.message).toMatch(/seq 5 is missing/);
    expect(f[0]!.expected).toBe('5');
    const first = makeLog(N).slice(1);
    expect(brief(await chain(first))).toEqual(['broken-chain@2']);
    // The last entry's deletion leaves a valid chain: only the ledger or a checkpoint can tell.
    expect(await chain(makeLog(N).slice(0, -1))).toEqual([]);
  });

  it('flags several deleted entries in a row as one gap', async () => {
    const f = await chain(makeLog(N).filter((e) => e.seq < 4 || e.seq > 7));
    expect(brief(f)).toEqual(['broken-chain@8']);
    expect(f[0]!.message).toMatch(/seq 4\.\.7 \(4 entries\)/);
  });

  it('flags an adjacent swapped pair once, at the first, a middle and the last pair', async () => {
    for (const i of [0, 4, 8]) {
      const log = makeLog(N);
      [log[i], log[i + 1]] = [log[i + 1]!, log[i]!];
      const f = await chain(log);
      expect(brief(f)).toEqual([`broken-chain@${i + 1}`]);
      expect(f[0]!.message).toMatch(/swapped pair/);
    }
  });

  it('flags a repeated entry (the same line stored twice) once', async () => {
    for (const i of Object.values(at)) {
      const log = makeLog(N);
      log.splice(i + 1, 0, { ...log[i]! });
      const f = await chain(log);
      expect(brief(f)).toEqual([`broken-chain@${i + 1}`]);
      expect(f[0]!.message).toMatch(/stored twice/);
    }
  });

  it('flags a seq repeated by a different entry', async () => {
    const log = makeLog(N);
    log.splice(5, 0, { ...log[4]!, eventId: 'other', hash: log[4]!.hash.replace(/^./, 'f') });
    const f = await chain(log);
    expect(f.filter((x) => x.message.includes('seq 5'))).not.toHaveLength(0);
  });

  it('flags a fork (two entries claim the same predecessor) once', async () => {
    // seq 6 was appended on top of seq 4 (a stale head), and the writer after it followed seq 6.
    let log = makeLog(N);
    log[5] = { ...log[5]!, prevHash: log[3]!.hash };
    log[5] = rehash(log[5]!);
    log = relinkFrom(log, 6);
    const f = await chain(log);
    expect(brief(f)).toEqual(['broken-chain@6']);
    expect(f[0]!.message).toMatch(/fork/);
  });

  it('reports a numbering gap whose link is intact as such', async () => {
    const log = makeLog(N);
    const renumbered = relinkFrom(
      log.map((e) => (e.seq >= 5 ? { ...e, seq: e.seq + 1 } : e)),
      4,
    );
    const f = await chain(renumbered);
    expect(brief(f)).toEqual(['broken-chain@6']);
    expect(f[0]!.message).toMatch(/numbering gap/);
  });

  it('does not cascade after an unreadable line', async () => {
    const log: SourceItem[] = makeLog(N);
    log[4] = { unreadable: true, line: 5, reason: 'not valid JSON' };
    expect(await chain(log)).toEqual([]);
    const withSeq: SourceItem[] = makeLog(N);
    withSeq[4] = { unreadable: true, line: 5, seq: 5, reason: 'field ts missing' };
    expect(await chain(withSeq)).toEqual([]);
  });

  it('rejects a log that does not start at the genesis', async () => {
    const log = makeLog(N).slice(3);
    const f = await chain(log);
    expect(brief(f)).toEqual(['broken-chain@4']);
    expect(f[0]!.expected).toBe('0'.repeat(64));
  });

  it('flags an edited prev_hash once', async () => {
    const log: LogEntry[] = makeLog(N);
    log[6] = { ...log[6]!, prevHash: 'a'.repeat(64) };
    // prev_hash is hashed too: the entry's own hash no longer matches, and that one finding covers it
    expect(brief(await chain(log))).toEqual(['broken-chain@7']);
  });
});
