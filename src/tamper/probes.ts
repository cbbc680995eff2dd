/**
 * Tamper probes: after the workload, try to change what was written, through the API and through
 * SQL as the table's owner. Each outcome is established by comparing fingerprints of every row
 * before and after (not by trusting a status code): refused (nothing changed), appended (only new
 * rows at the end: the append-only way to record a correction), accepted (rows changed in place or
 * removed).
 */
import pg from 'pg';
import type { TamperProbe } from '../scenario/schema.ts';

export type TamperOutcome = 'refused' | 'appended' | 'accepted' | 'error';

export interface TamperRecord {
  name: string;
  via: 'sql' | 'api';
  request: string;
  outcome: TamperOutcome;
  detail: string;
  /** seqs changed, removed or added by the probe */
  affected: { changed: number[]; removed: number[]; added: number[]; eventIds: string[] };
  /** What the scenario requires at least: refused, or detected by the scan. */
  expect: 'refused' | 'detected';
  /** Set after the scan: whether a check noticed the change. */
  detection?: 'detected' | 'undetected';
}

export interface TamperContext {
  /** Owner-role connection string, for SQL probes and fingerprints. */
  databaseUrl?: string;
  /** Service base URL for API probes. */
  serviceUrl: string;
  table: string;
  seqColumn: string;
  eventIdColumn: string;
  /** Placeholders for API paths: {first}, {last} event ids, {firstSeq}, {lastSeq}. */
  vars: Record<string, string>;
  timeoutMs?: number;
}

/** seq -> row fingerprint and event id */
type Fingerprints = Map<number, { fp: string; eventId: string }>;

async function withClient<T>(url: string, f: (c: pg.Client) => Promise<T>, timeoutMs: number): Promise<T> {
  const c = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: timeoutMs,
    statement_timeout: timeoutMs,
  });
  await c.connect();
  try {
    return await f(c);
  } finally {
    await c.end().catch(() => undefined);
  }
}

const ident = (s: string) => `"${s.replace(/"/g, '""')}"`;

export async function fingerprint(ctx: TamperContext): Promise<Fingerprints | undefined> {
  if (!ctx.databaseUrl) return undefined;
  return withClient(
    ctx.databaseUrl,
    async (c) => {
      const r = await c.query<{ seq: string; fp: string; event_id: string }>(
        `SELECT ${ident(ctx.seqColumn)}::text AS seq, ${ident(ctx.eventIdColumn)}::text AS event_id, md5(t::text) AS fp FROM ${ident(ctx.table)} t`,
      );
      const m: Fingerprints = new Map();
      for (const row of r.rows) m.set(Number(row.seq), { fp: row.fp, eventId: row.event_id });
      return m;
    },
    ctx.timeoutMs ?? 10_000,
  );
}

function diff(before: Fingerprints, after: Fingerprints) {
  const changed: number[] = [];
  const removed: number[] = [];
  const added: number[] = [];
  const eventIds: string[] = [];
  for (const [seq, row] of before) {
    const now = after.get(seq);
    if (now === undefined) {
      removed.push(seq);
      eventIds.push(row.eventId);
    } else if (now.fp !== row.fp) {
      changed.push(seq);
      eventIds.push(row.eventId, now.eventId);
    }
  }
  for (const [seq, row] of after) {
    if (!before.has(seq)) {
      added.push(seq);
      eventIds.push(row.eventId);
    }
  }
  return { changed, removed, added, eventIds: [...new Set(eventIds)] };
}

/**
 * Only these answers are the system under test refusing a change: permission denied
 * (insufficient_privilege), an exception raised by a trigger (raise_exception), a read-only
 * transaction. A syntax error, an unknown table or column, a lost connection is the probe failing.
 */
export const SQL_REFUSALS: ReadonlySet<string> = new Set(['42501', 'P0001', '25006']);
/** Forbidden, method not allowed, conflict; a 404 is a wrong path, a 5xx a broken service. */
export const HTTP_REFUSALS: ReadonlySet<number> = new Set([403, 405, 409]);

export function fillVars(template: string, vars: Record<string, string>): string {
  return template.replace(/\{(\w+)\}/g, (m, k: string) => vars[k] ?? m);
}

export function probeName(p: TamperProbe, i: number): string {
  return p.name ?? `probe-${i + 1}`;
}

export async function runTamperProbes(
  probes: readonly TamperProbe[],
  ctx: TamperContext,
): Promise<TamperRecord[]> {
  const out: TamperRecord[] = [];
  const timeoutMs = ctx.timeoutMs ?? 10_000;
  for (const [i, probe] of probes.entries()) {
    const name = probeName(probe, i);
    const expect = probe.expect ?? (probe.via === 'api' ? 'refused' : 'detected');
    const request =
      probe.via === 'sql' ? probe.statement : `${probe.method} ${fillVars(probe.path, ctx.vars)}`;
    const rec: TamperRecord = {
      name,
      via: probe.via,
      request,
      outcome: 'error',
      detail: '',
      affected: { changed: [], removed: [], added: [], eventIds: [] },
      expect,
    };
    out.push(rec);
    let before: Fingerprints | undefined;
    try {
      before = await fingerprint(ctx);
    } catch (e) {
      rec.detail = `could not read the log before the probe: ${(e as Error).message}`;
      continue;
    }
    let answer = '';
    let succeeded = false;
    /** Set when the answer is not the system's refusal but the probe failing to reach it. */
    let probeError: string | undefined;
    try {
      if (probe.via === 'sql') {
        if (!ctx.databaseUrl) {
          rec.detail =
            'no database connection for SQL probes (runtime external without stack.external.database)';
          continue;
        }
        await withClient(ctx.databaseUrl, (c) => c.query(probe.statement), timeoutMs);
        answer = 'the statement ran without error';
        succeeded = true;
      } else {
        const url = new URL(fillVars(probe.path, ctx.vars), ctx.serviceUrl);
        const r = await fetch(url, {
          method: probe.method,
          headers: probe.body === undefined ? {} : { 'content-type': 'application/json' },
          body: probe.body === undefined ? undefined : JSON.stringify(probe.body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = (await r.text()).slice(0, 200);
        answer = `HTTP ${r.status} ${text}`.trim();
        succeeded = r.ok;
        if (!r.ok && !HTTP_REFUSALS.has(r.status)) probeError = answer;
        else if (!r.ok) answer = `refused: ${answer}`;
      }
    } catch (e) {
      const message = (e as Error).message.split('\n')[0] ?? '';
      const code = (e as { code?: unknown }).code;
      if (probe.via === 'sql' && typeof code === 'string' && SQL_REFUSALS.has(code)) {
        answer = `refused: ${message} (SQLSTATE ${code})`;
      } else {
        answer =
          typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) ? `${message} (SQLSTATE ${code})` : message;
        probeError = answer;
      }
    }
    let after: Fingerprints | undefined;
    try {
      after = await fingerprint(ctx);
    } catch (e) {
      rec.detail = `${answer}; could not read the log after the probe: ${(e as Error).message}`;
      continue;
    }
    if (before && after) {
      rec.affected = diff(before, after);
      const { changed, removed, added } = rec.affected;
      rec.outcome =
        changed.length || removed.length
          ? 'accepted'
          : added.length
            ? 'appended'
            : probeError === undefined
              ? 'refused'
              : 'error';
    } else {
      // No database access (external runtime): the answer is all we have.
      rec.outcome = succeeded ? 'accepted' : probeError === undefined ? 'refused' : 'error';
    }
    // "refused" beside "the statement ran without error" reads as a contradiction: say what happened.
    rec.detail =
      rec.outcome === 'error'
        ? `the probe did not reach a refusal by the system under test: ${answer}`
        : rec.outcome === 'refused' && succeeded
          ? `${answer}, but no stored entry changed`
          : answer;
  }
  return out;
}
