/**
 * The late-visible flaw: a write is acknowledged as soon as it is in an in-memory queue, and a
 * flusher appends it to the log `delayMs` later, in arrival order, holding the queue (and
 * retrying) while the database is unreachable. Nothing is lost while the process lives: every
 * acknowledged event is stored eventually, but a reader does not find it for a while after its ack
 * (longer during an outage). A crash of the process loses the queue, like any write-behind buffer.
 */
import type { AppendResult, NewEvent, StoredEntry } from './store.ts';
import { DbRejectedError, DbUnavailableError } from './store.ts';

/** Default delay between the ack and the append (AUDITLOG_LATE_VISIBLE_MS overrides it). */
export const LATE_VISIBLE_DEFAULT_MS = 1000;
/** How long the flusher waits before it tries a database that did not answer again. */
const HOLD_RETRY_MS = 200;

export interface Appender {
  append(ev: NewEvent): Promise<AppendResult>;
}

interface Queued {
  ev: NewEvent;
  dueAt: number;
}

export class LateVisibleQueue implements Appender {
  private readonly queue: Queued[] = [];
  private readonly queued = new Set<string>();
  private timer: NodeJS.Timeout | undefined;
  private timerAt = Number.POSITIVE_INFINITY;
  private flushing: Promise<void> | undefined;
  private closed = false;

  constructor(
    private readonly store: Appender,
    private readonly delayMs: number,
    private readonly log: (line: string) => void,
    private readonly now: () => number = () => performance.now(),
  ) {}

  /** Acknowledges at once: the entry carries no seq or hash yet (the append has not happened). */
  async append(ev: NewEvent): Promise<AppendResult> {
    if (!this.queued.has(ev.eventId)) {
      this.queued.add(ev.eventId);
      this.queue.push({ ev, dueAt: this.now() + this.delayMs });
      this.schedule(this.delayMs);
    }
    const entry = { event_id: ev.eventId, actor: ev.actor, action: ev.action, payload: ev.payload };
    return { status: 201, entry: entry as StoredEntry, settled: Promise.resolve() };
  }

  /** Entries acknowledged but not yet appended. */
  get pending(): number {
    return this.queue.length;
  }

  /** Arms the flusher for `inMs` from now, unless it is already armed for earlier. */
  private schedule(inMs: number): void {
    if (this.closed) return;
    const at = this.now() + Math.max(0, inMs);
    if (this.timer !== undefined && this.timerAt <= at) return;
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timerAt = at;
    this.timer = setTimeout(
      () => {
        this.timer = undefined;
        this.timerAt = Number.POSITIVE_INFINITY;
        // A flush under way takes what is due, and re-arms for the oldest entry when it is done.
        if (this.flushing) return;
        this.flushing = this.flush().finally(() => {
          this.flushing = undefined;
          const next = this.queue[0];
          if (next) this.schedule(next.dueAt - this.now());
        });
      },
      Math.max(0, inMs),
    );
  }

  /** Appends every due entry in order; stops at the first outage and keeps the rest for a retry. */
  private async flush(): Promise<void> {
    while (!this.closed) {
      const due: Queued[] = [];
      const t = this.now();
      for (const q of this.queue) {
        if (q.dueAt > t) break;
        due.push(q);
      }
      if (due.length === 0) return;
      const results = await Promise.allSettled(due.map((q) => this.store.append(q.ev)));
      let held = false;
      for (const [i, r] of results.entries()) {
        const q = due[i] as Queued;
        if (r.status === 'fulfilled') {
          this.done(q);
        } else if (r.reason instanceof DbRejectedError) {
          // A write-behind buffer has nowhere to report a refusal to: the entry is dropped.
          this.log(`late-visible: ${q.ev.eventId} refused by the database, dropped: ${r.reason.message}`);
          this.done(q);
        } else {
          held = true;
          if (!(r.reason instanceof DbUnavailableError))
            this.log(`late-visible: ${q.ev.eventId} not appended yet: ${(r.reason as Error).message}`);
        }
      }
      if (held) {
        // Held while the database is unreachable: still queued, retried until it answers.
        await new Promise((r) => setTimeout(r, HOLD_RETRY_MS));
      }
    }
  }

  private done(q: Queued): void {
    const i = this.queue.indexOf(q);
    if (i >= 0) this.queue.splice(i, 1);
    this.queued.delete(q.ev.eventId);
  }

  /** Stops the flusher; what is still queued is lost (said in the log). */
  async close(): Promise<void> {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    await this.flushing;
    if (this.queue.length > 0)
      this.log(`late-visible: ${this.queue.length} acknowledged entries were still queued at close`);
  }
}

/** AUDITLOG_LATE_VISIBLE_MS: the flaw's delay in ms (a non-negative integer), else the default. */
export function lateVisibleDelay(text: string | undefined): number {
  if (text === undefined || text === '') return LATE_VISIBLE_DEFAULT_MS;
  const n = Number(text);
  return Number.isInteger(n) && n >= 0 ? n : LATE_VISIBLE_DEFAULT_MS;
}
