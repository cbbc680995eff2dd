/**
 * Workload statistics, pure: latency in HDR histograms (microsecond resolution, reported in ms),
 * and a per-second series of what completed in each second of the run clock. Seconds are closed
 * as the run's clock passes them, so memory holds only the seconds still open.
 */
import { build, type Histogram } from 'hdr-histogram-js';
import type { LedgerOp, OpOutcome } from '../scan/types.ts';

export interface LatencySummary {
  count: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
  mean: number;
}

/** One second of the run: ops completed in [t, t+1) s of the run clock, by outcome. */
export interface SecondStats {
  /** Seconds since the run's start (the run clock), the start of this one-second window. */
  t: number;
  ok: number;
  /** Definite failures (4xx, refused). */
  errors: number;
  indeterminate: number;
  /** Latency percentiles (ms) of the ops completed in this second, all outcomes; null when none. */
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
  /** Ops that had arrived but not yet started when the second closed (open-model backlog). */
  backlog?: number;
  /** Requests in flight when the second closed. */
  inFlight?: number;
}

export interface OutcomeCounts {
  /** Every op the driver sent: ok + fail + indeterminate (not-sent ops are not attempts). */
  attempted: number;
  ok: number;
  fail: number;
  indeterminate: number;
  /**
   * Ops that arrived but the driver never sent (backlog left at the end, or interrupted): the
   * driver's shortfall, not the service's failure; outside `attempted` and availability.
   */
  notSent: number;
  /** HTTP requests sent, retries included. */
  requests: number;
}

// 1 µs .. 1 h, 3 significant digits: 0.1% error, a few tens of KiB per histogram.
const HIGHEST_US = 3_600_000_000;
const newHistogram = (): Histogram =>
  build({ lowestDiscernibleValue: 1, highestTrackableValue: HIGHEST_US, numberOfSignificantValueDigits: 3 });
const recordMs = (h: Histogram, ms: number) =>
  h.recordValue(Math.min(HIGHEST_US, Math.max(1, Math.round(ms * 1000))));
const atUs = (h: Histogram, p: number) => h.getValueAtPercentile(p) / 1000;

export function summarize(h: Histogram): LatencySummary {
  if (h.totalCount === 0) return { count: 0, p50: 0, p90: 0, p99: 0, max: 0, mean: 0 };
  return {
    count: h.totalCount,
    p50: atUs(h, 50),
    p90: atUs(h, 90),
    p99: atUs(h, 99),
    max: h.maxValue / 1000,
    mean: h.mean / 1000,
  };
}

interface OpenSecond {
  ok: number;
  errors: number;
  indeterminate: number;
  hist: Histogram;
}

export class WorkloadStats {
  private readonly all = newHistogram();
  private readonly acked = newHistogram();
  private readonly late = newHistogram();
  private readonly open = new Map<number, OpenSecond>();
  private readonly spare: Histogram[] = [];
  /** The first second not yet closed. */
  private nextSecond: number;
  readonly counts: OutcomeCounts = {
    attempted: 0,
    ok: 0,
    fail: 0,
    indeterminate: 0,
    notSent: 0,
    requests: 0,
  };
  /** Ops that completed in a second already closed (a clock that went backwards); counted overall only. */
  lateOps = 0;

  constructor(startMs = 0) {
    this.nextSecond = Math.floor(startMs / 1000);
  }

  /** Latency is completedAt - invokedAt (time from the first attempt's start to the op's end). */
  add(op: LedgerOp): void {
    const c = this.counts;
    if (op.outcome === 'not-sent') {
      c.notSent++;
      return; // never sent: no latency to speak of
    }
    c.attempted++;
    c[op.outcome]++;
    c.requests += op.attempts;
    if (op.attempts === 0) return;
    const ms = Math.max(0, op.completedAt - op.invokedAt);
    recordMs(this.all, ms);
    if (op.outcome === 'ok') recordMs(this.acked, ms);
    const s = Math.floor(op.completedAt / 1000);
    if (s < this.nextSecond) {
      this.lateOps++;
      return;
    }
    let sec = this.open.get(s);
    if (sec === undefined) {
      sec = { ok: 0, errors: 0, indeterminate: 0, hist: this.spare.pop() ?? newHistogram() };
      this.open.set(s, sec);
    }
    bump(sec, op.outcome);
    recordMs(sec.hist, ms);
  }

  /** Closes every second before `second` (empty ones included) and returns them in order. */
  closeBefore(second: number): SecondStats[] {
    const out: SecondStats[] = [];
    for (; this.nextSecond < second; this.nextSecond++) {
      const t = this.nextSecond;
      const sec = this.open.get(t);
      if (sec === undefined) {
        out.push({ t, ok: 0, errors: 0, indeterminate: 0, p50: null, p90: null, p99: null, max: null });
        continue;
      }
      this.open.delete(t);
      const h = sec.hist;
      out.push({
        t,
        ok: sec.ok,
        errors: sec.errors,
        indeterminate: sec.indeterminate,
        p50: atUs(h, 50),
        p90: atUs(h, 90),
        p99: atUs(h, 99),
        max: h.maxValue / 1000,
      });
      h.reset();
      this.spare.push(h);
    }
    return out;
  }

  /** Closes every second up to and including the last one that has data, or `untilMs`'s second. */
  flush(untilMs?: number): SecondStats[] {
    let last = untilMs === undefined ? this.nextSecond - 1 : Math.floor(untilMs / 1000);
    for (const s of this.open.keys()) last = Math.max(last, s);
    return this.closeBefore(last + 1);
  }

  /** How late an op started against its open-model schedule (ms). */
  addLateness(ms: number): void {
    this.late.recordValue(Math.min(HIGHEST_US, Math.max(0, Math.round(ms * 1000))));
  }

  lateness(): LatencySummary {
    return summarize(this.late);
  }

  latency(): LatencySummary {
    return summarize(this.all);
  }

  ackedLatency(): LatencySummary {
    return summarize(this.acked);
  }

  /** acked / attempted (not-sent ops excluded), 0..1; 0 when nothing was attempted (no evidence is not availability). */
  availability(): number {
    return this.counts.attempted === 0 ? 0 : this.counts.ok / this.counts.attempted;
  }
}

function bump(sec: OpenSecond, outcome: OpOutcome): void {
  if (outcome === 'ok') sec.ok++;
  else if (outcome === 'fail') sec.errors++;
  else sec.indeterminate++;
}
