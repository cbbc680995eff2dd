/**
 * Each flaw mode makes the failure it stands for really happen, against a real PostgreSQL, and the
 * correct service does not fail the same drill (so that each test can fail). async-commit, which
 * needs its own server settings, is in service-async-commit.test.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { payloadDigest } from '../../src/scan/reference-chain.ts';
import { type FlawMode, migrate } from '../../src/service/index.ts';
import { PostgresServer } from '../../src/stack/local/postgres.ts';
import {
  burst,
  chainProblems,
  postEvent,
  readLog,
  serviceOn,
  sql,
  type TestService,
} from './service-helpers.ts';

/** A commit that fails after the INSERT succeeded (as a crash, a lost link or a deferred check would). */
async function failCommitsOf(adminUrl: string, actor: string): Promise<void> {
  await sql(
    adminUrl,
    `CREATE FUNCTION test_fail_at_commit() RETURNS trigger LANGUAGE plpgsql AS $$
       BEGIN RAISE EXCEPTION 'commit refused by the test'; END $$;
     CREATE CONSTRAINT TRIGGER test_fail_at_commit AFTER INSERT ON audit_log
       DEFERRABLE INITIALLY DEFERRED FOR EACH ROW WHEN (NEW.actor = '${actor}')
       EXECUTE FUNCTION test_fail_at_commit();`,
  );
}

describe('flaw modes (real PostgreSQL)', () => {
  let server: PostgresServer;
  const services: TestService[] = [];
  const start = async (flaws: FlawMode[], db?: string) => {
    const s = await serviceOn(server, { flaws, db });
    services.push(s);
    return s;
  };
  beforeAll(async () => {
    server = await PostgresServer.create({ settings: { fsync: 'off' } });
  });
  afterAll(async () => {
    for (const s of services) await s.close();
    await server?.dispose();
  });

  it('ack-before-commit: a commit that fails leaves an acknowledged event missing; the correct service never acks it', async () => {
    for (const [flaws, expectAck] of [
      [[], false],
      [['ack-before-commit'], true],
    ] as const) {
      const s = await start([...flaws]);
      await failCommitsOf(s.adminUrl, 'doomed');
      expect((await postEvent(s.url, { event_id: 'before' })).status).toBe(201);
      const r = await postEvent(s.url, { event_id: 'lost', actor: 'doomed' });
      expect(r.status === 201, `flaws [${flaws.join()}]: answered ${r.status}`).toBe(expectAck);
      if (!expectAck) expect(r.status).toBeGreaterThanOrEqual(500);
      await new Promise((res) => setTimeout(res, 200)); // let the flawed COMMIT fail behind the ack
      const log = await readLog(s.adminUrl);
      expect(log.map((e) => e.event_id)).toEqual(['before']); // acked (flawed) yet absent
      if (expectAck) expect(s.logs.join('\n')).toMatch(/COMMIT failed after the ack/);
      expect((await postEvent(s.url, { event_id: 'after' })).status).toBe(201);
      expect(chainProblems(await readLog(s.adminUrl))).toEqual([]);
    }
  });

  it('no-idempotency: a retried event id is stored twice', async () => {
    const s = await start(['no-idempotency']);
    const a = await postEvent(s.url, { event_id: 'dup' });
    const b = await postEvent(s.url, { event_id: 'dup' });
    expect([a.status, b.status]).toEqual([201, 201]);
    const log = await readLog(s.adminUrl);
    expect(log.map((e) => e.event_id)).toEqual(['dup', 'dup']);
    expect(chainProblems(log)).toEqual([]); // the chain is fine: only the duplicate check can see it
  });

  it('unlocked-append: concurrent appends fork the chain', async () => {
    const s = await start(['unlocked-append']);
    const replies = await burst(s.url, 300, 32, 'fork');
    expect([...replies.values()].filter((r) => r.status !== 201)).toEqual([]);
    const log = await readLog(s.adminUrl);
    expect(log).toHaveLength(300);
    const byPrev = new Map<string, number>();
    for (const e of log) byPrev.set(e.prev_hash, (byPrev.get(e.prev_hash) ?? 0) + 1);
    const forks = [...byPrev.values()].filter((n) => n > 1).length;
    expect(forks, 'entries sharing one predecessor').toBeGreaterThan(0);
    expect(chainProblems(log).some((p) => p.includes('prev_hash does not link'))).toBe(true);
  });

  it('truncate-payload: a long payload is stored cut (its digest differs), short ones intact, chain valid', async () => {
    const s = await start(['truncate-payload']);
    const long = { text: 'y'.repeat(300), n: 1 };
    const short = { n: 2 };
    expect((await postEvent(s.url, { event_id: 'long', payload: long })).status).toBe(201);
    expect((await postEvent(s.url, { event_id: 'short', payload: short })).status).toBe(201);
    const [l, sh] = await readLog(s.adminUrl);
    expect(payloadDigest(l!.payload)).not.toBe(payloadDigest(long));
    expect(typeof l!.payload).toBe('string');
    expect(Buffer.byteLength(l!.payload as string)).toBeLessThanOrEqual(128);
    expect(JSON.stringify(long).startsWith(l!.payload as string)).toBe(true);
    expect(payloadDigest(sh!.payload)).toBe(payloadDigest(short));
    expect(chainProblems([l!, sh!])).toEqual([]); // hashed after the cut: only the ledger shows it
  });

  it('mutable: no triggers, and the service role may UPDATE and DELETE (the chain shows it)', async () => {
    const s = await start(['mutable']);
    for (let i = 0; i < 4; i++) await postEvent(s.url, { event_id: `m-${i}` });
    await sql(s.writerUrl, `UPDATE audit_log SET payload = '{"rewritten":true}' WHERE seq = 2`);
    await sql(s.writerUrl, 'DELETE FROM audit_log WHERE seq = 3');
    await sql(s.ownerUrl, `UPDATE audit_log SET actor = 'someone-else' WHERE seq = 4`);
    const log = await readLog(s.adminUrl);
    expect(log.map((e) => e.seq)).toEqual([1, 2, 4]);
    expect(log[1]!.payload).toEqual({ rewritten: true });
    expect(chainProblems(log).length).toBeGreaterThan(0);
    // Converging back: migrate without the flaw restores the guards.
    await migrate(s.adminUrl, {});
    await expect(sql(s.writerUrl, 'DELETE FROM audit_log WHERE seq = 1')).rejects.toThrow(
      /permission denied/,
    );
    await expect(sql(s.ownerUrl, 'DELETE FROM audit_log WHERE seq = 1')).rejects.toThrow(/append-only/);
  });

  it('api-delete: DELETE /events/{id} removes the entry; other rewrites stay refused', async () => {
    const s = await start(['api-delete']);
    for (let i = 0; i < 3; i++) await postEvent(s.url, { event_id: `d-${i}` });
    const del = await fetch(`${s.url}/events/d-1`, { method: 'DELETE' });
    expect(del.status).toBe(200);
    expect((await fetch(`${s.url}/events/d-1`)).status).toBe(404);
    expect((await fetch(`${s.url}/events/d-0`, { method: 'PUT', body: '{}' })).status).toBe(405);
    await expect(sql(s.writerUrl, `UPDATE audit_log SET actor = 'x'`)).rejects.toThrow(/permission denied/);
    const log = await readLog(s.adminUrl);
    expect(log.map((e) => e.event_id)).toEqual(['d-0', 'd-2']);
    expect(chainProblems(log).length).toBeGreaterThan(0);
  });

  it('stale-head-cache: after a failed commit the cached head breaks the chain; the correct service stays valid', async () => {
    for (const [flaws, expectBroken] of [
      [[], false],
      [['stale-head-cache'], true],
    ] as const) {
      const s = await start([...flaws]);
      await failCommitsOf(s.adminUrl, 'doomed');
      expect((await postEvent(s.url, { event_id: 'one' })).status).toBe(201);
      expect((await postEvent(s.url, { event_id: 'two', actor: 'doomed' })).status).toBeGreaterThanOrEqual(
        500,
      );
      const three = await postEvent(s.url, { event_id: 'three' });
      expect(three.status).toBe(201);
      expect(three.body.seq).toBe(expectBroken ? 3 : 2);
      const problems = chainProblems(await readLog(s.adminUrl));
      expect(problems.length > 0, `flaws [${flaws.join()}]: ${problems.join('; ')}`).toBe(expectBroken);
    }
  });

  it('stale-head-cache: two replicas each keep their own head, and one of them can no longer append', async () => {
    const a = await start(['stale-head-cache']);
    const b = await start(['stale-head-cache'], a.db);
    expect((await postEvent(a.url, { event_id: 'a-1' })).status).toBe(201);
    expect((await postEvent(b.url, { event_id: 'b-1' })).status).toBe(201);
    // a still believes the head is seq 1: its next append claims seq 2 again.
    const again = await postEvent(a.url, { event_id: 'a-2' });
    expect(again.status).toBe(409);
    expect(chainProblems(await readLog(a.adminUrl))).toEqual([]);
  });
});
