import { describe, expect, it } from 'vitest';
import { rehash } from '../../../src/scan/generate.ts';
import { payloadDigest } from '../../../src/scan/reference-chain.ts';
import { scanEntries, scanLog } from '../../../src/scan/scan.ts';
import { fromArray } from '../../../src/scan/sources/array.ts';
import type { LedgerOp, LogEntry, LogSource, SourceItem } from '../../../src/scan/types.ts';
import { brief, makeLog } from './helpers.ts';

const ledgerOf = (log: LogEntry[]): LedgerOp[] =>
  log.map((e) => ({
    eventId: e.eventId,
    outcome: 'ok',
    payloadDigest: payloadDigest(e.payload),
    invokedAt: 0,
    completedAt: 1,
    attempts: 1,
    seq: e.seq,
  }));

describe('scanLog', () => {
  it('passes a clean log and a one-entry log, with every check listed', async () => {
    const log = makeLog(100);
    const r = await scanEntries(log, { ledger: ledgerOf(log) });
    expect(r.verdict.status).toBe('pass');
    expect(r.entries).toBe(100);
    expect([r.firstSeq, r.lastSeq]).toEqual([1, 100]);
    expect(r.findings).toEqual([]);
    expect(r.checksRun.map((c) => `${c.name}:${c.ran}`)).toEqual([
      'chain:true',
      'partial:true',
      'duplicate:true',
      'ledger:true',
      'checkpoint:false',
    ]);
    expect((await scanEntries(makeLog(1))).verdict.status).toBe('pass');
  });

  it('calls an empty log unknown, never a pass', async () => {
    const r = await scanEntries([]);
    expect(r.verdict).toEqual({ status: 'unknown', reasons: ['the log is empty: nothing to verify'] });
  });

  it('fails an empty log when the ledger says entries were acknowledged', async () => {
    const r = await scanEntries([], { ledger: ledgerOf(makeLog(3)) });
    expect(r.verdict.status).toBe('fail');
    expect(r.counts.missing).toBe(3);
  });

  it('calls a log without hash fields unknown: the chain check did not run', async () => {
    const src: LogSource = { ...fromArray(makeLog(5)), notAvailable: { chain: 'no hash column' } };
    const r = await scanLog({ source: src });
    expect(r.checksRun[0]).toEqual({ name: 'chain', ran: false, reason: 'no hash column' });
    expect(r.verdict.status).toBe('unknown');
  });

  it('calls a log that breaks off while reading unknown, with the reason', async () => {
    const log = makeLog(5);
    const src: LogSource = {
      describe: 'flaky',
      async *entries() {
        yield log[0]!;
        throw new Error('connection reset');
      },
    };
    const r = await scanLog({ source: src });
    expect(r.entries).toBe(1);
    expect(r.verdict.status).toBe('unknown');
    expect(r.readError).toMatch(/connection reset/);
  });

  it('stops on abort with the abort reason', async () => {
    const ac = new AbortController();
    ac.abort(new Error('stop'));
    await expect(scanLog({ source: fromArray(makeLog(5)), signal: ac.signal })).rejects.toThrow('stop');
  });

  it('keeps indeterminate findings informational: the verdict stays pass', async () => {
    const log = makeLog(5);
    const ops = ledgerOf(log);
    ops[2] = { ...ops[2]!, outcome: 'indeterminate' };
    const r = await scanEntries(log, { ledger: ops });
    expect(brief(r.findings)).toEqual(['indeterminate@3']);
    expect(r.verdict.status).toBe('pass');
  });

  it('counts every finding but keeps at most maxFindings', async () => {
    const log = makeLog(50).map((e) => ({ ...e, payload: 'edited' }));
    const r = await scanEntries(log, { maxFindings: 10 });
    expect(r.counts['broken-chain']).toBe(50);
    expect(r.findings).toHaveLength(10);
    expect(r.findingsOmitted).toBe(40);
  });

  it('reports progress', async () => {
    let t = 0;
    const seen: number[] = [];
    await scanLog({
      source: fromArray(makeLog(10_000)),
      onProgress: (p) => seen.push(p.entries),
      progressIntervalMs: 1,
      now: () => t++,
    });
    expect(seen.length).toBeGreaterThan(1);
    expect(seen.at(-1)).toBe(10_000);
  });

  it('catches each canary the run plants in a copy (edited payload, deleted, reordered, truncated, reused id)', async () => {
    const log = makeLog(40);
    const ledger = ledgerOf(log);
    const canaries: Record<string, (l: SourceItem[]) => void> = {
      'edited payload': (l) => {
        l[10] = { ...(l[10] as LogEntry), payload: { edited: true } };
      },
      'deleted entry': (l) => {
        l.splice(20, 1);
      },
      'reordered pair': (l) => {
        [l[30], l[31]] = [l[31]!, l[30]!];
      },
      'truncated entry': (l) => {
        l[5] = { ...(l[5] as LogEntry), payload: '' };
      },
      'reused event id': (l) => {
        l[39] = rehash({ ...(l[39] as LogEntry), eventId: (l[3] as LogEntry).eventId });
      },
    };
    const want: Record<string, string[]> = {
      'edited payload': ['broken-chain@11', 'partial@11'],
      'deleted entry': ['broken-chain@22', 'missing@21'],
      'reordered pair': ['broken-chain@31'],
      'truncated entry': ['broken-chain@6', 'partial@6'],
      'reused event id': ['duplicate@40', 'missing@40', 'partial@40'],
    };
    for (const [name, plant] of Object.entries(canaries)) {
      const copy: SourceItem[] = log.slice();
      plant(copy);
      const r = await scanEntries(copy, { ledger });
      expect(brief(r.findings).sort(), name).toEqual(want[name]);
      expect(r.verdict.status, name).toBe('fail');
    }
  });
});
