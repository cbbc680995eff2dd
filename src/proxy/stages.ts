/**
 * The toxics at work: one Stage per (connection, direction, toxic), chained from the reading
 * socket to the writing one. A stage receives chunks and an end (EOF, or a close/reset that a toxic
 * decided), and passes them on, later, cut, or not at all. Everything is synchronous or driven by
 * this stage's own timers, so removing a toxic is a synchronous flush: it cannot hang the API, and
 * it leaves no timer behind.
 */
import type { Toxic } from './toxics.ts';

/** How a direction ends: a plain EOF (half-close), a full close, or a TCP reset. */
export type EndKind = 'eof' | 'close' | 'reset';

export interface Sink {
  write(chunk: Buffer): void;
  end(kind: EndKind): void;
}

/** What a stage may tell its link: bytes it holds (for backpressure on the reading socket). */
export interface StageHost {
  hold(bytes: number): void;
  release(bytes: number): void;
}

export abstract class Stage implements Sink {
  next!: Sink;
  /** False when the toxicity roll spared this connection: then the stage passes everything on. */
  active: boolean;
  protected ended = false;
  toxic: Toxic;
  protected readonly host: StageHost;

  constructor(toxic: Toxic, host: StageHost, active: boolean) {
    this.toxic = toxic;
    this.host = host;
    this.active = active;
  }

  /** Called once the stage is linked into its chain (next is set). */
  start(): void {
    if (this.active) this.activate();
  }

  write(chunk: Buffer): void {
    if (this.ended) return;
    if (this.active) this.onData(chunk);
    else this.next.write(chunk);
  }

  end(kind: EndKind): void {
    if (this.ended) return;
    if (this.active) this.onEnd(kind);
    else this.finish(kind);
  }

  /** Attributes changed (toxicity handled by the link): timers restart with the new values. */
  update(toxic: Toxic): void {
    this.toxic = toxic;
    if (this.active && !this.ended) this.onUpdate();
  }

  /** The toxic leaves this connection (removed, or its toxicity roll changed): pass on what is held. */
  detach(reason: 'remove' | 'deactivate'): void {
    if (!this.active) return;
    this.active = false;
    if (!this.ended) this.onDetach(reason);
  }

  reactivate(): void {
    if (this.active) return;
    this.active = true;
    if (!this.ended) this.activate();
  }

  /** The connection is gone: drop everything, stop every timer. */
  abstract dispose(): void;

  protected activate(): void {}
  protected onUpdate(): void {}
  protected abstract onData(chunk: Buffer): void;
  protected abstract onEnd(kind: EndKind): void;
  protected abstract onDetach(reason: 'remove' | 'deactivate'): void;

  protected finish(kind: EndKind): void {
    this.ended = true;
    this.next.end(kind);
  }

  protected attr(name: string): number {
    return this.toxic.attributes[name] ?? 0;
  }
}

type Queued = { chunk: Buffer; at: number } | { end: EndKind; at: number };

/** Chunks and the end, each released at its own time, in order; the queue flushes on detach. */
abstract class TimedQueueStage extends Stage {
  protected queue: Queued[] = [];
  protected timer: NodeJS.Timeout | undefined;
  /** Release one item per timer tick, so that pieces meant to be apart are not written together. */
  protected onePerTick = false;
  protected readonly now: () => number;

  constructor(toxic: Toxic, host: StageHost, active: boolean, now: () => number) {
    super(toxic, host, active);
    this.now = now;
  }

  protected enqueue(item: Queued): void {
    if ('chunk' in item) this.host.hold(item.chunk.length);
    this.queue.push(item);
    this.schedule();
  }

  protected schedule(): void {
    if (this.timer !== undefined) return;
    const head = this.queue[0];
    if (head === undefined || !Number.isFinite(head.at)) return;
    this.timer = setTimeout(() => this.fire(), Math.max(0, head.at - this.now()));
  }

  private fire(): void {
    this.timer = undefined;
    // Anything due within the next millisecond goes now: timers have millisecond granularity.
    const due = this.now() + 1;
    while (this.queue.length > 0 && (this.queue[0]?.at ?? Number.POSITIVE_INFINITY) <= due) {
      this.release(this.queue.shift() as Queued);
      if (this.ended) return;
      if (this.onePerTick) break;
    }
    this.schedule();
  }

  protected release(item: Queued): void {
    if ('chunk' in item) {
      this.host.release(item.chunk.length);
      this.next.write(item.chunk);
    } else {
      this.finish(item.end);
    }
  }

  protected onDetach(): void {
    this.clearTimer();
    const items = this.queue;
    this.queue = [];
    for (const item of items) this.release(item);
  }

  protected clearTimer(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }

  dispose(): void {
    this.clearTimer();
    for (const item of this.queue) if ('chunk' in item) this.host.release(item.chunk.length);
    this.queue = [];
  }
}

/** latency: each chunk waits latency ± jitter ms from its arrival, never overtaking the one before. */
export class LatencyStage extends TimedQueueStage {
  private readonly random: () => number;
  private lastAt = 0;
  constructor(toxic: Toxic, host: StageHost, active: boolean, now: () => number, random: () => number) {
    super(toxic, host, active, now);
    this.random = random;
  }
  private delay(): number {
    const jitter = this.attr('jitter');
    return this.attr('latency') + (jitter > 0 ? (this.random() * 2 - 1) * jitter : 0);
  }
  protected onData(chunk: Buffer): void {
    this.lastAt = Math.max(this.now() + this.delay(), this.lastAt);
    this.enqueue({ chunk, at: this.lastAt });
  }
  protected onEnd(kind: EndKind): void {
    // As in Toxiproxy, the end follows the data without a delay of its own.
    if (this.queue.length === 0) this.finish(kind);
    else this.enqueue({ end: kind, at: this.lastAt });
  }
}

/** bandwidth: `rate` KB/s (1 KB = 1000 bytes, so bytes per ms); rate 0 holds everything. */
export class BandwidthStage extends TimedQueueStage {
  /** When the last piece finished "transmitting"; credit carries over while busy. */
  private busyUntil = 0;
  protected onData(chunk: Buffer): void {
    this.host.hold(chunk.length);
    this.queue.push({ chunk, at: Number.NaN });
    this.pump();
  }
  protected onEnd(kind: EndKind): void {
    if (this.queue.length === 0) this.finish(kind);
    else this.queue.push({ end: kind, at: Number.NaN });
  }
  protected override onUpdate(): void {
    this.pump();
  }
  private pump(): void {
    while (this.timer === undefined && !this.ended) {
      const head = this.queue[0];
      if (head === undefined) return;
      if (!('chunk' in head)) {
        this.queue.shift();
        this.finish(head.end);
        return;
      }
      const rate = this.attr('rate');
      if (rate <= 0) return; // held until the rate changes or the toxic goes
      // Pieces of at most 100 ms worth, as Toxiproxy cuts them.
      const max = Math.max(1, rate * 100);
      const piece = head.chunk.length > max ? head.chunk.subarray(0, max) : head.chunk;
      const at = Math.max(this.now(), this.busyUntil) + piece.length / rate;
      this.timer = setTimeout(
        () => {
          this.timer = undefined;
          this.busyUntil = at;
          if (piece === head.chunk) this.queue.shift();
          else head.chunk = head.chunk.subarray(piece.length);
          this.host.release(piece.length);
          this.next.write(piece);
          this.pump();
        },
        Math.max(0, at - this.now()),
      );
    }
  }
}

/** slow_close: the end waits `delay` ms; data passes at once. */
export class SlowCloseStage extends Stage {
  private timer: NodeJS.Timeout | undefined;
  private pending: EndKind | undefined;
  protected onData(chunk: Buffer): void {
    this.next.write(chunk);
  }
  protected onEnd(kind: EndKind): void {
    this.pending = kind;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.pending = undefined;
      this.finish(kind);
    }, this.attr('delay'));
  }
  protected onDetach(): void {
    this.dispose();
    const kind = this.pending;
    this.pending = undefined;
    if (kind !== undefined) this.finish(kind);
  }
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/**
 * timeout: no data gets through (it is dropped, as in Toxiproxy); after `timeout` ms from when the
 * toxic took effect the connection is closed; 0 keeps it open. Removing the toxic closes the
 * connections it held, as Toxiproxy's cleanup does (their data is gone; they cannot be resumed).
 */
export class TimeoutStage extends Stage {
  private timer: NodeJS.Timeout | undefined;
  protected override activate(): void {
    this.dispose();
    const ms = this.attr('timeout');
    if (ms > 0) {
      this.timer = setTimeout(() => {
        this.timer = undefined;
        this.finish('close');
      }, ms);
    }
  }
  protected override onUpdate(): void {
    this.activate();
  }
  protected onData(): void {}
  protected onEnd(kind: EndKind): void {
    this.dispose();
    this.finish(kind);
  }
  protected onDetach(reason: 'remove' | 'deactivate'): void {
    this.dispose();
    if (reason === 'remove') this.finish('close');
  }
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** reset_peer: the first data (or EOF) after the toxic took effect is dropped; `timeout` ms later both sides get a TCP RST. */
export class ResetPeerStage extends Stage {
  private timer: NodeJS.Timeout | undefined;
  private pendingEnd: EndKind | undefined;
  protected onData(): void {
    this.trigger();
  }
  protected onEnd(kind: EndKind): void {
    this.pendingEnd = kind;
    this.trigger();
  }
  private trigger(): void {
    if (this.timer !== undefined) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.finish('reset');
    }, this.attr('timeout'));
  }
  protected onDetach(): void {
    this.dispose();
    const kind = this.pendingEnd;
    if (kind !== undefined) this.finish(kind);
  }
  dispose(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
  }
}

/** slicer: each chunk cut into pieces of about average_size ± size_variation bytes, `delay` µs apart. */
export class SlicerStage extends TimedQueueStage {
  private readonly random: () => number;
  constructor(toxic: Toxic, host: StageHost, active: boolean, now: () => number, random: () => number) {
    super(toxic, host, active, now);
    this.random = random;
  }
  protected override onePerTick = true;
  protected onData(chunk: Buffer): void {
    const bounds = sliceBounds(
      chunk.length,
      this.attr('average_size'),
      this.attr('size_variation'),
      this.random,
    );
    const delayMs = this.attr('delay') / 1000;
    const last = this.queue[this.queue.length - 1];
    let at = last === undefined ? this.now() : last.at + delayMs;
    for (let i = 1; i < bounds.length; i++) {
      const piece = chunk.subarray(bounds[i - 1], bounds[i]);
      // The first piece goes at once when nothing waits; with no delay, every piece does.
      if (this.queue.length === 0 && (i === 1 || delayMs === 0)) this.next.write(piece);
      else this.enqueue({ chunk: piece, at });
      at += delayMs;
    }
  }
  protected onEnd(kind: EndKind): void {
    if (this.queue.length === 0) this.finish(kind);
    else this.enqueue({ end: kind, at: this.queue[this.queue.length - 1]?.at ?? this.now() });
  }
}

/**
 * Cut points of a chunk of `length` bytes: halve until a piece is within size_variation of
 * average_size, moving each cut by up to ± size_variation (Toxiproxy's recipe). Validation keeps
 * size_variation <= average_size; a cut is also kept strictly inside its range (with
 * size_variation == average_size the shift can reach the range's start): no empty piece, no endless
 * recursion.
 */
export function sliceBounds(
  length: number,
  averageSize: number,
  sizeVariation: number,
  random: () => number,
): number[] {
  const out: number[] = [0];
  const cut = (start: number, end: number): void => {
    if (end - start - averageSize <= sizeVariation) {
      out.push(end);
      return;
    }
    let mid = start + Math.floor((end - start) / 2);
    if (sizeVariation > 0) mid += Math.floor(random() * sizeVariation * 2) - sizeVariation;
    mid = Math.min(end - 1, Math.max(start + 1, mid));
    cut(start, mid);
    cut(mid, end);
  };
  if (length > 0) cut(0, length);
  return out;
}

/** limit_data: after `bytes` bytes have passed in this direction, the connection is closed. */
export class LimitDataStage extends Stage {
  private sent = 0;
  protected onData(chunk: Buffer): void {
    const remaining = Math.max(0, this.attr('bytes') - this.sent);
    const piece = chunk.length > remaining ? chunk.subarray(0, remaining) : chunk;
    if (piece.length > 0) {
      this.sent += piece.length;
      this.next.write(piece);
    }
    if (this.attr('bytes') - this.sent <= 0) this.finish('close');
  }
  protected onEnd(kind: EndKind): void {
    this.finish(kind);
  }
  protected onDetach(): void {}
  dispose(): void {}
}

export function createStage(
  toxic: Toxic,
  host: StageHost,
  active: boolean,
  now: () => number,
  random: () => number,
): Stage {
  switch (toxic.type) {
    case 'latency':
      return new LatencyStage(toxic, host, active, now, random);
    case 'bandwidth':
      return new BandwidthStage(toxic, host, active, now);
    case 'slow_close':
      return new SlowCloseStage(toxic, host, active);
    case 'timeout':
      return new TimeoutStage(toxic, host, active);
    case 'reset_peer':
      return new ResetPeerStage(toxic, host, active);
    case 'slicer':
      return new SlicerStage(toxic, host, active, now, random);
    case 'limit_data':
      return new LimitDataStage(toxic, host, active);
  }
}
