/**
 * The visibility reader: during the run it follows a sample of the acknowledged events on the read
 * path (the service's read API, or the log's own table) and records, per event, the last read that
 * did not find it and the first read that did, on the workload clock. What the gap between ack and
 * first sight means is judged later, by src/scan/checks/visibility.ts (pure).
 *
 * Reads go in rounds: every followed event is asked once per round, rounds start at least `poll`
 * apart, and a round starts at once when an event arrives while the reader is idle. A read that
 * errs (5xx, timeout, connection refused) is neither "found" nor "not there": it proves nothing,
 * so a reader cut off by a fault cannot make an event look late.
 */
import { createHash } from 'node:crypto';
import type { LedgerOp } from '../scan/types.ts';
import type { Scenario } from '../scenario/schema.ts';
import { sleep } from '../sleep.ts';

export type VisibilitySpec = NonNullable<Scenario['workload']['visibility']>;

/** One followed event; times are ms on the workload clock. */
export interface VisibilitySample {
  eventId: string;
  /** When the writer got its acknowledgement. */
  ackAt: number;
  /** When the first read that found it answered (the lag as a reader saw it ends here). */
  seenAt?: number;
  /** When the last read that did not find it was sent (it was not visible before this). */
  lastAbsentAt?: number;
  reads: number;
  readErrors: number;
  lastError?: string;
  /** Followed because it was the workload's last acknowledged write, whatever the sample rate. */
  last?: boolean;
  /** The reader stopped following it at its timeout (or at the end of the run) without finding it. */
  gaveUpAt?: number;
}

export interface VisibilityEvidence {
  via: VisibilitySpec['via'];
  sample: number;
  pollMs: number;
  timeoutMs: number;
  /** Acknowledged writes the reader was offered (the sample is drawn from these). */
  offered: number;
  samples: VisibilitySample[];
  /** The reader could not start (no connection to the source, ...): nothing was followed. */
  error?: string;
}

/** One read of one event: found, not there, or a failed read (which proves neither). */
export type ReadAnswer =
  | { state: 'found' | 'absent'; sentAt: number; answeredAt: number }
  | { state: 'error'; sentAt: number; answeredAt: number; error: string };

/** The read path as a port: asks for several event ids at once, answers for each. */
export interface VisibilityProbe {
  read(eventIds: string[], signal: AbortSignal): Promise<Map<string, ReadAnswer>>;
  close(): Promise<void>;
}

/** Whether an event is followed: a hash of (seed, event id), so a replay follows the same events. */
export function isSampled(eventId: string, seed: number, share: number): boolean {
  if (share >= 1) return true;
  const h = createHash('sha256').update(`${seed}:${eventId}`).digest();
  return h.readUInt32BE(0) / 2 ** 32 < share;
}

export interface VisibilityReader {
  /** Offer every finished op (only acknowledged ones are followed). */
  offer(op: LedgerOp): void;
  /**
   * The workload is over: follow `lastAck` too, wait until every followed event was found or
   * timed out (or `signal` aborts), and hand back the evidence.
   */
  finish(lastAck: LedgerOp | undefined, signal: AbortSignal): Promise<VisibilityEvidence>;
}

export function startVisibilityReader(opts: {
  spec: VisibilitySpec;
  seed: number;
  probe: VisibilityProbe;
  /** The workload clock (ms), the one ops' completedAt is on. */
  clock: () => number;
  signal: AbortSignal;
}): VisibilityReader {
  const { spec, probe, clock } = opts;
  const samples: VisibilitySample[] = [];
  const byId = new Map<string, VisibilitySample>();
  let pending: VisibilitySample[] = [];
  let offered = 0;
  let finishing = false;
  let wake: (() => void) | undefined;
  const stop = new AbortController();
  const signal = AbortSignal.any([opts.signal, stop.signal]);
  signal.addEventListener('abort', () => wake?.(), { once: true });

  const follow = (op: LedgerOp, last: boolean) => {
    const known = byId.get(op.eventId);
    if (known) {
      if (last) known.last = true;
      return;
    }
    const s: VisibilitySample = { eventId: op.eventId, ackAt: op.completedAt, reads: 0, readErrors: 0 };
    if (last) s.last = true;
    byId.set(op.eventId, s);
    samples.push(s);
    pending.push(s);
    wake?.();
  };

  const round = async () => {
    const batch = pending;
    const answers = await probe.read(
      batch.map((s) => s.eventId),
      signal,
    );
    const now = clock();
    const still: VisibilitySample[] = [];
    for (const s of batch) {
      const a = answers.get(s.eventId);
      if (a) {
        s.reads++;
        if (a.state === 'found') {
          s.seenAt = a.answeredAt;
          continue;
        }
        if (a.state === 'absent') s.lastAbsentAt = a.sentAt;
        else if (a.state === 'error') {
          s.readErrors++;
          s.lastError = a.error;
        }
      }
      if (now - s.ackAt >= spec.timeout) s.gaveUpAt = now;
      else still.push(s);
    }
    // Events offered while the round ran were appended to `pending`, after the batch.
    pending = [...still, ...pending.slice(batch.length)];
  };

  const loop = (async () => {
    while (!signal.aborted) {
      if (pending.length === 0) {
        if (finishing) return;
        await new Promise<void>((r) => {
          wake = r;
        });
        wake = undefined;
        continue;
      }
      const started = clock();
      try {
        await round();
      } catch (e) {
        if (signal.aborted) return;
        throw e;
      }
      const rest = spec.poll - (clock() - started);
      if (rest > 0) await sleep(rest, signal).catch(() => undefined);
    }
  })();
  loop.catch(() => undefined);

  return {
    offer(op) {
      if (op.outcome !== 'ok' || finishing) return;
      offered++;
      if (isSampled(op.eventId, opts.seed, spec.sample)) follow(op, false);
    },
    async finish(lastAck, finishSignal) {
      if (lastAck && lastAck.outcome === 'ok' && !finishing) {
        if (!byId.has(lastAck.eventId)) offered++;
        follow(lastAck, true);
      }
      finishing = true;
      wake?.();
      const onAbort = () => stop.abort();
      finishSignal.addEventListener('abort', onAbort, { once: true });
      let error: string | undefined;
      try {
        await loop;
      } catch (e) {
        error = `the visibility reader failed: ${(e as Error).message}`;
      } finally {
        finishSignal.removeEventListener('abort', onAbort);
        stop.abort();
        await probe.close().catch(() => undefined);
      }
      const now = clock();
      for (const s of pending) if (s.seenAt === undefined && s.gaveUpAt === undefined) s.gaveUpAt = now;
      return {
        via: spec.via,
        sample: spec.sample,
        pollMs: spec.poll,
        timeoutMs: spec.timeout,
        offered,
        samples,
        ...(error ? { error } : {}),
      };
    },
  };
}
