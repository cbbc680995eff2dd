import { createPublicKey, verify } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { jcs, payloadDigest } from '../../src/scan/reference-chain.ts';
import { PostgresServer } from '../../src/stack/local/postgres.ts';
import { BIN, REPO_ROOT } from '../helpers/cli.ts';
import {
  burst,
  chainProblems,
  crashPostgres,
  freshDatabase,
  postEvent,
  readLog,
  serviceOn,
  sql,
  stallPostgres,
  type TestService,
  waitHealthy,
} from './service-helpers.ts';

describe('reference service (correct mode, real PostgreSQL)', () => {
  let server: PostgresServer;
  const services: TestService[] = [];
  const start = async (opts: Parameters<typeof serviceOn>[1] = {}) => {
    const s = await serviceOn(server, opts);
    services.push(s);
    return s;
  };
  beforeAll(async () => {
    // fsync off keeps the suite fast on a slow disk; SIGKILL crashes keep what the OS was given.
    server = await PostgresServer.create({ settings: { fsync: 'off' } });
  });
  afterAll(async () => {
    for (const s of services) await s.close();
    await server?.dispose();
  });

  it('a burst of 2,000 appends from 32 clients yields a gapless, valid chain', async () => {
    const s = await start();
    const replies = await burst(s.url, 2000, 32, 'burst');
    const statuses = [...replies.values()].map((r) => r.status);
    expect(statuses.filter((x) => x !== 201)).toEqual([]);
    const log = await readLog(s.adminUrl);
    expect(log).toHaveLength(2000);
    expect(chainProblems(log)).toEqual([]);
    expect(log.map((e) => e.seq)).toEqual(Array.from({ length: 2000 }, (_, i) => i + 1));
    // What the service answered is what is stored.
    for (const e of log) {
      const r = replies.get(e.event_id)!;
      expect(r.body).toMatchObject({ seq: e.seq, hash: e.hash, prev_hash: e.prev_hash, ts: e.ts });
    }
    expect(new Set(log.map((e) => e.event_id)).size).toBe(2000);
  });

  it('hashes what reads back: payloads that jsonb normalizes re-hash to the stored hash', async () => {
    const s = await start();
    const tricky = [
      { b: 1, a: 2 },
      { nested: { '\u00e9': 'é', 'a\u{1F600}': ['😀', null, true] }, s: 'line\nbreak "quoted"' },
      ['array', 'payload'],
      'a plain string',
      42,
      null,
    ];
    for (const [i, payload] of tricky.entries()) {
      const r = await postEvent(s.url, { event_id: `tricky-${i}`, payload });
      expect(r.status, JSON.stringify(r.body)).toBe(201);
    }
    // Raw JSON text, as another client would write it: number forms that jsonb keeps or changes.
    const raw =
      '{"event_id":"numbers","actor":"a","action":"b","payload":' +
      '{"x":1.0,"y":1.5e3,"z":1e21,"w":0.10,"v":-0,"u":1E-7,"t":5e-324,"big":12345678901234567890,"k":{"b":1,"a":2}}}';
    const r = await fetch(`${s.url}/events`, { method: 'POST', body: raw });
    expect(r.status).toBe(201);
    const log = await readLog(s.adminUrl);
    expect(chainProblems(log)).toEqual([]);
    // The writers' ledger digest of what they sent equals the digest of what is stored.
    expect(payloadDigest(log.at(-1)!.payload)).toBe(payloadDigest(JSON.parse(raw).payload));
    expect(log.map((e) => e.ts).every((ts) => /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z$/.test(ts))).toBe(
      true,
    );
    // ts is the database's clock, microseconds kept: not all of them end in 000.
    expect(log.some((e) => !e.ts.endsWith('000Z'))).toBe(true);
    // And over the HTTP read path too.
    const page = (await (await fetch(`${s.url}/events?after=0&limit=100`)).json()) as { events: unknown[] };
    expect(page.events).toEqual(log);
  });

  it('a retried event_id is stored once and answered with the stored entry', async () => {
    const s = await start();
    const first = await postEvent(s.url, { event_id: 'retry-me', payload: { v: 1 } });
    expect(first.status).toBe(201);
    const again = await postEvent(s.url, { event_id: 'retry-me', payload: { v: 1 } });
    expect(again.status).toBe(200);
    expect(again.body).toEqual(first.body);
    // Concurrent retries of one id, as a client with a short timeout would send them.
    const racers = await Promise.all(
      Array.from({ length: 16 }, () => postEvent(s.url, { event_id: 'raced', payload: { v: 2 } })),
    );
    expect(racers.filter((r) => r.status === 201)).toHaveLength(1);
    expect(racers.filter((r) => r.status === 200)).toHaveLength(15);
    const log = await readLog(s.adminUrl);
    expect(log.map((e) => e.event_id)).toEqual(['retry-me', 'raced']);
    expect(chainProblems(log)).toEqual([]);
  });

  it('refuses UPDATE, DELETE and TRUNCATE through the writer and the owner roles; the API answers 405', async () => {
    const s = await start();
    await postEvent(s.url, { event_id: 'keep-1' });
    await postEvent(s.url, { event_id: 'keep-2' });
    const attempts = [
      `UPDATE audit_log SET payload = '{}' WHERE seq = 1`,
      'DELETE FROM audit_log WHERE seq = 2',
      'TRUNCATE audit_log',
    ];
    for (const url of [s.writerUrl, s.ownerUrl]) {
      for (const stmt of attempts) {
        const err = await sql(url, stmt).then(
          () => undefined,
          (e: Error & { code?: string }) => e,
        );
        expect(err, `${stmt} as ${new URL(url).username}`).toBeDefined();
        expect(err?.code).toBe('42501');
      }
    }
    // The owner is refused by the triggers (the writer already by its grants).
    await expect(sql(s.ownerUrl, attempts[0]!)).rejects.toThrow(/append-only/);
    await expect(sql(s.writerUrl, attempts[0]!)).rejects.toThrow(/permission denied/);
    // The writer cannot switch the triggers off; the owner can (the harness's tamper probes do).
    await expect(sql(s.writerUrl, 'ALTER TABLE audit_log DISABLE TRIGGER ALL')).rejects.toThrow();
    for (const method of ['PUT', 'PATCH', 'DELETE']) {
      const r = await fetch(`${s.url}/events/keep-1`, {
        method,
        body: method === 'DELETE' ? undefined : '{}',
      });
      expect(r.status, method).toBe(405);
      expect(r.headers.get('allow')).toBe('GET');
    }
    expect((await fetch(`${s.url}/events`, { method: 'DELETE' })).status).toBe(405);
    const log = await readLog(s.adminUrl);
    expect(log.map((e) => e.event_id)).toEqual(['keep-1', 'keep-2']);
    expect(chainProblems(log)).toEqual([]);
    // Only INSERT and SELECT for the writer.
    const grants = await sql<{ privilege_type: string }>(
      s.adminUrl,
      `SELECT privilege_type FROM information_schema.role_table_grants
       WHERE grantee = 'auditlog_writer' AND table_name = 'audit_log' ORDER BY 1`,
    );
    expect(grants.rows.map((r) => r.privilege_type)).toEqual(['INSERT', 'SELECT']);
  });

  it('signs checkpoints with Ed25519 over jcs({seq, hash, ts}); the key persists in its file', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-key-'));
    const keyPath = path.join(dir, 'signing.pem');
    try {
      const s = await start({ signingKeyPath: keyPath });
      const keyDoc = (await (await fetch(`${s.url}/checkpoint/key`)).json()) as {
        publicKey: string;
        algorithm: string;
      };
      expect(keyDoc.algorithm).toBe('ed25519');
      const publicKey = createPublicKey(keyDoc.publicKey);
      const check = (cp: { seq: number; hash: string; ts: string; signature: string }) =>
        verify(
          null,
          Buffer.from(jcs({ seq: cp.seq, hash: cp.hash, ts: cp.ts })),
          publicKey,
          Buffer.from(cp.signature, 'base64'),
        );

      const empty = (await (await fetch(`${s.url}/checkpoint`)).json()) as Parameters<typeof check>[0];
      expect(empty.seq).toBe(0);
      expect(empty.hash).toBe('0'.repeat(64));
      expect(check(empty)).toBe(true);

      for (let i = 0; i < 5; i++) await postEvent(s.url, { event_id: `cp-${i}` });
      const cp = (await (await fetch(`${s.url}/checkpoint`)).json()) as Parameters<typeof check>[0];
      const log = await readLog(s.adminUrl);
      expect(cp).toMatchObject({ seq: 5, hash: log[4]!.hash, ts: log[4]!.ts });
      expect(check(cp)).toBe(true);
      expect(check({ ...cp, seq: 4 })).toBe(false);

      // Same key file -> same key after a restart, PKCS8 PEM on disk.
      expect(await readFile(keyPath, 'utf8')).toMatch(/^-----BEGIN PRIVATE KEY-----/);
      const again = await start({ db: s.db, signingKeyPath: keyPath });
      const key2 = (await (await fetch(`${again.url}/checkpoint/key`)).json()) as { publicKey: string };
      expect(key2.publicKey).toBe(keyDoc.publicKey);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('answers 400 for bad requests and serves reads', async () => {
    const s = await start();
    const bad = async (body: string) => (await fetch(`${s.url}/events`, { method: 'POST', body })).status;
    expect(await bad('not json')).toBe(400);
    expect(await bad('[]')).toBe(400);
    expect(await bad(JSON.stringify({ event_id: '', actor: 'a', action: 'b', payload: {} }))).toBe(400);
    expect(await bad(JSON.stringify({ event_id: 'x', actor: 'a', action: 'b' }))).toBe(400);
    expect(await bad(JSON.stringify({ event_id: 'x', actor: 7, action: 'b', payload: {} }))).toBe(400);
    expect(await bad(JSON.stringify({ event_id: 'x', actor: 'a', action: 'b', payload: 'nul\u0000' }))).toBe(
      400,
    );
    expect(
      (await fetch(`${s.url}/events`, { method: 'POST', body: 'x'.repeat(1024 * 1024 + 1) })).status,
    ).toBe(413);
    // A payload the database refuses, sent among good ones (which may share its group commit).
    const mixed = await Promise.all(
      Array.from({ length: 12 }, (_, i) =>
        postEvent(s.url, { event_id: `mixed-${i}`, payload: i === 5 ? 'nul\u0000' : { i } }),
      ),
    );
    expect(mixed.map((r) => r.status)).toEqual(mixed.map((_, i) => (i === 5 ? 400 : 201)));
    const mixedLog = await readLog(s.adminUrl);
    expect(mixedLog).toHaveLength(11);
    expect(chainProblems(mixedLog)).toEqual([]);
    await s.close();
    services.splice(services.indexOf(s), 1);
    const t = await start();
    await runReads(t);
  });

  async function runReads(s: TestService) {
    for (let i = 0; i < 5; i++) await postEvent(s.url, { event_id: `read-${i}` });
    const page = (await (await fetch(`${s.url}/events?after=1&limit=2`)).json()) as {
      events: { seq: number }[];
      next_after: number | null;
    };
    expect(page.events.map((e) => e.seq)).toEqual([2, 3]);
    expect(page.next_after).toBe(3);
    expect((await fetch(`${s.url}/events?after=-1`)).status).toBe(400);
    expect((await fetch(`${s.url}/events?limit=100000`)).status).toBe(400);
    const one = (await (await fetch(`${s.url}/events/read-4`)).json()) as { seq: number };
    expect(one.seq).toBe(5);
    expect((await fetch(`${s.url}/events/nope`)).status).toBe(404);
    const log = await readLog(s.adminUrl);
    expect(log).toHaveLength(5); // nothing refused was stored
  }

  it('two replicas on one database keep one gapless, valid chain', async () => {
    const a = await start();
    const b = await start({ db: a.db });
    const [ra, rb] = await Promise.all([burst(a.url, 200, 8, 'rep-a'), burst(b.url, 200, 8, 'rep-b')]);
    expect([...ra.values(), ...rb.values()].filter((r) => r.status !== 201)).toEqual([]);
    const log = await readLog(a.adminUrl);
    expect(log).toHaveLength(400);
    expect(chainProblems(log)).toEqual([]);
  });

  it('answers 503 within its timeout while the DB is stopped or stalled, and appends again once it is back', async () => {
    const s = await start({ dbTimeoutMs: 1000 });
    // Writers keep going through the whole outage: nothing acknowledged may be lost.
    let running = true;
    const acked = new Set<string>();
    const seen: number[] = [];
    let n = 0;
    const writers = Array.from({ length: 4 }, async () => {
      while (running) {
        const id = `dt-${n++}`;
        const r = await postEvent(s.url, { event_id: id });
        seen.push(r.status);
        if (r.status === 201 || r.status === 200) acked.add(id);
        if (r.status !== 201) await new Promise((res) => setTimeout(res, 20));
      }
    });
    await new Promise((r) => setTimeout(r, 500));

    await crashPostgres(server); // a crash in the middle of the appends
    const down = await postEvent(s.url, { event_id: 'while-down' });
    expect(down.status).toBe(503);
    expect(down.ms).toBeLessThan(1000 + 1500);
    expect((await fetch(`${s.url}/health`)).status).toBe(503);
    await server.start();
    await waitHealthy(s.url);
    const back = await postEvent(s.url, { event_id: 'after-restart' });
    expect(back.status).toBe(201);

    const resume = stallPostgres(server); // stalled: connections hang without an error
    const stalled = await postEvent(s.url, { event_id: 'while-stalled' });
    resume();
    expect(stalled.status).toBe(503);
    // Within --db-timeout (1 s) plus scheduling slack on a busy machine; measured value in the message.
    expect(stalled.ms, `answered after ${Math.round(stalled.ms)} ms`).toBeLessThan(1000 + 1500);
    await waitHealthy(s.url);
    running = false;
    await Promise.all(writers);
    expect((await postEvent(s.url, { event_id: 'after-stall' })).status).toBe(201);

    const log = await readLog(s.adminUrl);
    const stored = new Set(log.map((e) => e.event_id));
    expect([...acked].filter((id) => !stored.has(id))).toEqual([]);
    expect(chainProblems(log)).toEqual([]);
    expect(seen.filter((x) => x === 503).length).toBeGreaterThan(0);
    expect(
      seen.filter((x) => ![200, 201, 503].includes(x)),
      s.logs.join('\n'),
    ).toEqual([]);
  });

  it('starts while the DB is down (health 503), migrates and serves once it is up', async () => {
    const db = await freshDatabase(server);
    await server.stop();
    const logs: string[] = [];
    const { startService } = await import('../../src/service/index.ts');
    const s = await startService({
      databaseUrl: server.url(db, 'auditlog_writer', 'auditlog_writer'),
      adminUrl: server.url(db),
      dbTimeoutMs: 1000,
      log: (l) => logs.push(l),
    });
    try {
      expect(logs[0]).toBe(`auditlog listening on ${s.url}`);
      expect((await fetch(`${s.url}/health`)).status).toBe(503);
      expect((await postEvent(s.url, { event_id: 'early' })).status).toBe(503);
      await server.start();
      await waitHealthy(s.url);
      expect((await postEvent(s.url, { event_id: 'late' })).status).toBe(201);
      expect(logs.join('\n')).not.toContain(server.password);
    } finally {
      await s.close();
    }
  });

  it('`auditchaos serve` prints its ready line, serves, and stops on SIGTERM without printing passwords', async () => {
    const db = await freshDatabase(server);
    const child = execa(process.execPath, [BIN, 'serve', '--listen', '127.0.0.1:0', '--db-timeout', '1s'], {
      cwd: REPO_ROOT,
      reject: false,
      env: {
        NO_COLOR: '1',
        DATABASE_URL: server.url(db, 'auditlog_writer', 'auditlog_writer'),
        ADMIN_DATABASE_URL: server.url(db),
        AUDITLOG_FLAWS: '',
      },
    });
    let out = '';
    const url = await new Promise<string>((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`no ready line: ${out}`)), 30_000);
      child.stdout?.on('data', (b: Buffer) => {
        out += b.toString();
        const m = /auditlog listening on (http:\/\/\S+)/.exec(out);
        if (m) {
          clearTimeout(t);
          resolve(m[1]!);
        }
      });
    });
    await waitHealthy(url);
    expect((await postEvent(url, { event_id: 'cli-1' })).status).toBe(201);
    child.kill('SIGTERM');
    const r = await child;
    expect(r.stdout).toContain('auditlog stopped');
    expect(r.stdout + r.stderr).not.toContain(server.password);
    expect(r.exitCode).toBe(130);
  });

  it('`auditchaos serve` refuses bad flags with exit 2', async () => {
    const r = await execa(
      process.execPath,
      [BIN, 'serve', '--flaws', 'nope', '--database-url', 'postgres://x@127.0.0.1/db'],
      {
        reject: false,
        env: { NO_COLOR: '1' },
      },
    );
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('unknown flaw mode "nope"');
  });
});
