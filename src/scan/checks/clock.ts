/**
 * The clock checks (on when a scenario moves a clock or sets expect.clock):
 * - `clock-backwards`: along seq, ts must not fall behind the latest ts before it by more than
 *   the tolerance. One finding per stretch of entries that stay behind (a step back of the clock
 *   is one place, however many entries it covers); its evidence is the first entry of the stretch,
 *   the entry it fell behind, by how much, and how many entries stayed behind.
 * - `ts-outside-window`: an entry's ts must lie within its writer's window, from the first send to
 *   the acknowledgement (plus the tolerance): a stored ts that no moment of the write had is a
 *   clock the log cannot be trusted on. Indeterminate ops have no ack time: only the lower bound.
 * Both only look at entries of this run (seq beyond `before.lastSeq`). Pure.
 */
import type { LedgerOp, SourceItem } from '../types.ts';
import { isUnreadable } from '../types.ts';
import { type Check, type Emit, finding } from './check.ts';
import type { Ledger } from './ledger.ts';

const CHECK = 'clock';

export interface ClockCheckOptions {
  /** How far (ms) ts may fall behind an earlier seq's ts. */
  backwardsMs: number;
  /** How far (ms) ts may lie outside its writer's send..ack window. */
  windowMs: number;
  /** Wall-clock ms at the history's time 0 (ops' invokedAt/completedAt count from it). */
  epochMs?: number;
  ledger?: Ledger;
  before?: { lastSeq: number };
}

export interface ClockCheck extends Check {
  /** Entries whose ts was read as a time, and those whose ts was not a time. */
  readonly parsed: number;
  readonly unparsed: number;
  /** Why the window check did not run, when it did not. */
  readonly windowSkipped: string | undefined;
}

const RFC3339 = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2})(?:\.(\d+))?(Z|[+-]\d{2}:?\d{2})$/i;

/** ms since the epoch, microseconds kept as the fraction; NaN when the text is not a time. */
export function parseTs(ts: string): number {
  const m = RFC3339.exec(ts.trim());
  if (!m) return Date.parse(ts);
  const whole = Date.parse(
    `${m[1]!.replace(' ', 'T')}${m[3]!.length === 5 ? `${m[3]!.slice(0, 3)}:${m[3]!.slice(3)}` : m[3]}`,
  );
  const frac = m[2] ? Number(`0.${m[2]}`) * 1000 : 0;
  return whole + frac;
}

const iso = (ms: number) => new Date(Math.floor(ms)).toISOString();
const secs = (ms: number) => `${(ms / 1000).toFixed(3)} s`;

interface Stretch {
  seq?: number;
  line?: number;
  eventId: string;
  ts: string;
  behindOf: { seq?: number; ts: string; at: number };
  behindMs: number;
  entries: number;
  lastSeq?: number;
}

export function createClockCheck(emit: Emit, opts: ClockCheckOptions): ClockCheck {
  const lastSeqBefore = opts.before?.lastSeq ?? Number.NEGATIVE_INFINITY;
  const windowSkipped =
    opts.ledger === undefined
      ? 'no history given'
      : opts.epochMs === undefined
        ? "the history's wall-clock start is not known"
        : undefined;
  let parsed = 0;
  let unparsed = 0;
  let latest: { seq?: number; ts: string; at: number } | undefined;
  let stretch: Stretch | undefined;

  const flush = () => {
    const s = stretch;
    if (!s) return;
    stretch = undefined;
    const more = s.entries > 1 ? `; ${s.entries} entries up to seq ${s.lastSeq} stay behind it` : '';
    emit(
      finding('clock-backwards', CHECK, {
        seq: s.seq,
        line: s.line,
        eventId: s.eventId,
        message: `ts goes backwards at seq ${s.seq ?? '?'}: ${secs(s.behindMs)} before the ts of seq ${s.behindOf.seq ?? '?'}${more}`,
        expected: `ts >= ${s.behindOf.ts}${opts.backwardsMs ? ` - ${opts.backwardsMs} ms` : ''} (seq ${s.behindOf.seq ?? '?'})`,
        found: s.ts,
        detail: {
          ts: s.ts,
          previousSeq: s.behindOf.seq,
          previousTs: s.behindOf.ts,
          behindMs: Math.round(s.behindMs),
          entries: s.entries,
          lastSeq: s.lastSeq,
          toleranceMs: opts.backwardsMs,
        },
      }),
    );
  };

  const window = (op: LedgerOp, at: number, item: { seq?: number; line?: number; ts: string }) => {
    if (opts.epochMs === undefined) return;
    if (op.outcome !== 'ok' && op.outcome !== 'indeterminate') return;
    const firstSend = Math.min(op.invokedAt, op.attemptsDetail?.[0]?.startedAt ?? op.invokedAt);
    const sent = opts.epochMs + firstSend;
    const acked = op.outcome === 'ok' ? opts.epochMs + op.completedAt : undefined;
    const early = sent - opts.windowMs - at;
    const late = acked === undefined ? 0 : at - (acked + opts.windowMs);
    if (early <= 0 && late <= 0) return;
    const span = `${iso(sent)} .. ${acked === undefined ? '(no ack: indeterminate)' : iso(acked)}`;
    emit(
      finding('ts-outside-window', CHECK, {
        seq: item.seq,
        line: item.line,
        eventId: op.eventId,
        message:
          early > 0
            ? `ts of seq ${item.seq ?? '?'} is ${secs(sent - at)} before its writer first sent it (${span})`
            : `ts of seq ${item.seq ?? '?'} is ${secs(at - (acked as number))} after its writer had the ack (${span})`,
        expected: `${span} (± ${opts.windowMs} ms)`,
        found: item.ts,
        detail: {
          ts: item.ts,
          sentAt: iso(sent),
          ...(acked !== undefined ? { ackedAt: iso(acked) } : {}),
          offByMs: Math.round(early > 0 ? at - sent : at - (acked as number)),
          toleranceMs: opts.windowMs,
          outcome: op.outcome,
        },
      }),
    );
  };

  return {
    name: CHECK,
    get parsed() {
      return parsed;
    },
    get unparsed() {
      return unparsed;
    },
    windowSkipped,
    observe(item: SourceItem) {
      if (isUnreadable(item)) return;
      if (item.seq !== undefined && item.seq <= lastSeqBefore) return;
      const at = parseTs(item.ts);
      if (!Number.isFinite(at)) {
        unparsed++;
        return;
      }
      parsed++;
      if (latest !== undefined && at < latest.at - opts.backwardsMs) {
        if (stretch) {
          stretch.entries++;
          stretch.lastSeq = item.seq;
          stretch.behindMs = Math.max(stretch.behindMs, latest.at - at);
        } else {
          stretch = {
            seq: item.seq,
            line: item.line,
            eventId: item.eventId,
            ts: item.ts,
            behindOf: latest,
            behindMs: latest.at - at,
            entries: 1,
            lastSeq: item.seq,
          };
        }
      } else flush();
      if (latest === undefined || at > latest.at) latest = { seq: item.seq, ts: item.ts, at };
      const op = opts.ledger?.ops.get(item.eventId);
      if (op) window(op, at, item);
    },
    finish() {
      flush();
    },
  };
}

/** What the scan's checksRun says of the clock check once it ran. */
export function clockCheckRun(c: ClockCheck): { name: string; ran: boolean; reason?: string } {
  if (c.parsed === 0 && c.unparsed > 0)
    return { name: CHECK, ran: false, reason: `no entry's ts is a time (RFC 3339): ${c.unparsed} read` };
  const notes = [
    ...(c.windowSkipped ? [`ts window not checked: ${c.windowSkipped}`] : []),
    ...(c.unparsed > 0 ? [`${c.unparsed} entries whose ts is not a time were skipped`] : []),
  ];
  return { name: CHECK, ran: true, ...(notes.length ? { reason: notes.join('; ') } : {}) };
}

/**
 * Whether a scenario asks for the clock checks, and their tolerances: on with a clock fault or
 * expect.clock, off otherwise (a log whose ts is the transaction's start, or that several clocks
 * stamp, may go backwards by design; judging it so unasked would be a wrong FAIL).
 */
export function clockCheckSettings(scenario: {
  faults: readonly { kind: string }[];
  expect: { clock?: { backwards: number; window: number } | undefined };
}): { backwardsMs: number; windowMs: number } | undefined {
  const asked = scenario.expect.clock;
  if (!asked && !scenario.faults.some((f) => f.kind === 'clock')) return undefined;
  return { backwardsMs: asked?.backwards ?? 0, windowMs: asked?.window ?? 1000 };
}
