/**
 * The audit log on PostgreSQL: append under the reference chain format v1, reads, head, health.
 * Every DB call is bounded (connect, statement and client-side query timeouts, plus one deadline
 * per operation), a connection that failed is destroyed rather than returned to the pool, and an
 * append is reported as stored only after COMMIT returned, except under the ack-before-commit flaw.
 */
import pg from 'pg';
import { GENESIS_PREV_HASH, pgReferenceTs, referenceHash } from '../scan/reference-chain.ts';
import { type FlawMode, TRUNCATE_PAYLOAD_BYTES } from './flaws.ts';
import { SEQUENCE, TABLE } from './migrate.ts';

/** The head lock: pg_advisory_xact_lock on this key serializes appends (the writer may not LOCK TABLE). */
const HEAD_LOCK = 0x68656164; // "head"

export interface NewEvent {
  eventId: string;
  actor: string;
  action: string;
  payload: unknown;
}

/** An entry as the API returns it: the table's column names. */
export interface StoredEntry {
  seq: number;
  event_id: string;
  ts: string;
  actor: string;
  action: string;
  payload: unknown;
  prev_hash: string;
  hash: string;
}

export interface AppendResult {
  /** 201 appended, 200 the event id was already stored (the stored entry is returned). */
  status: 200 | 201;
  entry: StoredEntry;
  /** Resolves when the transaction is over; only ack-before-commit answers before that. */
  settled: Promise<void>;
}

/** The database could not be reached or did not answer in time: HTTP 503. */
export class DbUnavailableError extends Error {
  override readonly name = 'DbUnavailableError';
}
/** The request's data was refused by the database (bad text, bad JSON value): HTTP 400. */
export class DbRejectedError extends Error {
  override readonly name = 'DbRejectedError';
}
/** Two appends claimed the same seq (a second replica, a stale head): HTTP 409. */
export class AppendConflictError extends Error {
  override readonly name = 'AppendConflictError';
}

/** Appends in one group commit at most (bounded so that one transaction stays short). */
const MAX_BATCH = 200;

interface Pending {
  ev: NewEvent;
  resolve: (r: AppendResult) => void;
  reject: (e: unknown) => void;
  /** Its caller already answered 503: do not start it. */
  gaveUp: boolean;
}

export interface StoreOptions {
  databaseUrl: string;
  flaws: FlawMode[];
  dbTimeoutMs: number;
  poolSize?: number;
  log: (line: string) => void;
}

const COLUMNS = `seq, event_id, ${pgReferenceTs('ts')} AS ts, actor, action, payload, prev_hash, hash`;

type Row = Omit<StoredEntry, 'seq'> & { seq: string };
const toEntry = (r: Row): StoredEntry => ({ ...r, seq: Number(r.seq) });

export class AuditStore {
  private readonly pool: pg.Pool;
  private readonly flaws: Set<FlawMode>;
  private readonly timeoutMs: number;
  private headCache: { seq: number; hash: string } | undefined;
  private readonly queue: Pending[] = [];
  private draining = false;
  private readonly inflight = new Set<Promise<unknown>>();

  constructor(private readonly opts: StoreOptions) {
    this.flaws = new Set(opts.flaws);
    this.timeoutMs = opts.dbTimeoutMs;
    this.pool = new pg.Pool({
      connectionString: opts.databaseUrl,
      max: opts.poolSize ?? 10,
      connectionTimeoutMillis: opts.dbTimeoutMs,
      query_timeout: opts.dbTimeoutMs,
      statement_timeout: opts.dbTimeoutMs,
      lock_timeout: opts.dbTimeoutMs,
      // A transaction left open by a vanished client must not hold the head lock for long.
      idle_in_transaction_session_timeout: Math.max(2 * opts.dbTimeoutMs, 1000),
      keepAlive: true,
      idleTimeoutMillis: 30_000,
      ...(this.flaws.has('async-commit') ? { options: '-c synchronous_commit=off' } : {}),
    });
    // An idle connection whose server went away emits here; the pool discards it. Without a
    // listener the process would crash.
    this.pool.on('error', (e) => opts.log(`db: idle connection lost (${e.message})`));
    // An error on a checked-out connection surfaces through its failing query instead.
    this.pool.on('connect', (c) => c.on('error', () => undefined));
  }

  /**
   * Runs `work` on a pooled connection within the deadline; a failed connection is destroyed.
   * `work` may hand a promise to `defer`: the connection is released only when it settles, but
   * the result is returned at once (how ack-before-commit answers before its COMMIT is done).
   */
  private async withClient<T>(
    what: string,
    work: (c: pg.PoolClient, defer: (p: Promise<unknown>) => void) => Promise<T>,
  ): Promise<T> {
    let timer: NodeJS.Timeout | undefined;
    let late = false;
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        late = true;
        reject(new DbUnavailableError(`${what}: no answer from the database within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
    });
    const run = (async () => {
      let client: pg.PoolClient;
      try {
        client = await this.pool.connect();
      } catch (e) {
        throw new DbUnavailableError(`${what}: cannot connect to the database (${(e as Error).message})`, {
          cause: e,
        });
      }
      if (late) {
        // The caller was already told 503: do not start work nobody waits for.
        client.release();
        throw new DbUnavailableError(`${what}: gave up before a connection was free`);
      }
      let deferred: Promise<unknown> | undefined;
      try {
        const result = await work(client, (p) => {
          deferred = p;
        });
        if (deferred) {
          const c = client;
          this.track(
            deferred.then(
              () => c.release(),
              () => c.release(true),
            ),
          );
        } else {
          client.release();
        }
        return result;
      } catch (e) {
        client.release(true); // never reuse a connection in an unknown state
        throw classify(what, e);
      }
    })();
    this.track(run);
    try {
      return await Promise.race([run, deadline]);
    } finally {
      clearTimeout(timer);
    }
  }

  private track(p: Promise<unknown>): void {
    const q = p.catch(() => undefined);
    this.inflight.add(q);
    void q.finally(() => this.inflight.delete(q));
  }

  async append(ev: NewEvent): Promise<AppendResult> {
    if (!this.flaws.has('unlocked-append')) return this.appendBatched(ev);
    try {
      return await this.appendOnce(ev);
    } catch (e) {
      // Without the head lock (unlocked-append) a concurrent retry can lose the race on the
      // unique event_id: it is still a retry, answered with the stored entry.
      if ((e as { constraint?: string }).constraint === 'audit_log_event_id_key') {
        const [stored] = await this.byEventId(ev.eventId);
        if (stored) return { status: 200, entry: stored, settled: Promise.resolve() };
      }
      throw e;
    }
  }

  /**
   * Group commit: appends that arrive while a transaction runs wait for the next one, and go in
   * together (one lock, one head read, one INSERT, one COMMIT and its fsync for up to
   * MAX_BATCH appends). Each is acknowledged only after that COMMIT returned. A caller that gave
   * up (its deadline passed) before its batch started is dropped from it.
   */
  private appendBatched(ev: NewEvent): Promise<AppendResult> {
    return new Promise<AppendResult>((resolve, reject) => {
      const item: Pending = { ev, resolve, reject, gaveUp: false };
      const timer = setTimeout(() => {
        item.gaveUp = true;
        reject(new DbUnavailableError(`append: no answer from the database within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      item.resolve = (r) => {
        clearTimeout(timer);
        resolve(r);
      };
      item.reject = (e) => {
        clearTimeout(timer);
        reject(e);
      };
      this.queue.push(item);
      if (!this.draining) void this.drain();
    });
  }

  private async drain(): Promise<void> {
    this.draining = true;
    try {
      while (this.queue.length > 0) {
        const batch = this.queue.splice(0, MAX_BATCH).filter((p) => !p.gaveUp);
        if (batch.length === 0) continue;
        const run = this.runBatch(batch).catch(async (e: unknown) => {
          // One refused payload must not fail the others: retry each alone.
          if (e instanceof DbRejectedError && batch.length > 1) {
            for (const p of batch) await this.runBatch([p]).catch((err: unknown) => p.reject(err));
          } else {
            for (const p of batch) p.reject(e);
          }
        });
        this.track(run);
        await run;
      }
    } finally {
      this.draining = false;
    }
  }

  private async runBatch(batch: Pending[]): Promise<void> {
    const flaws = this.flaws;
    const idem = !flaws.has('no-idempotency');
    const results = await this.withClient('append', async (c, defer) => {
      await c.query(`BEGIN; SELECT pg_advisory_xact_lock(${HEAD_LOCK})`);
      const cached = flaws.has('stale-head-cache') ? this.headCache : undefined;
      const ids = batch.map((p) => p.ev.eventId);
      const r = await c.query<{ found: Row[] | null; seq: string | null; hash: string | null; now: string }>(
        `SELECT ${idem ? `(SELECT json_agg(f) FROM (SELECT ${COLUMNS} FROM ${TABLE} WHERE event_id = ANY($1::text[])) f)` : '(SELECT NULL::json WHERE $1::text[] IS NULL)'} AS found,
           h.seq, h.hash, ${pgReferenceTs('clock_timestamp()')} AS now
         FROM (SELECT 1) one LEFT JOIN LATERAL (
           ${cached ? 'SELECT NULL::bigint AS seq, NULL::text AS hash' : `SELECT seq, hash FROM ${TABLE} ORDER BY seq DESC LIMIT 1`}
         ) h ON true`,
        [ids],
      );
      const row = r.rows[0]!;
      if (flaws.has('app-clock')) row.now = appClockTs();
      const known = new Map<string, StoredEntry>();
      for (const f of row.found ?? []) if (!known.has(f.event_id)) known.set(f.event_id, toEntry(f));
      let prevSeq = cached ? cached.seq : row.seq === null ? 0 : Number(row.seq);
      let prevHash = cached ? cached.hash : (row.hash ?? GENESIS_PREV_HASH);
      const out: { status: 200 | 201; entry: StoredEntry }[] = [];
      const fresh: StoredEntry[] = [];
      for (const { ev } of batch) {
        const stored = idem ? known.get(ev.eventId) : undefined;
        if (stored) {
          out.push({ status: 200, entry: stored });
          continue;
        }
        const payloadText = JSON.stringify(
          flaws.has('truncate-payload') ? truncatePayload(ev.payload) : ev.payload,
        );
        // The value the database will hand back: what is hashed is what a reader re-hashes.
        const payload: unknown = JSON.parse(payloadText);
        const seq = prevSeq + 1;
        const fields = { seq, eventId: ev.eventId, ts: row.now, actor: ev.actor, action: ev.action, payload };
        const entry: StoredEntry = {
          seq,
          event_id: ev.eventId,
          ts: row.now,
          actor: ev.actor,
          action: ev.action,
          payload,
          prev_hash: prevHash,
          hash: referenceHash(prevHash, fields),
        };
        fresh.push(entry);
        out.push({ status: 201, entry });
        if (idem) known.set(ev.eventId, entry); // the same id twice in one batch: stored once
        prevSeq = seq;
        prevHash = entry.hash;
      }
      if (fresh.length > 0) {
        await c.query(
          `INSERT INTO ${TABLE} (seq, event_id, ts, actor, action, payload, prev_hash, hash)
           SELECT * FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[],
                                $6::jsonb[], $7::text[], $8::text[])`,
          [
            fresh.map((e) => e.seq),
            fresh.map((e) => e.event_id),
            fresh.map((e) => e.ts),
            fresh.map((e) => e.actor),
            fresh.map((e) => e.action),
            fresh.map((e) => JSON.stringify(e.payload)),
            fresh.map((e) => e.prev_hash),
            fresh.map((e) => e.hash),
          ],
        );
        if (flaws.has('stale-head-cache')) this.headCache = { seq: prevSeq, hash: prevHash };
      }
      if (flaws.has('ack-before-commit') && fresh.length > 0) {
        // The flaw: the answers go out now, COMMIT runs behind them and may still fail.
        const commit = c.query('COMMIT').then(() => undefined);
        commit.catch((e: Error) =>
          this.opts.log(
            `append of ${fresh.length} entr${fresh.length === 1 ? 'y' : 'ies'}: COMMIT failed after the ack (${e.message})`,
          ),
        );
        defer(commit);
        return out.map((o) => ({ ...o, settled: commit }));
      }
      await c.query('COMMIT');
      return out.map((o) => ({ ...o, settled: Promise.resolve() }));
    });
    for (const [i, p] of batch.entries()) p.resolve(results[i]!);
  }

  /** unlocked-append only: one transaction per append, no head lock, seq from the sequence. */
  private async appendOnce(ev: NewEvent): Promise<AppendResult> {
    const flaws = this.flaws;
    const payload = flaws.has('truncate-payload') ? truncatePayload(ev.payload) : ev.payload;
    const payloadText = JSON.stringify(payload);
    return this.withClient('append', async (c, defer) => {
      await c.query(
        flaws.has('unlocked-append') ? 'BEGIN' : `BEGIN; SELECT pg_advisory_xact_lock(${HEAD_LOCK})`,
      );
      // One round trip under the lock: the stored entry of a retried id, the head, the time.
      const cached = flaws.has('stale-head-cache') ? this.headCache : undefined;
      const idem = !flaws.has('no-idempotency');
      const head = await c.query<{
        found: Row | null;
        seq: string | null;
        hash: string | null;
        now: string;
        next: string | null;
      }>(
        `SELECT ${idem ? 'to_jsonb(f)' : 'NULL::jsonb'} AS found, h.seq, h.hash,
           ${pgReferenceTs('clock_timestamp()')} AS now,
           ${flaws.has('unlocked-append') ? `nextval('${SEQUENCE}')` : 'NULL'} AS next
         FROM (SELECT 1) one
         LEFT JOIN LATERAL (
           ${idem ? `SELECT ${COLUMNS} FROM ${TABLE} WHERE event_id = $1 LIMIT 1` : 'SELECT WHERE $1::text IS NULL'}
         ) f ON true
         LEFT JOIN LATERAL (
           ${cached ? 'SELECT NULL::bigint AS seq, NULL::text AS hash' : `SELECT seq, hash FROM ${TABLE} ORDER BY seq DESC LIMIT 1`}
         ) h ON true`,
        [ev.eventId],
      );
      const found = head.rows[0]?.found;
      if (found) {
        await c.query('COMMIT');
        return { status: 200 as const, entry: toEntry(found), settled: Promise.resolve() };
      }
      const h = head.rows[0]!;
      if (flaws.has('app-clock')) h.now = appClockTs();
      const prevSeq = cached ? cached.seq : h.seq === null ? 0 : Number(h.seq);
      const prevHash = cached ? cached.hash : (h.hash ?? GENESIS_PREV_HASH);
      const seq = h.next !== null ? Number(h.next) : prevSeq + 1;
      // The value the database will hand back: what is hashed is what a reader re-hashes.
      const stored: unknown = JSON.parse(payloadText);
      const entry: StoredEntry = {
        seq,
        event_id: ev.eventId,
        ts: h.now,
        actor: ev.actor,
        action: ev.action,
        payload: stored,
        prev_hash: prevHash,
        hash: referenceHash(prevHash, {
          seq,
          eventId: ev.eventId,
          ts: h.now,
          actor: ev.actor,
          action: ev.action,
          payload: stored,
        }),
      };
      await c.query(
        `INSERT INTO ${TABLE} (seq, event_id, ts, actor, action, payload, prev_hash, hash)
         VALUES ($1, $2, $3::timestamptz, $4, $5, $6::jsonb, $7, $8)`,
        [seq, ev.eventId, entry.ts, ev.actor, ev.action, payloadText, prevHash, entry.hash],
      );
      if (flaws.has('stale-head-cache')) this.headCache = { seq, hash: entry.hash };
      if (flaws.has('ack-before-commit')) {
        // The flaw: the answer goes out now, COMMIT runs behind it and may still fail.
        const commit = c.query('COMMIT').then(() => undefined);
        commit.catch((e: Error) =>
          this.opts.log(`append ${ev.eventId}: COMMIT failed after the ack (${e.message})`),
        );
        defer(commit);
        return { status: 201 as const, entry, settled: commit };
      }
      await c.query('COMMIT');
      return { status: 201 as const, entry, settled: Promise.resolve() };
    });
  }

  async byEventId(eventId: string): Promise<StoredEntry[]> {
    return this.withClient('read', async (c) => {
      const r = await c.query<Row>(`SELECT ${COLUMNS} FROM ${TABLE} WHERE event_id = $1 ORDER BY seq`, [
        eventId,
      ]);
      return r.rows.map(toEntry);
    });
  }

  async list(after: number, limit: number): Promise<StoredEntry[]> {
    return this.withClient('read', async (c) => {
      const r = await c.query<Row>(`SELECT ${COLUMNS} FROM ${TABLE} WHERE seq > $1 ORDER BY seq LIMIT $2`, [
        after,
        limit,
      ]);
      return r.rows.map(toEntry);
    });
  }

  /** The head {seq, hash, ts}; an empty log is seq 0, the genesis hash and the database's now. */
  async head(): Promise<{ seq: number; hash: string; ts: string }> {
    return this.withClient('head', async (c) => {
      const r = await c.query<{ seq: string | null; hash: string | null; ts: string | null; now: string }>(
        `SELECT h.seq, h.hash, h.ts, ${pgReferenceTs('now()')} AS now
         FROM (SELECT 1) one LEFT JOIN LATERAL (
           SELECT seq, hash, ${pgReferenceTs('ts')} AS ts FROM ${TABLE} ORDER BY seq DESC LIMIT 1
         ) h ON true`,
      );
      const row = r.rows[0]!;
      if (row.seq === null) return { seq: 0, hash: GENESIS_PREV_HASH, ts: row.now };
      return { seq: Number(row.seq), hash: row.hash!, ts: row.ts! };
    });
  }

  /** api-delete only: removes every entry with this event id; returns how many. */
  async delete(eventId: string): Promise<number> {
    return this.withClient('delete', async (c) => {
      const r = await c.query(`DELETE FROM ${TABLE} WHERE event_id = $1`, [eventId]);
      return r.rowCount ?? 0;
    });
  }

  async ping(): Promise<void> {
    await this.withClient('health', async (c) => {
      await c.query(`SELECT 1 FROM ${TABLE} LIMIT 0`);
    });
  }

  /** Waits for transactions under way (bounded by their timeouts), then closes the pool. */
  async close(): Promise<void> {
    await Promise.allSettled([...this.inflight]);
    await this.pool.end().catch(() => undefined);
  }
}

/** Maps driver and server errors onto what the API says: 503, 400 or 409; else rethrown. */
function classify(what: string, e: unknown): Error {
  if (e instanceof DbUnavailableError) return e;
  const msg = (e as Error).message ?? String(e);
  const code = e instanceof pg.DatabaseError ? e.code : undefined;
  if (code === undefined) {
    if (e instanceof TypeError || e instanceof RangeError || e instanceof SyntaxError) return e; // a bug
    // Client-side: query timeout, connection terminated, socket errors.
    return new DbUnavailableError(`${what}: ${msg}`, { cause: e });
  }
  if (code.startsWith('22')) return new DbRejectedError(msg, { cause: e });
  if (code === '23505' && msg.includes('pkey'))
    return new AppendConflictError(`${what}: ${msg}`, { cause: e });
  // Connection exceptions, operator intervention (shutdown), insufficient resources, timeouts, lock timeouts.
  if (/^(08|57|53|55P03|58)/.test(code) || code === '25P03') {
    return new DbUnavailableError(`${what}: ${msg}`, { cause: e });
  }
  return e instanceof Error ? e : new Error(msg);
}

/** app-clock: this process's wall clock, in the reference format (microseconds, as the column keeps). */
function appClockTs(): string {
  return new Date().toISOString().replace(/Z$/, '000Z');
}

/**
 * truncate-payload: the JSON text is cut to the field's size; the cut text (no longer JSON) is
 * kept as a JSON string, which is what a text column behind a JSON API hands back.
 */
export function truncatePayload(payload: unknown, limitBytes = TRUNCATE_PAYLOAD_BYTES): unknown {
  const text = JSON.stringify(payload);
  const bytes = Buffer.from(text, 'utf8');
  if (bytes.length <= limitBytes) return payload;
  // Cut on a character boundary, as a varchar(n) does.
  return bytes
    .subarray(0, limitBytes)
    .toString('utf8')
    .replace(/\uFFFD$/, '');
}
