/**
 * The scanner's worker pool: the JSONL source cuts its byte stream into blocks of whole lines, the
 * pool's workers (scan-worker.ts; os.availableParallelism() - 1 of them, at least 1) validate and
 * hash the blocks while the main thread builds the items of earlier blocks and runs the checks.
 * Replies come back in block order, so items, hashes and findings are exactly those of the
 * single-thread path.
 * Workers are started only for inputs large enough to pay for their start, and are terminated when
 * the stream ends, fails or is abandoned (the consumer's `return()`, an abort).
 */
import { availableParallelism } from 'node:os';
import { Worker } from 'node:worker_threads';
import type { BlockReply, BlockRequest } from './block-format.ts';
import { scanWorkerCode } from './worker-code.ts';

export { type BlockReply, type BlockRequest, decodeBlock, REC_STRIDE } from './block-format.ts';

export function defaultWorkerCount(): number {
  return Math.max(1, availableParallelism() - 1);
}

/** Below this many bytes a scan stays on one thread (a worker takes ~0.05 s to start, ~0.3 s without its bundle: worker-code.ts). */
export const PARALLEL_MIN_BYTES = 8 * 2 ** 20;

interface Pending {
  resolve: (r: never) => void;
  reject: (e: Error) => void;
}

export class ScanWorkerPool {
  private readonly workers: { w: Worker; queue: Pending[] }[] = [];
  private next = 0;
  private failed: Error | undefined;
  private closed = false;
  /** Workers that have loaded their code (until then, blocks are better done inline). */
  ready = 0;
  private readonly allReady: Promise<void>;
  private onAllReady: () => void = () => undefined;

  /** `boot`: the workers' code (tests give a failing one); default: scan-worker.ts bundled (worker-code.ts). */
  constructor(size = defaultWorkerCount(), boot = scanWorkerCode()) {
    this.allReady = new Promise((resolve) => {
      this.onAllReady = resolve;
    });
    for (let i = 0; i < size; i++) {
      const w = new Worker(boot, { eval: true });
      const slot = { w, queue: [] as Pending[] };
      w.on('message', (r: BlockReply | 'ready') => {
        if (r !== 'ready') slot.queue.shift()?.resolve(r as never);
        else if (++this.ready === size) this.onAllReady();
      });
      const fail = (e: Error) => {
        this.failed ??= e;
        this.ready = 0;
        for (const p of slot.queue.splice(0)) p.reject(e);
      };
      w.on('error', fail);
      w.on('exit', (code) => {
        if (!this.closed) fail(new Error(`scan worker exited with code ${code}`));
      });
      this.workers.push(slot);
    }
  }

  /** Resolves when every worker has loaded its code (or the pool failed). */
  whenReady(): Promise<void> {
    return Promise.race([
      this.allReady,
      new Promise<void>((resolve) => {
        const t = setInterval(() => {
          if (this.failed || this.closed) {
            clearInterval(t);
            resolve();
          }
        }, 20);
        this.allReady.then(() => clearInterval(t));
      }),
    ]);
  }

  get size(): number {
    return this.workers.length;
  }

  /** Sends a block (its bytes are transferred: `buf` is unusable afterwards). */
  run(req: BlockRequest): Promise<BlockReply> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('the scan worker pool is closed'));
    const slot = this.workers[this.next++ % this.workers.length]!;
    return new Promise<BlockReply>((resolve, reject) => {
      slot.queue.push({ resolve, reject });
      const b = req.buf;
      const whole = b.byteOffset === 0 && b.byteLength === b.buffer.byteLength;
      const buf = whole ? b : b.slice();
      slot.w.postMessage({ ...req, buf }, [buf.buffer as ArrayBuffer]);
    });
  }

  /** Jobs sent to worker i and not answered yet. */
  pending(i: number): number {
    return this.workers[i]!.queue.length;
  }

  /** Sends any message to worker i; its next reply (replies come in order) resolves the promise. */
  send<T>(i: number, msg: unknown, transfer: ArrayBuffer[] = []): Promise<T> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.closed) return Promise.reject(new Error('the scan worker pool is closed'));
    const slot = this.workers[i]!;
    return new Promise<T>((resolve, reject) => {
      slot.queue.push({ resolve: resolve as (r: unknown) => void, reject });
      slot.w.postMessage(msg, transfer);
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const err = new Error('the scan worker pool was closed');
    for (const s of this.workers) for (const p of s.queue.splice(0)) p.reject(err);
    await Promise.all(this.workers.map((s) => s.w.terminate()));
  }
}

/** Threads of the pools alive now (tests check none leak). */
export function liveScanWorkers(): number {
  return live;
}
let live = 0;
const stats = { workerBlocks: 0, inlineBlocks: 0 };
/** Blocks done by workers and on the main thread since the process started (tests, benches). */
export function scanWorkerStats(): Readonly<typeof stats> {
  return { ...stats };
}

/** Byte chunks regrouped into blocks of at least `minBytes` that end at a line end (the last block may not). */
export async function* lineBlocks(chunks: AsyncIterable<Buffer>, minBytes = 0): AsyncIterable<Buffer> {
  let parts: Buffer[] = [];
  let size = 0;
  for await (const chunk of chunks) {
    parts.push(chunk);
    size += chunk.length;
    if (size < minBytes || chunk.lastIndexOf(10) === -1) continue;
    const all = Buffer.concat(parts, size);
    const cut = all.lastIndexOf(10) + 1;
    parts = cut < all.length ? [Buffer.from(all.subarray(cut))] : [];
    size = all.length - cut;
    yield all.subarray(0, cut);
  }
  if (size) yield Buffer.concat(parts, size);
}

/**
 * Blocks through `prepare` (main thread, before the block is sent), then the pool or, when every
 * worker already has `ahead` blocks queued, `inline` on the main thread (so a busy machine is never
 * slower than one thread); results through `finish`, in block order. A worker that fails (it could
 * not load, it crashed) only costs speed: its blocks are done inline from their prepared form. The pool is made by `makePool`
 * when the first block comes and closed in every case (end, error, the consumer stopping).
 */
export async function* throughPool<P, T>(
  blocks: AsyncIterable<Buffer>,
  makePool: () => ScanWorkerPool,
  prepare: (block: Buffer) => P,
  inline: (prepared: P) => BlockReply,
  finish: (prepared: P, reply: BlockReply) => T,
  opts: { ahead?: number; waitForWorkers?: boolean } = {},
): AsyncIterable<T> {
  let pool: ScanWorkerPool | undefined;
  interface Slot {
    prepared: P;
    reply?: BlockReply;
    promise?: Promise<BlockReply>;
  }
  const slots: Slot[] = [];
  let inFlight = 0;
  try {
    for await (const block of blocks) {
      if (!pool) {
        pool = makePool();
        live += pool.size;
        if (opts.waitForWorkers) await pool.whenReady();
      }
      const prepared = prepare(block);
      const slot: Slot = { prepared };
      if (inFlight < (opts.ahead ?? 2) * pool.ready) {
        inFlight++;
        stats.workerBlocks++;
        const promise = pool.run({ buf: block });
        slot.promise = promise;
        promise.then(
          (r) => {
            inFlight--;
            slot.reply = r;
          },
          () => {
            inFlight--;
          },
        );
      } else {
        stats.inlineBlocks++;
        slot.reply = inline(prepared);
      }
      slots.push(slot);
      // Hand on what is ready, in order; wait only when far ahead.
      while (slots.length && (slots[0]!.reply !== undefined || slots.length > 4 * pool.size + 2)) {
        const s = slots.shift()!;
        yield finish(s.prepared, s.reply ?? (await s.promise!.catch(() => inline(s.prepared))));
      }
    }
    while (slots.length) {
      const s = slots.shift()!;
      yield finish(s.prepared, s.reply ?? (await s.promise!.catch(() => inline(s.prepared))));
    }
  } finally {
    if (pool) {
      live -= pool.size;
      await pool.close();
    }
  }
}
