/**
 * Checkpoint polling during the run: GET {path} (signed head {seq, hash, ts, signature}) every
 * `everyMs`, and the public key once from {keyPath} (default {path}/key). What was observed is
 * kept for the scan's rollback check; nothing is verified here (the scan does that).
 */
import { performance } from 'node:perf_hooks';
import { request } from 'undici';
import type { Checkpoint, CheckpointSet } from '../scan/types.ts';

export interface CheckpointPollResult extends CheckpointSet {
  /** Empty when the key could never be read; keyError then says why. */
  publicKey: string;
  algorithm?: string;
  keyError?: string;
  polls: number;
  errors: number;
  lastError?: string;
}

export interface CheckpointPoller {
  /** Stops polling; by default reads the head one last time first (bounded by the timeout). */
  stop(opts?: { finalPoll?: boolean }): Promise<CheckpointPollResult>;
}

export interface PollCheckpointsOptions {
  baseUrl: string;
  path: string;
  keyPath?: string;
  everyMs: number;
  signal?: AbortSignal;
  clock?: () => number;
  /** Per request, whole request bounded (default min(everyMs, 2000), at least 250). */
  timeoutMs?: number;
}

async function getJson(url: string, timeoutMs: number, signal?: AbortSignal): Promise<unknown> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const res = await request(url, { signal: signal ? AbortSignal.any([signal, timeout]) : timeout });
  const text = await res.body.text();
  if (res.statusCode !== 200) throw new Error(`HTTP ${res.statusCode} from ${url}`);
  return JSON.parse(text) as unknown;
}

function asCheckpoint(v: unknown): Omit<Checkpoint, 'observedAt'> {
  const c = v as Record<string, unknown> | null;
  if (
    c === null ||
    typeof c !== 'object' ||
    typeof c.seq !== 'number' ||
    typeof c.hash !== 'string' ||
    typeof c.ts !== 'string' ||
    typeof c.signature !== 'string'
  ) {
    throw new Error('reply is not a checkpoint {seq, hash, ts, signature}');
  }
  return { seq: c.seq, hash: c.hash, ts: c.ts, signature: c.signature };
}

function joinUrl(base: string, path: string): string {
  return base.replace(/\/+$/, '') + path;
}

export function pollCheckpoints(opts: PollCheckpointsOptions): CheckpointPoller {
  const t0 = performance.now();
  const clock = opts.clock ?? (() => performance.now() - t0);
  const timeoutMs = opts.timeoutMs ?? Math.max(250, Math.min(opts.everyMs, 2000));
  const url = joinUrl(opts.baseUrl, opts.path);
  const keyUrl = joinUrl(opts.baseUrl, opts.keyPath ?? `${opts.path.replace(/\/+$/, '')}/key`);
  const result: CheckpointPollResult = { publicKey: '', checkpoints: [], polls: 0, errors: 0 };
  const stopper = new AbortController();
  const signal = opts.signal ? AbortSignal.any([opts.signal, stopper.signal]) : stopper.signal;

  const pollOnce = async (sig?: AbortSignal) => {
    if (result.publicKey === '') {
      try {
        const k = (await getJson(keyUrl, timeoutMs, sig)) as { publicKey?: unknown; algorithm?: unknown };
        if (typeof k?.publicKey !== 'string') throw new Error('reply has no publicKey');
        result.publicKey = k.publicKey;
        if (typeof k.algorithm === 'string') result.algorithm = k.algorithm;
        delete result.keyError;
      } catch (e) {
        if (sig?.aborted) return;
        result.keyError = `GET ${keyUrl}: ${(e as Error).message}`;
      }
    }
    result.polls++;
    try {
      const c = asCheckpoint(await getJson(url, timeoutMs, sig));
      const last = result.checkpoints[result.checkpoints.length - 1];
      // The same signed head seen again adds nothing for the scan.
      if (!last || last.seq !== c.seq || last.hash !== c.hash || last.signature !== c.signature) {
        result.checkpoints.push({ ...c, observedAt: clock() });
      }
    } catch (e) {
      if (sig?.aborted) {
        result.polls--; // cut short by stop() or the run's signal: not a failed poll
        return;
      }
      result.errors++;
      result.lastError = `GET ${url}: ${(e as Error).message}`;
    }
  };

  const loop = (async () => {
    while (!signal.aborted) {
      const started = performance.now();
      await pollOnce(signal);
      const wait = opts.everyMs - (performance.now() - started);
      if (wait > 0 && !signal.aborted) {
        await new Promise<void>((resolve) => {
          const t = setTimeout(done, wait);
          function done() {
            clearTimeout(t);
            signal.removeEventListener('abort', done);
            resolve();
          }
          signal.addEventListener('abort', done, { once: true });
        });
      }
    }
  })();

  return {
    async stop({ finalPoll = true } = {}) {
      stopper.abort();
      await loop;
      if (finalPoll && !opts.signal?.aborted) await pollOnce();
      return result;
    },
  };
}
