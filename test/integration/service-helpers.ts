import { readdirSync, readFileSync } from 'node:fs';
/** Shared by the service integration tests: fresh databases, a started service, chain checks. */
import pg from 'pg';
import { pgReferenceTs, referenceHash } from '../../src/scan/reference-chain.ts';
import {
  DEFAULT_OWNER_PASSWORD,
  DEFAULT_WRITER_PASSWORD,
  type FlawMode,
  type RunningService,
  type StoredEntry,
  startService,
} from '../../src/service/index.ts';
import type { PostgresServer } from '../../src/stack/local/postgres.ts';

let dbCounter = 0;

export async function sql<T extends pg.QueryResultRow = pg.QueryResultRow>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<pg.QueryResult<T>> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  c.on('error', () => undefined);
  await c.connect();
  try {
    return await c.query<T>(text, params);
  } finally {
    await c.end().catch(() => undefined);
  }
}

export async function freshDatabase(server: PostgresServer): Promise<string> {
  const name = `svc_${process.pid}_${++dbCounter}`;
  await sql(server.url(), `CREATE DATABASE ${name}`);
  return name;
}

export interface TestService extends RunningService {
  db: string;
  adminUrl: string;
  writerUrl: string;
  ownerUrl: string;
  logs: string[];
}

/** A fresh database, migrated by the service at start; resolves once /health answers 200. */
export async function serviceOn(
  server: PostgresServer,
  opts: { flaws?: FlawMode[]; dbTimeoutMs?: number; db?: string; signingKeyPath?: string } = {},
): Promise<TestService> {
  const db = opts.db ?? (await freshDatabase(server));
  const adminUrl = server.url(db);
  const writerUrl = server.url(db, 'auditlog_writer', DEFAULT_WRITER_PASSWORD);
  const ownerUrl = server.url(db, 'auditlog_owner', DEFAULT_OWNER_PASSWORD);
  const logs: string[] = [];
  const s = await startService({
    databaseUrl: writerUrl,
    adminUrl,
    flaws: opts.flaws ?? [],
    dbTimeoutMs: opts.dbTimeoutMs ?? 2000,
    signingKeyPath: opts.signingKeyPath,
    log: (l) => logs.push(l),
  });
  await waitHealthy(s.url);
  return { ...s, db, adminUrl, writerUrl, ownerUrl, logs };
}

export async function waitHealthy(url: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let last = '';
  while (Date.now() < deadline) {
    try {
      const r = await fetch(`${url}/health`);
      if (r.status === 200) return;
      last = await r.text();
    } catch (e) {
      last = String(e);
    }
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error(`service at ${url} not healthy within ${timeoutMs} ms: ${last}`);
}

export interface PostReply {
  status: number;
  body: Record<string, unknown>;
  ms: number;
}

export async function postEvent(
  url: string,
  event: { event_id: string; actor?: string; action?: string; payload?: unknown },
): Promise<PostReply> {
  const t0 = performance.now();
  try {
    const r = await fetch(`${url}/events`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ actor: 'tester', action: 'test', payload: { n: 1 }, ...event }),
      signal: AbortSignal.timeout(15_000),
    });
    const text = await r.text();
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(text) as Record<string, unknown>;
    } catch {
      body = { raw: text };
    }
    return { status: r.status, body, ms: performance.now() - t0 };
  } catch (e) {
    return { status: 0, body: { error: String(e) }, ms: performance.now() - t0 };
  }
}

/** `total` appends from `clients` concurrent clients; ids `${prefix}-${i}`. */
export async function burst(
  url: string,
  total: number,
  clients: number,
  prefix: string,
): Promise<Map<string, PostReply>> {
  const out = new Map<string, PostReply>();
  let next = 0;
  await Promise.all(
    Array.from({ length: clients }, async (_, w) => {
      for (let i = next++; i < total; i = next++) {
        const id = `${prefix}-${i}`;
        out.set(
          id,
          await postEvent(url, {
            event_id: id,
            actor: `user-${w}`,
            payload: { i, w, note: 'x'.repeat(i % 50) },
          }),
        );
      }
    }),
  );
  return out;
}

/** The whole log as stored, read with a superuser connection, ts in the reference form. */
export async function readLog(adminUrl: string): Promise<StoredEntry[]> {
  const r = await sql<StoredEntry & { seq: string }>(
    adminUrl,
    `SELECT seq, event_id, ${pgReferenceTs('ts')} AS ts, actor, action, payload, prev_hash, hash FROM audit_log ORDER BY seq`,
  );
  return r.rows.map((row) => ({ ...row, seq: Number(row.seq) }));
}

/** Every chain defect in seq order: gap, prev_hash link, hash recomputation. Empty = valid. */
export function chainProblems(entries: StoredEntry[]): string[] {
  const problems: string[] = [];
  let prev: StoredEntry | undefined;
  for (const e of entries) {
    const expectedSeq = prev ? prev.seq + 1 : 1;
    if (e.seq !== expectedSeq) problems.push(`seq ${e.seq}: expected seq ${expectedSeq}`);
    const expectedPrev = prev ? prev.hash : '0'.repeat(64);
    if (e.prev_hash !== expectedPrev)
      problems.push(`seq ${e.seq}: prev_hash does not link to seq ${prev?.seq ?? 0}`);
    const h = referenceHash(e.prev_hash, {
      seq: e.seq,
      eventId: e.event_id,
      ts: e.ts,
      actor: e.actor,
      action: e.action,
      payload: e.payload,
    });
    if (h !== e.hash) problems.push(`seq ${e.seq}: stored hash differs from the recomputed one`);
    prev = e;
  }
  return problems;
}

/**
 * PostgreSQL backends call setsid(), so PostgresServer's group signals reach only the postmaster:
 * these reach every process of the server (postmaster and its children).
 */
export function serverPids(server: PostgresServer): number[] {
  const root = server.pid;
  if (root === undefined) return [];
  const pids = [root];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (ppid === root) pids.push(Number(entry));
    } catch {
      // gone meanwhile
    }
  }
  return pids;
}

function signalAll(pids: number[], signal: NodeJS.Signals): void {
  for (const pid of pids) {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

/** A stalled server: every process stopped, connections hang without an error. Returns the undo. */
export function stallPostgres(server: PostgresServer): () => void {
  const pids = serverPids(server);
  signalAll(pids, 'SIGSTOP');
  return () => signalAll(pids, 'SIGCONT');
}

/** A crash of the whole server at once (as the OOM killer or a power cut would): nothing flushes. */
export async function crashPostgres(server: PostgresServer): Promise<void> {
  signalAll(serverPids(server), 'SIGKILL');
  await server.kill();
}
