import { generateKeyPairSync, sign } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { createCheckpointCheck } from '../../../src/scan/checks/checkpoint.ts';
import { createDuplicateCheck, FingerprintSet, fingerprintTo } from '../../../src/scan/checks/duplicate.ts';
import { buildLedger, createLedgerCheck } from '../../../src/scan/checks/ledger.ts';
import { createPartialCheck } from '../../../src/scan/checks/partial.ts';
import { jcs, payloadDigest } from '../../../src/scan/reference-chain.ts';
import { fileSpillStore } from '../../../src/scan/spill-file.ts';
import type { Checkpoint, CheckpointSet, LedgerOp, LogEntry, SourceItem } from '../../../src/scan/types.ts';
import { brief, makeLog, POSITIONS, runCheck } from './helpers.ts';

const N = 10;

function ledgerOf(log: LogEntry[], overrides: Partial<Record<string, Partial<LedgerOp>>> = {}): LedgerOp[] {
  return log.map((e) => ({
    eventId: e.eventId,
    outcome: 'ok' as const,
    payloadDigest: payloadDigest(e.payload),
    invokedAt: e.seq,
    completedAt: e.seq + 1,
    attempts: 1,
    seq: e.seq,
    ...overrides[e.eventId],
  }));
}

describe('partial check', () => {
  const partial = (items: readonly SourceItem[], digests?: Map<string, string>) =>
    runCheck((emit) => createPartialCheck(emit, digests ? { payloadDigests: digests } : {}), items);

  it('passes clean, empty and one-entry logs', async () => {
    expect(await partial(makeLog(N))).toEqual([]);
    expect(await partial([])).toEqual([]);
    expect(await partial(makeLog(1))).toEqual([]);
  });

  it('flags unreadable lines and empty required fields at the first, a middle and the last entry', async () => {
    for (const i of Object.values(POSITIONS)) {
      const log: SourceItem[] = makeLog(N);
      log[i] = { unreadable: true, line: i + 1, reason: 'not valid JSON', raw: '{"seq":' };
      expect(brief(await partial(log))).toEqual([`partial@line${i + 1}`]);
      const empty: SourceItem[] = makeLog(N);
      empty[i] = { ...(empty[i] as LogEntry), actor: '', payload: null };
      const f = await partial(empty);
      expect(brief(f)).toEqual([`partial@${i + 1}`]);
      expect(f[0]!.message).toMatch(/actor, payload empty/);
    }
  });

  it("flags a payload whose digest differs from the writer's ledger", async () => {
    for (const i of Object.values(POSITIONS)) {
      const log = makeLog(N);
      const digests = buildLedger(ledgerOf(log)).digests;
      expect(await partial(log, digests)).toEqual([]);
      log[i] = { ...log[i]!, payload: { n: i + 1, truncated: true } };
      const f = await partial(log, digests);
      expect(brief(f)).toEqual([`partial@${i + 1}`]);
      expect(f[0]!.expected).toBe(digests.get(log[i]!.eventId));
    }
  });
});

describe('duplicate check', () => {
  const dup = (items: readonly SourceItem[]) => runCheck((emit) => createDuplicateCheck(emit), items);

  it('passes clean, empty and one-entry logs', async () => {
    expect(await dup(makeLog(N))).toEqual([]);
    expect(await dup([])).toEqual([]);
    expect(await dup(makeLog(1))).toEqual([]);
  });

  it('flags an event id stored twice, with both places, at the first, a middle and the last entry', async () => {
    for (const i of Object.values(POSITIONS)) {
      const log = makeLog(N);
      const j = i === 0 ? 5 : 0;
      log[i] = { ...log[i]!, eventId: log[j]!.eventId };
      const f = await dup(log);
      expect(f).toHaveLength(1);
      expect(f[0]!.eventId).toBe(log[j]!.eventId);
      expect(f[0]!.seq).toBe(Math.max(i, j) + 1);
      expect(f[0]!.expected).toBe(String(Math.min(i, j) + 1));
    }
  });

  it('keeps a fingerprint set that grows and never forgets', () => {
    const s = new FingerprintSet(16);
    let added = 0;
    let again = 0;
    for (let i = 0; i < 100_000; i++) if (s.addString(`id-${i}`)) added++;
    for (let i = 0; i < 100_000; i += 997) if (!s.addString(`id-${i}`)) again++;
    expect(added).toBe(100_000);
    expect(again).toBe(101);
    expect(s.size).toBe(100_000);
    expect(s.bytes).toBeLessThanOrEqual(8 * 2 ** 18);
  });

  it('confirms suspects on a second read: a fingerprint collision is never a finding', async () => {
    // Plant the fingerprint of an id that the log holds once: it becomes a suspect, as a
    // collision would make it, and the second read must clear it.
    const findings: string[] = [];
    const check = createDuplicateCheck((f) => findings.push(f.eventId ?? ''));
    const items = makeLog(3);
    check.fingerprints.addString(items[1]!.eventId);
    for (const it of items) check.observe(it);
    let rereads = 0;
    await check.finish(async function* () {
      rereads++;
      yield items;
    });
    expect(rereads).toBe(1);
    expect(findings).toEqual([]);
  });
});

describe('duplicate check with a spill store (flat memory)', () => {
  const ids = (n: number) => makeLog(n).map((e) => e.eventId);

  async function spilled(items: SourceItem[], maxSlots: number) {
    const spill = fileSpillStore();
    try {
      const findings = await runCheck((emit) => createDuplicateCheck(emit, { spill, maxSlots }), items);
      return { findings, runs: spill.runs };
    } finally {
      spill.dispose();
    }
  }

  it('spills full tables as sorted runs and finds no duplicate in a clean log', async () => {
    const { findings, runs } = await spilled(makeLog(3000), 256);
    expect(runs).toBeGreaterThan(10);
    expect(findings).toEqual([]);
  });

  it('finds a duplicate whose copies sit in different runs, and one inside a run', async () => {
    const log = makeLog(3000);
    const all = ids(3000);
    log[2900] = { ...log[2900]!, eventId: all[3]! }; // far apart: different runs
    log[11] = { ...log[11]!, eventId: all[10]! }; // adjacent: same run
    const { findings, runs } = await spilled(log, 256);
    expect(runs).toBeGreaterThan(10);
    expect(findings.map((f) => `${f.eventId}@${f.seq}`).sort()).toEqual(
      [`${all[10]}@12`, `${all[3]}@2901`].sort(),
    );
  });

  it('keeps the table at its fixed size', async () => {
    const spill = fileSpillStore();
    try {
      const check = createDuplicateCheck(() => {}, { spill, maxSlots: 1024 });
      for (const e of makeLog(5000)) check.observe(e);
      expect(check.fingerprints.bytes).toBeLessThanOrEqual(1024 * 8);
      expect(spill.runs).toBeGreaterThan(5);
    } finally {
      spill.dispose();
    }
  });
});

describe('duplicate check fed sorted runs (range summaries)', () => {
  /** The (a, b) pairs of the items' ids, sorted by value as a range worker sends them, or not. */
  function runOf(items: readonly SourceItem[], sorted = true): Uint32Array {
    const out = new Uint32Array(items.length * 2);
    for (let i = 0; i < items.length; i++) fingerprintTo(items[i]!.eventId ?? '', out, i * 2);
    if (sorted) new BigUint64Array(out.buffer).sort();
    return out;
  }
  /** Findings (eventId@seq, sorted) of the log cut into runs at `cuts`, some fed item by item. */
  async function viaRuns(
    log: LogEntry[],
    cuts: number[],
    opts: {
      spill?: boolean;
      maxSlots?: number;
      unsorted?: number[];
      oneByOne?: number[];
      /** compactRuns() after these runs (the range runner does it once a core is free). */
      compactAfter?: number[];
    } = {},
  ) {
    const spill = opts.spill ? fileSpillStore() : undefined;
    try {
      const findings: string[] = [];
      const check = createDuplicateCheck((f) => findings.push(`${f.eventId}@${f.seq}`), {
        ...(spill ? { spill } : {}),
        ...(opts.maxSlots ? { maxSlots: opts.maxSlots } : {}),
      });
      const bounds = [0, ...cuts, log.length];
      const given: [Uint32Array, Uint32Array][] = [];
      for (let r = 0; r + 1 < bounds.length; r++) {
        const part = log.slice(bounds[r], bounds[r + 1]);
        if (opts.oneByOne?.includes(r)) for (const it of part) check.observe(it);
        else {
          const run = runOf(part, !opts.unsorted?.includes(r));
          given.push([run, run.slice()]);
          check.observeRun(run);
        }
        if (opts.compactAfter?.includes(r)) check.compactRuns();
      }
      await check.finish(async function* () {
        yield log;
      });
      // the runs are read, not changed (they are the range summaries' own arrays)
      for (const [run, copy] of given) expect(run).toEqual(copy);
      return { findings: findings.sort(), spilled: spill?.runs ?? 0 };
    } finally {
      spill?.dispose();
    }
  }
  const damaged = () => {
    const log = makeLog(3000);
    const id = (i: number) => log[i]!.eventId;
    log[2900] = { ...log[2900]!, eventId: id(3) }; // far apart: different runs
    log[11] = { ...log[11]!, eventId: id(10) }; // adjacent: same run
    log[1500] = { ...log[1500]!, eventId: id(1499) }; // across the cut at 1500
    log[2000] = { ...log[2000]!, eventId: id(5) }; // a third copy of nothing: the second of id 5
    return log;
  };

  it('finds what item-by-item observation finds: repeats inside a run, across runs, across a cut', async () => {
    const log = damaged();
    const want = (await runCheck((emit) => createDuplicateCheck(emit), log))
      .map((f) => `${f.eventId}@${f.seq}`)
      .sort();
    expect(want).toHaveLength(4);
    const cuts = [7, 700, 1500, 1501, 2222, 2950];
    expect((await viaRuns(log, cuts)).findings).toEqual(want);
    // runs in log order (version-1 summaries), and runs mixed with items seen one by one
    expect((await viaRuns(log, cuts, { unsorted: [0, 2, 5] })).findings).toEqual(want);
    expect((await viaRuns(log, cuts, { oneByOne: [1, 4] })).findings).toEqual(want);
    // sorted early, once or twice (the runs after are looked up in, or merged with, those before)
    expect((await viaRuns(log, cuts, { compactAfter: [5] })).findings).toEqual(want);
    expect((await viaRuns(log, cuts, { compactAfter: [1, 3] })).findings).toEqual(want);
    expect((await viaRuns(log, cuts, { compactAfter: [2], oneByOne: [4] })).findings).toEqual(want);
    // a clean log: nothing
    expect((await viaRuns(makeLog(3000), cuts)).findings).toEqual([]);
  });

  it('with a spill store, runs go to it when they hold more than the table would (memory stays flat)', async () => {
    const log = damaged();
    const want = (await runCheck((emit) => createDuplicateCheck(emit), log))
      .map((f) => `${f.eventId}@${f.seq}`)
      .sort();
    const cuts = Array.from({ length: 29 }, (_, i) => (i + 1) * 100 + (i % 3));
    const r = await viaRuns(log, cuts, { spill: true, maxSlots: 256 });
    expect(r.spilled).toBeGreaterThan(5);
    expect(r.findings).toEqual(want);
    const mixed = await viaRuns(log, cuts, {
      spill: true,
      maxSlots: 256,
      oneByOne: [3, 15, 29],
      unsorted: [4],
    });
    expect(mixed.findings).toEqual(want);
    const compacted = await viaRuns(log, cuts, { spill: true, maxSlots: 256, compactAfter: [2, 10, 28] });
    expect(compacted.findings).toEqual(want);
  });
});

describe('ledger cross-check', () => {
  const run = (items: readonly SourceItem[], ops: LedgerOp[]) =>
    runCheck((emit) => createLedgerCheck(emit, buildLedger(ops)), items);

  it('passes when every acknowledged op is present and nothing else is', async () => {
    const log = makeLog(N);
    expect(await run(log, ledgerOf(log))).toEqual([]);
    expect(await run([], [])).toEqual([]);
    expect(await run(makeLog(1), ledgerOf(makeLog(1)))).toEqual([]);
  });

  it('flags missing (acknowledged, absent) at the first, a middle and the last entry', async () => {
    for (const i of Object.values(POSITIONS)) {
      const full = makeLog(N);
      const log = full.filter((_, j) => j !== i);
      const f = await run(log, ledgerOf(full));
      expect(brief(f)).toEqual([`missing@${i + 1}`]);
      expect(f[0]!.eventId).toBe(full[i]!.eventId);
    }
  });

  it('flags unexpected (present, never attempted) and present-after-definite-failure', async () => {
    const log = makeLog(N);
    const ops = ledgerOf(log).filter((o) => o.eventId !== log[9]!.eventId);
    ops[0] = { ...ops[0]!, outcome: 'fail', status: 400 };
    expect(brief(await run(log, ops))).toEqual(['unexpected@1', 'unexpected@10']);
  });

  it('reports indeterminate ops as recovered or absent', async () => {
    const full = makeLog(N);
    const ops = ledgerOf(full, {
      [full[2]!.eventId]: { outcome: 'indeterminate', error: 'timeout' },
      [full[9]!.eventId]: { outcome: 'indeterminate', error: 'reset' },
    });
    const f = await run(full.slice(0, 9), ops);
    expect(brief(f)).toEqual(['indeterminate@3', 'indeterminate@10']);
    expect(f.map((x) => x.detail?.recovered)).toEqual([true, false]);
    expect(f.every((x) => x.severity === 'info')).toBe(true);
  });

  it('merges retried ops of one event id, the strongest outcome winning', () => {
    const l = buildLedger([
      {
        eventId: 'a',
        outcome: 'indeterminate',
        payloadDigest: 'd',
        invokedAt: 0,
        completedAt: 1,
        attempts: 1,
      },
      { eventId: 'a', outcome: 'ok', payloadDigest: 'd', invokedAt: 2, completedAt: 3, attempts: 2 },
    ]);
    expect(l.ops.get('a')!.outcome).toBe('ok');
    expect(l.counts).toEqual({ ok: 1, fail: 0, indeterminate: 0, 'not-sent': 0 });
  });
});

describe('checkpoint check', () => {
  const { publicKey, privateKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const signed = (e: { seq: number; hash: string }, ts = '2026-11-21T12:00:00.000000Z'): Checkpoint => ({
    seq: e.seq,
    hash: e.hash,
    ts,
    signature: sign(null, Buffer.from(jcs({ seq: e.seq, hash: e.hash, ts })), privateKey).toString('base64'),
  });
  const run = (items: readonly SourceItem[], set: CheckpointSet) =>
    runCheck((emit) => createCheckpointCheck(emit, set), items);

  it('passes when the log still holds every checkpointed entry', async () => {
    const log = makeLog(N);
    const set = {
      publicKey: pem,
      checkpoints: [signed({ seq: 0, hash: '0'.repeat(64) }), ...log.map((e) => signed(e))],
    };
    expect(await run(log, set)).toEqual([]);
    expect(await run([], { publicKey: pem, checkpoints: [] })).toEqual([]);
  });

  it('flags a truncated tail as one rollback, however many checkpoints saw it', async () => {
    const log = makeLog(N);
    const set = { publicKey: pem, checkpoints: log.map((e) => signed(e)) };
    const f = await run(log.slice(0, 6), set);
    expect(brief(f)).toEqual(['rollback@7']);
    expect(f[0]!.message).toMatch(/ends at seq 6.*up to seq 10/);
    expect(brief(await run([], set))).toEqual(['rollback@1']);
  });

  it('flags an entry whose hash differs from the checkpoint (restored from another state), at any position', async () => {
    for (const i of Object.values(POSITIONS)) {
      const log = makeLog(N);
      const set = { publicKey: pem, checkpoints: [signed(log[i]!), signed(log[i]!, 'later')] };
      log[i] = { ...log[i]!, hash: 'b'.repeat(64) };
      expect(brief(await run(log, set))).toEqual([`rollback@${i + 1}`]);
    }
  });

  it('flags a checkpoint whose signature does not verify', async () => {
    const log = makeLog(N);
    const forged = { ...signed(log[3]!), hash: 'c'.repeat(64) };
    const f = await run(log, { publicKey: pem, checkpoints: [forged] });
    expect(brief(f)).toEqual(['rollback@4']);
    expect(f[0]!.detail?.reason).toBe('bad-signature');
  });

  it('refuses a key that is not Ed25519', () => {
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey.export({
      type: 'spki',
      format: 'pem',
    });
    expect(() => createCheckpointCheck(() => {}, { publicKey: rsa.toString(), checkpoints: [] })).toThrow(
      /Ed25519/,
    );
  });
});
