/**
 * Whether the load driver kept up with its own schedule (pure). A driver that could not send what
 * the scenario asked for, or whose event loop ran far behind, measured itself: its availability
 * and latency say nothing about the service, so the verdict on them is unknown.
 */
import type { DriverSample } from './run.ts';

/** More than this share of the arrived ops never sent: the driver fell behind. */
export const NOT_SENT_SHARE_LIMIT = 0.01;
/** Event-loop delay p99 above this (ms): latencies are the driver's own, not the service's. */
export const LOOP_LAG_P99_LIMIT_MS = 500;

export interface DriverHealth {
  notSent: number;
  /** notSent / arrived (0..1); 0 when nothing arrived. */
  share: number;
  loopLagP99Ms: number;
  loopLagMaxMs: number;
  fellBehind: boolean;
  /** Why it fell behind, as a sentence; absent when it kept up. */
  reason?: string;
}

export function judgeDriver(d: DriverSample): DriverHealth {
  const share = d.arrived > 0 ? d.notSent / d.arrived : 0;
  const behindShare = d.arrived > 0 ? d.notSentBehind / d.arrived : 0;
  const why: string[] = [];
  if (behindShare > NOT_SENT_SHARE_LIMIT)
    why.push(
      `${d.notSentBehind} of ${d.arrived} requests (${(100 * behindShare).toFixed(1)}%) were never sent: no writer was free in time`,
    );
  if (d.loopLagP99Ms > LOOP_LAG_P99_LIMIT_MS)
    why.push(
      `its event loop lagged ${Math.round(d.loopLagP99Ms)} ms at p99 (limit ${LOOP_LAG_P99_LIMIT_MS} ms)`,
    );
  const base = {
    notSent: d.notSent,
    share,
    loopLagP99Ms: d.loopLagP99Ms,
    loopLagMaxMs: d.loopLagMaxMs,
  };
  return why.length
    ? { ...base, fellBehind: true, reason: `the load driver fell behind: ${why.join('; ')}` }
    : { ...base, fellBehind: false };
}
