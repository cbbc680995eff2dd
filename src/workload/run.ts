/**
 * The workload driver: N writers fed by an open-model arrival schedule (constant arrival rate, as
 * k6's constant-arrival-rate: arrivals do not wait for slow replies). An op that arrives while
 * every writer is busy waits in the backlog and records both its scheduled and its actual start;
 * the backlog is a range of plan indexes, so it costs no memory however far it grows. Nothing is
 * dropped silently: ops still in the backlog when the run stops are recorded as `not-sent`, the
 * driver's own shortfall, and the event loop's delay is measured throughout (a driver that fell
 * behind measures its own lag, not the service's latency).
 */
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { v7 as uuidv7 } from 'uuid';
import type { AttemptDetail, LedgerOp, OpOutcome } from '../scan/types.ts';
import { sleep } from '../sleep.ts';
import { type CheckpointPollResult, pollCheckpoints } from './checkpoints.ts';
import type { HttpClient } from './http-client.ts';
import { attemptOutcome, backoffMs, opOutcome, shouldRetry } from './outcome.ts';
import { planWorkload, type WorkloadSpec } from './plan.ts';
import { createRawHttpClient } from './raw-http-client.ts';
import { type LatencySummary, type OutcomeCounts, type SecondStats, WorkloadStats } from './stats.ts';
import { compileBodyTemplate, compileTextTemplate, type PlaceholderValues } from './template.ts';

export interface RunWorkloadOptions {
  spec: WorkloadSpec;
  /** Base URL of the service; overrides spec.target (the run's stack decides where it listens). */
  target?: string;
  seed: number;
  /** ms since the run's start; defaults to a monotonic clock started when runWorkload is called. */
  clock?: () => number;
  /** Stops arrivals and aborts requests in flight; the result is still returned (aborted: true). */
  signal?: AbortSignal;
  onOp?: (op: LedgerOp) => void;
  onSecond?: (s: SecondStats) => void;
  /** Poll spec.checkpoint during the run (default true when the spec has one). */
  checkpoints?: boolean;
  /**
   * After the last arrival, how long writers keep taking ops from the backlog (default: the
   * longest an op can take, attempts x timeout + backoffs). Ops still waiting then are recorded
   * as never sent.
   */
  drainMs?: number;
  /** Keep every op in result.ops (default true); false keeps memory flat for very long runs. */
  keepOps?: boolean;
  /** An HTTP client to use instead of the default undici pool (tests, other transports). */
  client?: HttpClient;
}

export interface WorkloadResult {
  ops: LedgerOp[];
  counts: OutcomeCounts;
  /** acked / attempted (0..1); 0 when nothing was attempted. */
  availability: number;
  /** Per op, first attempt start to last attempt end, all sent ops (ms, from the HDR histogram). */
  latency: LatencySummary;
  /** The same, acknowledged ops only. */
  ackedLatency: LatencySummary;
  series: SecondStats[];
  /** How late ops started relative to their schedule (ms): a sign the writers could not keep up. */
  lateness: LatencySummary;
  /** Run clock at the first arrival and when the last op completed. */
  startedAt: number;
  endedAt: number;
  planned: number;
  aborted: boolean;
  checkpoints?: CheckpointPollResult;
  /** The driver's own health: what it could not send, and how late its event loop ran. */
  driver: DriverSample;
}

/** What the load driver measured of itself (judged by judgeDriver, src/workload/driver-health.ts). */
export interface DriverSample {
  /** Ops that arrived and were never sent, for any reason. */
  notSent: number;
  /** Of notSent: still waiting for a free writer when the drain ended (not an interrupt). */
  notSentBehind: number;
  /** Ops that arrived: sent + not sent. */
  arrived: number;
  /** Event-loop delay during the workload (perf_hooks monitorEventLoopDelay), ms; 0 without samples. */
  loopLagP99Ms: number;
  loopLagMaxMs: number;
}

const LOOP_RESOLUTION_MS = 10;
/** The histogram holds ns between the sampling timer's ticks, the resolution included: lag is the rest. */
const lagMs = (samples: number, ns: number) =>
  samples > 0 ? Math.max(0, Math.round((ns / 1e6 - LOOP_RESOLUTION_MS) * 10) / 10) : 0;

/** The reply's seq, top level or under `entry`, when the body is a JSON object that has one. */
function replySeq(body: string): number | undefined {
  if (body.length === 0 || body.length > 65_536 || body.charCodeAt(0) !== 123 /* { */) return undefined;
  try {
    const v = JSON.parse(body) as { seq?: unknown; entry?: { seq?: unknown } };
    const seq = v.seq ?? v.entry?.seq;
    return typeof seq === 'number' && Number.isSafeInteger(seq) ? seq : undefined;
  } catch {
    return undefined;
  }
}

export async function runWorkload(opts: RunWorkloadOptions): Promise<WorkloadResult> {
  const { spec, seed, signal } = opts;
  const t0 = performance.now();
  const clock = opts.clock ?? (() => performance.now() - t0);
  const plan = planWorkload(spec, seed);
  const target = opts.target ?? spec.target;
  const req = spec.request;
  const pathOf = compileTextTemplate(req.path, 'uri');
  const bodyOf = compileBodyTemplate(req.body);
  const headerEntries = Object.entries(req.headers).map(
    ([k, v]) => [k, compileTextTemplate(v, 'raw')] as const,
  );
  if (!headerEntries.some(([k]) => k.toLowerCase() === 'content-type')) {
    headerEntries.push(['content-type', () => 'application/json']);
  }
  const ack = req.ackStatuses;
  const maxAttempts = spec.retry.attempts;
  let worstOpMs = 0;
  for (let k = 1; k <= maxAttempts; k++)
    worstOpMs += spec.timeout + (k > 1 ? backoffMs(spec.retry.backoff, k) : 0);
  const drainMs = opts.drainMs ?? worstOpMs;

  const client = opts.client ?? createRawHttpClient({ baseUrl: target, connections: spec.writers });
  const poller =
    opts.checkpoints !== false && spec.checkpoint !== false
      ? pollCheckpoints({
          baseUrl: target,
          path: spec.checkpoint.path,
          everyMs: spec.checkpoint.every,
          clock,
          signal,
        })
      : undefined;

  const startedAt = clock();
  const stats = new WorkloadStats(startedAt);
  const loopDelay = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  loopDelay.enable();
  const keepOps = opts.keepOps !== false;
  const ops: LedgerOp[] = [];
  const series: SecondStats[] = [];
  let next = 0; // next plan index to start
  let inFlight = 0;
  let stopping = false; // no more ops start
  let arrivalsCut = plan.count; // ops with index >= this never arrived (run interrupted)
  const lastStartAt = startedAt + plan.durationMs + drainMs;

  const record = (op: LedgerOp) => {
    stats.add(op);
    if (keepOps) ops.push(op);
    opts.onOp?.(op);
  };

  const arrived = () => Math.min(arrivalsCut, plan.arrivedBy(clock() - startedAt));

  // Idle writers wait here; one timer wakes them when the next op arrives.
  const idle: ((index: number) => void)[] = [];
  let timer: NodeJS.Timeout | undefined;
  const wake = () => {
    timer = undefined;
    const now = clock();
    if (stopping || now > lastStartAt) return finish();
    const have = arrived();
    while (idle.length > 0 && next < have) (idle.shift() as (i: number) => void)(next++);
    if (next >= arrivalsCut) return finish();
    if (idle.length > 0) arm();
  };
  const arm = () => {
    if (timer !== undefined) return;
    const due = startedAt + plan.offsetMs(next);
    timer = setTimeout(wake, Math.max(0, due - clock()));
  };
  const finish = () => {
    stopping = true;
    if (timer !== undefined) clearTimeout(timer);
    timer = undefined;
    for (const w of idle.splice(0)) w(-1);
  };
  const nextOp = (): number | Promise<number> => {
    if (stopping) return -1;
    if (next >= arrivalsCut) {
      finish();
      return -1;
    }
    if (clock() > lastStartAt) {
      finish();
      return -1;
    }
    if (next < arrived()) return next++;
    return new Promise<number>((resolve) => {
      idle.push(resolve);
      arm();
    });
  };

  const onAbort = () => {
    arrivalsCut = Math.min(plan.count, Math.max(next, arrived()));
    finish();
    client.abortAll();
  };
  if (signal?.aborted) onAbort();
  else signal?.addEventListener('abort', onAbort, { once: true });

  const values: PlaceholderValues = { eventId: '', actor: '', action: '', payload: '', n: '', op: '' };
  const runOp = async (index: number, writer: number) => {
    const p = plan.op(index);
    const scheduledAt = startedAt + p.offsetMs;
    const invokedAt = clock();
    stats.addLateness(invokedAt - scheduledAt);
    const eventId = uuidv7({ msecs: Date.now(), random: p.idRandom });
    values.eventId = eventId;
    values.actor = p.actor;
    values.action = p.action;
    values.payload = p.payloadJson;
    values.n = String(p.lane);
    values.op = String(index);
    const headers: Record<string, string> = {};
    for (const [k, f] of headerEntries) headers[k] = f(values);
    const request = { method: req.method, path: pathOf(values), headers, body: bodyOf(values) };
    const detail: AttemptDetail[] = [];
    const outcomes: OpOutcome[] = [];
    let status: number | undefined;
    let error: string | undefined;
    let seq: number | undefined;
    inFlight++;
    for (let k = 1; k <= maxAttempts; k++) {
      const at = clock();
      const reply = await client.send(request, spec.timeout);
      const end = clock();
      const result = reply.error === undefined ? { status: reply.status } : { transportError: reply.error };
      const outcome = attemptOutcome(result, ack);
      outcomes.push(outcome);
      const d: AttemptDetail = { startedAt: at, latencyMs: end - at, outcome };
      if (reply.error === undefined) {
        d.status = status = reply.status;
        error = outcome === 'ok' ? undefined : `HTTP ${reply.status}`;
        if (outcome === 'ok') seq = replySeq(reply.body);
      } else {
        status = undefined;
        d.error = error = `${reply.error}: ${reply.message}`;
      }
      detail.push(d);
      if (k === maxAttempts || !shouldRetry(result, outcome) || signal?.aborted) break;
      await sleep(backoffMs(spec.retry.backoff, k + 1), signal);
      if (signal?.aborted) break;
    }
    inFlight--;
    const completedAt = clock();
    const outcome = opOutcome(outcomes);
    const op: LedgerOp = {
      eventId,
      outcome,
      payloadDigest: p.payloadDigest,
      invokedAt,
      completedAt,
      attempts: detail.length,
      writer,
      planIndex: index,
      actor: p.actor,
      action: p.action,
      scheduledAt,
      latencyMs: completedAt - invokedAt,
      attemptsDetail: detail,
    };
    if (status !== undefined) op.status = status;
    if (error !== undefined && outcome !== 'ok') op.error = error;
    if (seq !== undefined) op.seq = seq;
    record(op);
  };

  const closeSeconds = (list: SecondStats[]) => {
    for (const s of list) {
      series.push(s);
      opts.onSecond?.(s);
    }
  };
  const tick = () => {
    const now = clock();
    const list = stats.closeBefore(Math.floor(now / 1000));
    const last = list[list.length - 1];
    if (last !== undefined) {
      last.backlog = Math.max(0, arrived() - next);
      last.inFlight = inFlight;
    }
    closeSeconds(list);
    ticker = setTimeout(tick, 1000 - (clock() % 1000) + 1);
  };
  let ticker = setTimeout(tick, 1000 - (startedAt % 1000) + 1);

  const writer = async (w: number) => {
    for (;;) {
      const got = nextOp();
      const index = typeof got === 'number' ? got : await got;
      if (index < 0) return;
      await runOp(index, w);
    }
  };

  try {
    await Promise.all(Array.from({ length: spec.writers }, (_, w) => writer(w + 1)));
  } catch (e) {
    // A throwing onOp/onSecond callback: stop everything this call started, then let it surface.
    finish();
    client.abortAll();
    await poller?.stop({ finalPoll: false });
    throw e;
  } finally {
    loopDelay.disable();
    clearTimeout(ticker);
    signal?.removeEventListener('abort', onAbort);
    if (opts.client === undefined) await client.close();
  }

  // Arrived, never started: recorded as not-sent (the driver's shortfall), never dropped.
  const stopAt = clock();
  const cut = signal?.aborted ? arrivalsCut : plan.count;
  const notSentBehind = signal?.aborted ? 0 : Math.max(0, cut - next);
  for (let i = next; i < cut; i++) {
    const p = plan.op(i);
    const scheduledAt = startedAt + p.offsetMs;
    record({
      eventId: uuidv7({ msecs: Date.now(), random: p.idRandom }),
      outcome: 'not-sent',
      payloadDigest: p.payloadDigest,
      invokedAt: scheduledAt,
      completedAt: stopAt,
      attempts: 0,
      error: signal?.aborted
        ? 'not sent: the run was interrupted before a writer was free'
        : `not sent: still waiting for a free writer ${Math.round(drainMs)} ms after the last arrival`,
      planIndex: i,
      actor: p.actor,
      action: p.action,
      scheduledAt,
      attemptsDetail: [],
    });
  }
  const endedAt = clock();
  closeSeconds(stats.flush(endedAt));
  const checkpoints = poller ? await poller.stop() : undefined;

  return {
    ops,
    counts: { ...stats.counts },
    availability: stats.availability(),
    latency: stats.latency(),
    ackedLatency: stats.ackedLatency(),
    series,
    lateness: stats.lateness(),
    startedAt,
    endedAt,
    planned: plan.count,
    aborted: signal?.aborted === true,
    ...(checkpoints ? { checkpoints } : {}),
    driver: {
      notSent: stats.counts.notSent,
      notSentBehind,
      arrived: stats.counts.attempted + stats.counts.notSent,
      loopLagP99Ms: lagMs(loopDelay.count, loopDelay.percentile(99)),
      loopLagMaxMs: lagMs(loopDelay.count, loopDelay.max),
    },
  };
}
