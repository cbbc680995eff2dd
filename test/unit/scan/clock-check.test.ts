/** The clock checks: ts along seq, and ts within the writer's send..ack window. */
import { describe, expect, it } from 'vitest';
import {
  clockCheckRun,
  clockCheckSettings,
  createClockCheck,
  parseTs,
} from '../../../src/scan/checks/clock.ts';
import { buildLedger } from '../../../src/scan/checks/ledger.ts';
import { scanEntries } from '../../../src/scan/scan.ts';
import type { LedgerOp, LogEntry } from '../../../src/scan/types.ts';
import { brief, makeLog, runCheck } from './helpers.ts';

const EPOCH = Date.parse('2026-12-02T12:00:00.000Z');
const at = (ms: number) => new Date(EPOCH + ms).toISOString().replace('Z', '000Z');

/** n entries, one every 10 ms from t=1000 ms; op i sent 5 ms before its ts, acked 5 ms after. */
function run(n: number, shift: (i: number) => number = () => 0) {
  const log: LogEntry[] = makeLog(n).map((e, i) => ({ ...e, ts: at(1000 + 10 * i + shift(i)) }));
  const ops: LedgerOp[] = log.map((e, i) => ({
    eventId: e.eventId,
    outcome: 'ok',
    payloadDigest: '',
    invokedAt: 1000 + 10 * i - 5,
    completedAt: 1000 + 10 * i + 5,
    attempts: 1,
    seq: e.seq,
  }));
  return { log, ops, ledger: buildLedger(ops) };
}

describe('clock checks', () => {
  it('parses RFC 3339 with microseconds and offsets; NaN for what is no time', () => {
    expect(parseTs('2026-12-02T12:00:00.123456Z')).toBeCloseTo(
      Date.parse('2026-12-02T12:00:00.123Z') + 0.456,
      6,
    );
    expect(parseTs('2026-12-02 13:00:00+01:00')).toBe(Date.parse('2026-12-02T12:00:00Z'));
    expect(parseTs('2026-12-02T13:00:00.5+0100')).toBe(Date.parse('2026-12-02T12:00:00.500Z'));
    expect(parseTs('yesterday')).toBeNaN();
  });

  it('an in-order log within its windows has no finding', async () => {
    const { log, ledger } = run(50);
    const f = await runCheck(
      (e) => createClockCheck(e, { backwardsMs: 0, windowMs: 0, epochMs: EPOCH, ledger }),
      log,
    );
    expect(f).toEqual([]);
  });

  it('a 30 s step back of entries 20..29: one clock-backwards stretch, ten entries outside their window', async () => {
    const { log, ledger } = run(50, (i) => (i >= 20 && i < 30 ? -30_000 : 0));
    const f = await runCheck(
      (e) => createClockCheck(e, { backwardsMs: 0, windowMs: 1000, epochMs: EPOCH, ledger }),
      log,
    );
    const back = f.filter((x) => x.kind === 'clock-backwards');
    expect(brief(back)).toEqual(['clock-backwards@21']);
    expect(back[0]?.eventId).toBe(log[20]?.eventId);
    expect(back[0]?.detail).toMatchObject({ previousSeq: 20, entries: 10, lastSeq: 30, toleranceMs: 0 });
    expect(back[0]?.detail?.behindMs).toBe(29_990);
    const out = f.filter((x) => x.kind === 'ts-outside-window');
    expect(out.map((x) => x.seq)).toEqual([21, 22, 23, 24, 25, 26, 27, 28, 29, 30]);
    expect(out[0]?.detail).toMatchObject({
      ts: log[20]?.ts,
      toleranceMs: 1000,
      outcome: 'ok',
      offByMs: -29_995,
    });
    expect(out[0]?.expected).toContain(new Date(EPOCH + 1195).toISOString());
  });

  it('a step forward and its heal: the heal is the step back (entries after it stay behind until time catches up)', async () => {
    const { log, ledger } = run(50, (i) => (i >= 10 && i < 20 ? 200 : 0));
    const f = await runCheck(
      (e) => createClockCheck(e, { backwardsMs: 0, windowMs: 100, epochMs: EPOCH, ledger }),
      log,
    );
    // entries 20.. are at 1200 ms.. while entry 19 was stamped 1390 + 200: behind until entry 39
    const back = f.filter((x) => x.kind === 'clock-backwards');
    expect(back).toHaveLength(1);
    expect(back[0]).toMatchObject({ seq: 21, detail: { previousSeq: 20, lastSeq: 39 } });
    expect(f.filter((x) => x.kind === 'ts-outside-window').map((x) => x.seq)).toEqual(
      Array.from({ length: 10 }, (_, i) => 11 + i),
    );
  });

  it('tolerances: a step back within `backwards`, a ts within `window` of its ack, are no finding', async () => {
    const { log, ledger } = run(30, (i) => (i === 10 ? -25 : i === 20 ? 400 : 0));
    const strict = await runCheck(
      (e) => createClockCheck(e, { backwardsMs: 0, windowMs: 0, epochMs: EPOCH, ledger }),
      log,
    );
    expect(brief(strict).sort()).toEqual(
      ['clock-backwards@11', 'clock-backwards@22', 'ts-outside-window@11', 'ts-outside-window@21'].sort(),
    );
    const loose = await runCheck(
      (e) => createClockCheck(e, { backwardsMs: 400, windowMs: 400, epochMs: EPOCH, ledger }),
      log,
    );
    expect(loose).toEqual([]);
  });

  it('indeterminate ops have only a lower bound; entries from before the run are not looked at', async () => {
    const { log, ops } = run(20, (i) => (i === 5 ? 60_000 : i === 2 ? -60_000 : 0));
    ops[5] = { ...(ops[5] as LedgerOp), outcome: 'indeterminate' };
    const ledger = buildLedger(ops);
    const f = await runCheck(
      (e) =>
        createClockCheck(e, { backwardsMs: 0, windowMs: 0, epochMs: EPOCH, ledger, before: { lastSeq: 3 } }),
      log,
    );
    // seq 3 (index 2) is from before the run; seq 6 is 60 s late but indeterminate: no upper bound,
    // and the entries after it fall behind it.
    expect(brief(f)).toEqual(['clock-backwards@7']);
  });

  it('without an epoch the window check does not run, and says so; a log of no times does not run at all', async () => {
    const { log, ledger } = run(5);
    const c = createClockCheck(() => undefined, { backwardsMs: 0, windowMs: 0, ledger });
    for (const e of log) c.observe(e);
    c.finish(async function* () {});
    expect(clockCheckRun(c)).toEqual({
      name: 'clock',
      ran: true,
      reason: "ts window not checked: the history's wall-clock start is not known",
    });
    const none = createClockCheck(() => undefined, { backwardsMs: 0, windowMs: 0 });
    for (const e of log) none.observe({ ...e, ts: 'not a time' });
    expect(clockCheckRun(none)).toMatchObject({ ran: false });
  });

  it('scanLog runs it only when asked, and counts its findings', async () => {
    const { log, ops } = run(40, (i) => (i >= 10 && i < 15 ? -5000 : 0));
    const off = await scanEntries(log, { ledger: ops });
    expect(off.checksRun.map((c) => c.name)).not.toContain('clock');
    const on = await scanEntries(log, {
      ledger: ops,
      clock: { backwardsMs: 0, windowMs: 1000, epochMs: EPOCH },
    });
    expect(on.checksRun.find((c) => c.name === 'clock')).toEqual({ name: 'clock', ran: true });
    expect(on.counts['clock-backwards']).toBe(1);
    expect(on.counts['ts-outside-window']).toBe(5);
    expect(on.verdict.status).toBe('fail');
  });

  it('a scenario asks for them with a clock fault or expect.clock', () => {
    expect(clockCheckSettings({ faults: [{ kind: 'latency' }], expect: {} })).toBeUndefined();
    expect(clockCheckSettings({ faults: [{ kind: 'clock' }], expect: {} })).toEqual({
      backwardsMs: 0,
      windowMs: 1000,
    });
    expect(clockCheckSettings({ faults: [], expect: { clock: { backwards: 5, window: 50 } } })).toEqual({
      backwardsMs: 5,
      windowMs: 50,
    });
  });
});
