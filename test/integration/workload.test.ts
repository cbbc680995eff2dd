/**
 * The workload driver against real sockets: a small node:http server on 127.0.0.1 told to ack,
 * reject, fail, hang, reset, fail first attempts, or not listen at all.
 */
import { verify } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import { jcs, payloadDigest } from '../../src/scan/reference-chain.ts';
import type { LedgerOp } from '../../src/scan/types.ts';
import {
  createHttpClient,
  type HttpClient,
  pollCheckpoints,
  type RunWorkloadOptions,
  runWorkload as runWorkloadReal,
  type WorkloadSpec,
} from '../../src/workload/index.ts';
import { startToyServer, type ToyMode, type ToyServer } from '../helpers/toy-event-server.ts';
import { workloadSpec } from '../unit/workload/spec.ts';

const servers: ToyServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((s) => s.close()));
});
async function toy(mode?: ToyMode, keepAliveMs?: number) {
  const s = await startToyServer({ ...(mode ? { mode } : {}), ...(keepAliveMs ? { keepAliveMs } : {}) });
  servers.push(s);
  return s;
}
const spec = (w: Record<string, unknown>): WorkloadSpec =>
  workloadSpec({ rate: '100/s', duration: '500ms', writers: 4, checkpoint: false, ...w });
const UUID_V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

// The default client (raw keep-alive sockets) and the undici one must classify outcomes alike.
const CLIENTS: [string, ((url: string, w: WorkloadSpec) => HttpClient) | undefined][] = [
  ['default client', undefined],
  [
    'undici client',
    (url, w) => createHttpClient({ baseUrl: url, connections: w.writers, timeoutMs: w.timeout }),
  ],
];

describe.each(CLIENTS)('runWorkload (%s)', (_name, makeClient) => {
  const runWorkload = async (o: RunWorkloadOptions) => {
    const client = makeClient?.(o.target ?? o.spec.target, o.spec);
    try {
      return await runWorkloadReal({ ...o, ...(client ? { client } : {}) });
    } finally {
      await client?.close();
    }
  };

  it('writes every planned op once, acknowledged, with the ledger matching what the service got', async () => {
    const s = await toy();
    const seen: LedgerOp[] = [];
    const r = await runWorkload({ spec: spec({}), target: s.url, seed: 5, onOp: (op) => seen.push(op) });
    expect(r.planned).toBe(50);
    expect(r.counts).toMatchObject({ attempted: 50, ok: 50, fail: 0, indeterminate: 0, requests: 50 });
    expect(r.availability).toBe(1);
    expect(seen).toEqual(r.ops);
    expect(s.stored.size).toBe(50);
    const byId = new Map(s.received.map((q) => [q.body.event_id as string, q]));
    for (const op of r.ops) {
      expect(op.eventId).toMatch(UUID_V7);
      const got = byId.get(op.eventId);
      expect(got?.method).toBe('POST');
      expect(got?.url).toBe('/events');
      expect(payloadDigest(got?.body.payload)).toBe(op.payloadDigest);
      expect(got?.body.actor).toBe(op.actor);
      expect(op.seq).toBe(s.stored.get(op.eventId)?.seq);
      expect(op.status).toBe(201);
      expect(op.attempts).toBe(1);
      expect(op.completedAt).toBeGreaterThanOrEqual(op.invokedAt);
      expect(op.invokedAt).toBeGreaterThanOrEqual(op.scheduledAt ?? Number.NaN);
    }
    // Arrivals follow the schedule: op i scheduled i * 10 ms after the first.
    const sorted = [...r.ops].sort((a, b) => (a.planIndex ?? 0) - (b.planIndex ?? 0));
    expect((sorted[49]?.scheduledAt ?? 0) - (sorted[0]?.scheduledAt ?? 0)).toBeCloseTo(490, 6);
    expect(r.series.reduce((a, x) => a + x.ok, 0)).toBe(50);
    expect(r.latency.count).toBe(50);
    expect(r.latency.max).toBeGreaterThan(0);
  });

  it('shapes the request as the scenario says: method, path, headers, body template, ack statuses', async () => {
    const s = await toy({ kind: 'ack', status: 202 });
    const r = await runWorkload({
      spec: spec({
        duration: '100ms',
        request: {
          method: 'PUT',
          path: '/v2/audit/{eventId}',
          headers: { 'x-actor': '{actor}', authorization: 'Bearer t0k' },
          body: { record: { who: '{actor}', what: '{action}', data: '{payload}' } },
          ackStatuses: [202],
        },
      }),
      target: `${s.url}/base/`,
      seed: 1,
    });
    expect(r.counts.ok).toBe(10);
    const q = s.received[0];
    const op = r.ops.find((o) => q?.url === `/base/v2/audit/${o.eventId}`);
    expect(op).toBeDefined();
    expect(q?.method).toBe('PUT');
    expect(q?.headers['x-actor']).toBe(op?.actor);
    expect(q?.headers.authorization).toBe('Bearer t0k');
    expect(q?.headers['content-type']).toBe('application/json');
    const record = q?.body.record as Record<string, unknown>;
    expect(record.who).toBe(op?.actor);
    expect(record.what).toBe('login');
    expect(payloadDigest(record.data)).toBe(op?.payloadDigest);
  });

  it('records a 4xx as a definite failure and does not retry it', async () => {
    const s = await toy({ kind: 'status', status: 400 });
    const r = await runWorkload({ spec: spec({ duration: '100ms' }), target: s.url, seed: 1 });
    expect(r.counts).toMatchObject({ ok: 0, fail: 10, indeterminate: 0, requests: 10 });
    expect(r.ops[0]).toMatchObject({ outcome: 'fail', status: 400, attempts: 1, error: 'HTTP 400' });
    expect(r.availability).toBe(0);
  });

  it('retries a 5xx with the same event id and backoff, then calls it indeterminate', async () => {
    const s = await toy({ kind: 'status', status: 503 });
    const r = await runWorkload({
      spec: spec({ duration: '50ms', retry: { attempts: 3, backoff: '20ms' } }),
      target: s.url,
      seed: 1,
    });
    expect(r.counts).toMatchObject({ attempted: 5, indeterminate: 5, requests: 15 });
    const op = r.ops[0] as LedgerOp;
    expect(op.attempts).toBe(3);
    expect(op.attemptsDetail?.map((a) => a.status)).toEqual([503, 503, 503]);
    const starts = op.attemptsDetail?.map((a) => a.startedAt) ?? [];
    // backoff 20 ms then 40 ms (timers may fire a little late, never early)
    expect((starts[1] ?? 0) - (starts[0] ?? 0)).toBeGreaterThanOrEqual(19);
    expect((starts[2] ?? 0) - (starts[1] ?? 0)).toBeGreaterThanOrEqual(39);
    const ids = s.received.map((q) => q.body.event_id);
    expect(new Set(ids).size).toBe(5);
    expect(ids.filter((id) => id === op.eventId)).toHaveLength(3);
  });

  it('counts an op acknowledged after a failed attempt as ok, with every attempt recorded', async () => {
    const s = await toy({ kind: 'flaky', failures: 1 });
    const r = await runWorkload({
      spec: spec({ duration: '50ms', retry: { attempts: 3, backoff: '5ms' } }),
      target: s.url,
      seed: 1,
    });
    expect(r.counts).toMatchObject({ ok: 5, requests: 10 });
    expect(r.ops[0]?.attemptsDetail?.map((a) => a.outcome)).toEqual(['indeterminate', 'ok']);
    expect(s.stored.size).toBe(5);
  });

  it('bounds each request by the timeout, even when the service never answers', async () => {
    const s = await toy({ kind: 'store-then-hang' });
    const r = await runWorkload({
      spec: spec({ duration: '30ms', writers: 3, timeout: '300ms', retry: { attempts: 2, backoff: '10ms' } }),
      target: s.url,
      seed: 1,
    });
    expect(r.counts).toMatchObject({ attempted: 3, indeterminate: 3, requests: 6 });
    for (const op of r.ops) {
      expect(op.error).toMatch(/^timeout/);
      for (const a of op.attemptsDetail ?? []) {
        expect(a.latencyMs).toBeGreaterThanOrEqual(295);
        expect(a.latencyMs).toBeLessThan(1500); // generous: a busy CI box; measured values are ~300
      }
    }
    // The service did store them: exactly why a timeout is indeterminate, not a failure.
    expect(s.stored.size).toBe(3);
  });

  it('calls a reset connection indeterminate', async () => {
    const s = await toy({ kind: 'reset' });
    const r = await runWorkload({
      spec: spec({ duration: '30ms', retry: { attempts: 1 } }),
      target: s.url,
      seed: 1,
    });
    expect(r.counts).toMatchObject({ attempted: 3, indeterminate: 3 });
    expect(r.ops[0]?.error).toMatch(/^reset/);
  });

  it('calls a refused connection a definite failure, after retrying it', async () => {
    const s = await toy();
    const url = s.url;
    await s.close();
    servers.length = 0;
    const r = await runWorkload({
      spec: spec({ duration: '30ms', retry: { attempts: 2, backoff: '5ms' } }),
      target: url,
      seed: 1,
    });
    expect(r.counts).toMatchObject({ attempted: 3, fail: 3, requests: 6 });
    expect(r.ops[0]?.error).toMatch(/^refused/);
  });

  it('keeps arriving on schedule when the service is slow: late starts recorded, the rest never sent, none dropped', async () => {
    const s = await toy({ kind: 'hang' });
    const r = await runWorkload({
      spec: spec({ rate: '100/s', duration: '1s', writers: 2, timeout: '200ms', retry: { attempts: 1 } }),
      target: s.url,
      seed: 1,
      drainMs: 0,
    });
    // Every planned op is in the ledger exactly once: sent (attempted) or not-sent.
    expect(r.counts.attempted + r.counts.notSent).toBe(100);
    expect(r.ops).toHaveLength(100);
    expect(new Set(r.ops.map((o) => o.planIndex)).size).toBe(100);
    const sent = r.ops.filter((o) => o.attempts > 0);
    const notSent = r.ops.filter((o) => o.attempts === 0);
    // Two writers, 200 ms per op: about 10 sent in the second (scheduler jitter allowed).
    expect(sent.length).toBeGreaterThanOrEqual(8);
    expect(sent.length).toBeLessThanOrEqual(14);
    expect(r.counts.notSent).toBe(notSent.length);
    expect(r.counts.attempted).toBe(sent.length);
    expect(notSent.every((o) => o.outcome === 'not-sent' && /^not sent/.test(o.error ?? ''))).toBe(true);
    expect(r.driver).toMatchObject({ notSent: notSent.length, notSentBehind: notSent.length, arrived: 100 });
    // Sent ops started later and later against their schedule (the backlog grew).
    const lastSent = sent.reduce((a, b) => ((a.planIndex ?? 0) > (b.planIndex ?? 0) ? a : b));
    expect(lastSent.invokedAt - (lastSent.scheduledAt ?? 0)).toBeGreaterThan(500);
    expect(r.lateness.max).toBeGreaterThan(500);
    expect(r.series.some((x) => (x.backlog ?? 0) > 50)).toBe(true);
  });

  it('plans the same workload for the same seed: payloads, their order, and the random part of the ids', async () => {
    const s = await toy();
    const run = async (seed: number) => {
      const r = await runWorkload({ spec: spec({ duration: '200ms' }), target: s.url, seed });
      return [...r.ops]
        .sort((a, b) => (a.planIndex ?? 0) - (b.planIndex ?? 0))
        .map((o) => ({ i: o.planIndex, d: o.payloadDigest, a: o.actor, rnd: o.eventId.slice(14) }));
    };
    const a = await run(77);
    const b = await run(77);
    const c = await run(78);
    expect(a).toHaveLength(20);
    expect(b).toEqual(a);
    expect(c.map((x) => x.d)).not.toEqual(a.map((x) => x.d));
  });

  it('stops promptly on abort and still accounts for every op that arrived', async () => {
    const s = await toy({ kind: 'hang' });
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 300);
    const t = performance.now();
    const r = await runWorkload({
      spec: spec({ rate: '100/s', duration: '10s', writers: 2, timeout: '5s' }),
      target: s.url,
      seed: 1,
      signal: ac.signal,
    });
    expect(performance.now() - t).toBeLessThan(3000);
    expect(r.aborted).toBe(true);
    const arrived = r.counts.attempted + r.counts.notSent;
    expect(arrived).toBeGreaterThanOrEqual(25);
    expect(arrived).toBeLessThan(100);
    // Not sent because of the interrupt: not the driver falling behind.
    expect(r.driver.notSentBehind).toBe(0);
    const inFlight = r.ops.filter((o) => o.attempts > 0);
    expect(inFlight).toHaveLength(2);
    expect(inFlight.every((o) => o.outcome === 'indeterminate' && /^aborted/.test(o.error ?? ''))).toBe(true);
    expect(new Set(r.ops.map((o) => o.planIndex)).size).toBe(arrived);
  });
});

describe('runWorkload errors', () => {
  it('lets a throwing onOp surface, with its poller and sockets stopped', async () => {
    const s = await toy();
    await expect(
      runWorkloadReal({
        spec: spec({ duration: '2s', checkpoint: { every: '50ms' } }),
        target: s.url,
        seed: 1,
        onOp: () => {
          throw new Error('sink failed');
        },
      }),
    ).rejects.toThrow('sink failed');
    // Requests already written may still be read by the server (same process); then nothing more.
    await new Promise((r) => setTimeout(r, 100));
    const settled = s.requests;
    await new Promise((r) => setTimeout(r, 300));
    expect(s.requests).toBe(settled); // a live poller (50 ms) or live writers (100/s) would add ~6-30
  });
});

describe('the default client', () => {
  it('reads chunked replies and replies that close the connection', async () => {
    for (const mode of [
      { kind: 'ack', chunked: true },
      { kind: 'ack', close: true },
    ] as const) {
      const s = await toy(mode);
      const r = await runWorkloadReal({ spec: spec({ duration: '100ms' }), target: s.url, seed: 1 });
      expect(r.counts).toMatchObject({ ok: 10, requests: 10 });
      expect(r.ops.map((o) => o.seq).sort((a, b) => (a ?? 0) - (b ?? 0))).toEqual([
        1, 2, 3, 4, 5, 6, 7, 8, 9, 10,
      ]);
    }
  });

  it('reconnects when the service closes idle keep-alive connections, without counting a failure', async () => {
    const s = await toy(undefined, 30);
    const r = await runWorkloadReal({
      spec: spec({ rate: '10/s', duration: '600ms', writers: 1, retry: { attempts: 1 } }),
      target: s.url,
      seed: 1,
    });
    expect(r.counts).toMatchObject({ attempted: 6, ok: 6, requests: 6 });
  });
});

describe('checkpoint polling', () => {
  it('records signed heads during the run, verifiable with the key it read', async () => {
    const s = await toy();
    const r = await runWorkloadReal({
      spec: spec({ rate: '200/s', duration: '1s', checkpoint: { every: '200ms' } }),
      target: s.url,
      seed: 1,
    });
    const cps = r.checkpoints;
    expect(cps?.publicKey).toMatch(/BEGIN PUBLIC KEY/);
    expect(cps?.errors).toBe(0);
    expect(cps?.checkpoints.length).toBeGreaterThanOrEqual(3);
    const seqs = cps?.checkpoints.map((c) => c.seq) ?? [];
    expect([...seqs].sort((a, b) => a - b)).toEqual(seqs);
    expect(seqs.at(-1)).toBe(200); // the final poll after the last write
    for (const c of cps?.checkpoints ?? []) {
      const body = Buffer.from(jcs({ seq: c.seq, hash: c.hash, ts: c.ts }));
      expect(verify(null, body, cps?.publicKey ?? '', Buffer.from(c.signature, 'base64'))).toBe(true);
      expect(typeof c.observedAt).toBe('number');
    }
  });

  it('keeps polling through an outage and says what failed', async () => {
    const s = await toy();
    const url = s.url;
    await s.close();
    servers.length = 0;
    const poller = pollCheckpoints({
      baseUrl: url,
      path: '/checkpoint',
      everyMs: 50,
      signal: new AbortController().signal,
    });
    await new Promise((r) => setTimeout(r, 300));
    const res = await poller.stop();
    expect(res.publicKey).toBe('');
    expect(res.keyError).toMatch(/checkpoint\/key/);
    expect(res.errors).toBeGreaterThanOrEqual(3);
    expect(res.errors).toBe(res.polls);
    expect(res.lastError).toMatch(/ECONNREFUSED|refused/i);
    expect(res.checkpoints).toEqual([]);
  });
});
