/**
 * async-commit: with synchronous_commit off, a crash of the database loses entries the service
 * already acknowledged; with it on (the correct service), the same crash loses none. The WAL
 * writer is slowed (wal_writer_delay 10s) so that the unflushed tail is there when the crash hits.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { FlawMode } from '../../src/service/index.ts';
import { PostgresServer } from '../../src/stack/local/postgres.ts';
import {
  crashPostgres,
  postEvent,
  readLog,
  serviceOn,
  type TestService,
  waitHealthy,
} from './service-helpers.ts';

describe('async-commit (real PostgreSQL, crashed mid-burst)', () => {
  let server: PostgresServer;
  const services: TestService[] = [];
  beforeAll(async () => {
    server = await PostgresServer.create({ settings: { wal_writer_delay: '10s' } });
  });
  afterAll(async () => {
    for (const s of services) await s.close();
    await server?.dispose();
  });

  /** Writers append until `crashAfter` acks, the whole server is SIGKILLed, then it restarts. */
  async function crashDuringBurst(flaws: FlawMode[], crashAfter: number) {
    const s = await serviceOn(server, { flaws, dbTimeoutMs: 1000 });
    services.push(s);
    const acked = new Set<string>();
    let n = 0;
    let stop = false;
    let crashed: Promise<void> | undefined;
    const writers = Array.from({ length: 8 }, async () => {
      while (!stop) {
        const id = `${flaws.join() || 'correct'}-${n++}`;
        const r = await postEvent(s.url, { event_id: id, payload: { n } });
        if (r.status === 201 || r.status === 200) acked.add(id);
        if (acked.size >= crashAfter && !crashed) crashed = crashPostgres(server);
        if (crashed) stop = true;
      }
    });
    await Promise.all(writers);
    await crashed;
    await server.start();
    await waitHealthy(s.url);
    const stored = new Set((await readLog(s.adminUrl)).map((e) => e.event_id));
    return { acked: acked.size, lost: [...acked].filter((id) => !stored.has(id)) };
  }

  it('the correct service loses no acknowledged entry when the database crashes', async () => {
    const r = await crashDuringBurst([], 80);
    expect(r.acked).toBeGreaterThanOrEqual(80);
    expect(r.lost).toEqual([]);
  });

  it('async-commit loses acknowledged entries when the database crashes', async () => {
    const r = await crashDuringBurst(['async-commit'], 80);
    expect(r.acked).toBeGreaterThanOrEqual(80);
    console.info(`async-commit: ${r.lost.length} of ${r.acked} acknowledged entries lost in the crash`);
    expect(r.lost.length, `${r.lost.length} of ${r.acked} acknowledged entries lost`).toBeGreaterThan(0);
  });
});
