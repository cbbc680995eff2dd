/** Entries that were in the log before the run (scan option `before`) and exact counts past the cap. */
import { describe, expect, it } from 'vitest';
import { payloadDigest } from '../../../src/scan/reference-chain.ts';
import { scanEntries } from '../../../src/scan/scan.ts';
import type { Finding, LedgerOp, LogEntry } from '../../../src/scan/types.ts';
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

describe('scanLog with entries from before the run', () => {
  it('never calls an older entry unexpected, and passes a clean log', async () => {
    const log = makeLog(50);
    const r = await scanEntries(log, { ledger: ledgerOf(log.slice(30)), before: { lastSeq: 30 } });
    expect(r.findings).toEqual([]);
    expect(r.counts.unexpected).toBe(0);
    expect(r.verdict.status).toBe('pass');
  });

  it('without `before`, the same older entries are unexpected (what a second run used to see)', async () => {
    const log = makeLog(50);
    const r = await scanEntries(log, { ledger: ledgerOf(log.slice(30)) });
    expect(r.counts.unexpected).toBe(30);
  });

  it('verifies older entries and counts their findings apart, marked preexisting', async () => {
    const log = makeLog(50);
    (log[9] as LogEntry).actor = 'edited'; // seq 10, before the run
    (log[39] as LogEntry).actor = 'edited'; // seq 40, this run
    const r = await scanEntries(log, { ledger: ledgerOf(log.slice(30)), before: { lastSeq: 30 } });
    expect(brief(r.findings)).toEqual(['broken-chain@10', 'broken-chain@40']);
    expect(r.findings.map((f) => f.preexisting ?? false)).toEqual([true, false]);
    expect(r.counts['broken-chain']).toBe(1);
    expect(r.countsBefore['broken-chain']).toBe(1);
  });

  it('an acknowledged event of this run stays missing even when an older entry has its id', async () => {
    const log = makeLog(20);
    const ops = ledgerOf(log.slice(10));
    // The service answered a seq inside the older range and the entry is gone: still this run's loss.
    const lost: LedgerOp = { ...(ops[0] as LedgerOp), eventId: (log[3] as LogEntry).eventId, seq: 4 };
    const r = await scanEntries(log, { ledger: [...ops, lost], before: { lastSeq: 10 } });
    expect(r.counts.missing).toBe(1);
    expect(r.findings.find((f) => f.kind === 'missing')?.preexisting).toBeUndefined();
    expect(r.verdict.status).toBe('fail');
  });
});

describe('scanLog counts', () => {
  it('counts every finding and calls onFinding for each, while keeping only maxFindings', async () => {
    const log = makeLog(3000);
    for (let i = 0; i < log.length; i += 2) (log[i] as LogEntry).actor = ''; // 1500 partial
    const seen: Finding[] = [];
    const r = await scanEntries(log, { maxFindings: 100, onFinding: (f) => seen.push(f) });
    expect(r.counts.partial).toBe(1500);
    expect(seen.filter((f) => f.kind === 'partial')).toHaveLength(1500);
    expect(r.findings).toHaveLength(100);
    expect(r.findingsOmitted).toBe(seen.length - 100);
  });
});
