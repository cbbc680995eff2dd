/**
 * A PostgreSQL table verified in seq ranges by worker threads, each on its own connection
 * (sources/pg-ranges.ts), against the one-connection scan of today's path (every row through
 * rowToItem: JSON.parse + the recipe, ts by to_char on the server) and the one-connection scan with jsonb payloads made
 * canonical as text: the same result, finding for finding, on a damaged table with a history and
 * checkpoints, ranges cut inside a gap, a fork and a swapped pair, start states guessed right and
 * wrong. Tables whose seq does not order the rows (no unique index, a NULL) are not cut.
 */
import type pg from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { referenceEntries, rehash, toJsonLine } from '../../src/scan/generate.ts';
import { type ScanResult, scanLog } from '../../src/scan/scan.ts';
import { seqCuts, seqRangeStats } from '../../src/scan/sources/pg-ranges.ts';
import { type PostgresSourceOptions, postgresSource } from '../../src/scan/sources/postgres.ts';
import type { LogEntry, LogSource } from '../../src/scan/types.ts';
import { checkpointsFor, historyFor } from '../helpers/damaged-log.ts';
import { insertEntries, usePostgres } from '../helpers/pg-table.ts';
import { trickyPayloadTexts } from '../unit/scan/corpus.ts';

const N = 8200; // checkpointsFor() names lines 100, 3001 and 8000
const db = usePostgres();
let client: pg.Client;
let url: string;
beforeAll(() => {
  client = db.client;
  url = db.url;
});

/** A valid chain of N entries, every 7th payload from the tricky corpus (jsonb reorders and renormalizes them). */
function chain(): LogEntry[] {
  const tricky = trickyPayloadTexts({ seed: 16, count: N });
  const out = [...referenceEntries({ count: N, payloadBytes: 24 })];
  for (let i = 0; i < out.length; i++) {
    const t = JSON.parse(tricky[i]!);
    // jsonb refuses \u0000
    const payload = i % 7 === 3 && !JSON.stringify(t).includes('\\u0000') ? t : out[i]!.payload;
    out[i] = rehash({ ...out[i]!, payload, prevHash: i === 0 ? '0'.repeat(64) : out[i - 1]!.hash });
  }
  return out;
}

async function load(name: string, entries: LogEntry[], seqIndex: 'primary key' | 'unique' | 'none') {
  await client.query(`DROP TABLE IF EXISTS ${name}`);
  await client.query(`CREATE TABLE ${name} (seq bigint ${seqIndex === 'none' ? '' : seqIndex}, event_id text,
    ts timestamptz, actor text, action text, payload jsonb, prev_hash text, hash text)`);
  await insertEntries(client, name, entries);
  await client.query(`ANALYZE ${name}`);
}

/** Defects planted with SQL, several right at the cut points a scan in `ranges` ranges makes. */
async function damage(name: string, ranges: number, entries: LogEntry[]) {
  const q = (sql: string) => client.query(sql);
  await q(`DELETE FROM ${name} WHERE seq = 1`); // the head is missing
  await q(
    `INSERT INTO ${name} SELECT ${N + 10}, event_id, ts, actor, action, payload, prev_hash, hash FROM ${name} WHERE seq = 20`,
  ); // duplicate id
  await q(`DELETE FROM ${name} WHERE seq > ${N - 5} AND seq <= ${N}`); // a lost tail
  const span = await q(`SELECT min(seq)::text AS min, max(seq)::text AS max FROM ${name}`);
  const cuts = seqCuts(span.rows[0].min, span.rows[0].max, ranges).map(Number);
  const [c1, c2, c3, c4, c5] = cuts as [number, number, number, number, number];
  await q(`DELETE FROM ${name} WHERE seq BETWEEN ${c1 - 2} AND ${c1 + 1}`); // a gap across a cut
  // a fork across a cut: the entry after the cut claims (rehashed) the predecessor of the one before it
  const forked = rehash({ ...entries[c2 - 1]!, prevHash: entries[c2 - 3]!.hash });
  await client.query(`UPDATE ${name} SET prev_hash = $1, hash = $2 WHERE seq = ${c2}`, [
    forked.prevHash,
    forked.hash,
  ]);
  // a swapped pair across a cut
  await q(`UPDATE ${name} SET seq = -1 WHERE seq = ${c3 - 1}`);
  await q(`UPDATE ${name} SET seq = ${c3 - 1} WHERE seq = ${c3}`);
  await q(`UPDATE ${name} SET seq = ${c3} WHERE seq = -1`);
  await q(`UPDATE ${name} SET payload = payload || '{"edited": true}' WHERE seq = ${c4}`); // content edit at a cut
  await q(`UPDATE ${name} SET actor = '' WHERE seq = ${c5 - 1}`); // partial
  await q(`UPDATE ${name} SET actor = NULL WHERE seq = 40`); // unreadable row
  await q(`UPDATE ${name} SET hash = NULL WHERE seq = 41`);
  await q(`UPDATE ${name} SET hash = repeat('ff', 32) WHERE seq = 900`); // broken hash
  await q(`UPDATE ${name} SET payload = '{"big": 1e400, "n": 1.50}' WHERE seq = 1200`); // not finite for JSON.parse
  await q(`UPDATE ${name} SET payload = '{"k": "\\u0001 é 😀"}' WHERE seq = 1300`);
  await q(`UPDATE ${name} SET payload = 'null' WHERE seq = 1400`);
  await q(`UPDATE ${name} SET payload = '"just a string"' WHERE seq = 1401`);
  await q(`ANALYZE ${name}`);
}

const view = (r: ScanResult) => JSON.stringify({ ...r, durationMs: 0 });

/** Today's path: every row through rowToItem (JSON.parse of the payload), hashed by the recipe. */
function itemsOnly(s: LogSource): LogSource {
  return {
    describe: s.describe,
    batches: s.batches!.bind(s),
    entries: s.entries.bind(s),
    ...(s.notAvailable ? { notAvailable: s.notAvailable } : {}),
  };
}

describe('PostgreSQL in seq ranges', () => {
  it('the same result as one connection, finding for finding, cuts inside a gap, a fork and a swapped pair', async () => {
    const entries = chain();
    const lines = entries.map(toJsonLine);
    const history = historyFor(lines);
    const checkpoints = checkpointsFor(lines);
    const opts = { ledger: history, checkpoints, before: { lastSeq: 30 }, maxFindings: 100_000 };
    await load('ranged', entries, 'primary key');
    await damage('ranged', 7, entries);
    const base: PostgresSourceOptions = { url, table: 'ranged' };

    const today = await scanLog({
      source: itemsOnly(await postgresSource({ ...base, workers: 0 })),
      ...opts,
    });
    const kinds = new Set(today.findings.map((f) => f.kind));
    for (const k of ['broken-chain', 'partial', 'duplicate', 'missing', 'unexpected', 'rollback'])
      expect(kinds).toContain(k);
    expect(today.findings.some((f) => f.message.includes('fork'))).toBe(true);
    const one = await scanLog({ source: await postgresSource({ ...base, workers: 0 }), ...opts });
    expect(view(one)).toBe(view(today));

    for (const [ranges, warmRows] of [
      [7, 64],
      [7, 1], // guesses from one row: wrong after the gap, the fork, the swap
      [13, 0],
      [40, 3],
    ] as const) {
      const before = seqRangeStats();
      const source = await postgresSource({ ...base, workers: 2, parallelMinRows: 0, ranges, warmRows });
      expect(source.verifyRanges).toBeDefined();
      const par = await scanLog({ source, ...opts });
      const after = seqRangeStats();
      expect(after.ranges - before.ranges).toBe(ranges);
      if (warmRows <= 1) expect(after.reruns).toBeGreaterThan(before.reruns);
      expect(view(par)).toBe(view(today));
    }
  }, 120_000);

  it('does not cut a table whose seq does not order its rows: no unique index; a NULL seq appearing after the source opened', async () => {
    const entries = chain().slice(0, 500);
    await load('unordered', [...entries, { ...entries[10]!, eventId: 'again' }], 'none');
    const u = await postgresSource({ url, table: 'unordered', workers: 2, parallelMinRows: 0 });
    expect(u.verifyRanges).toBeUndefined();

    await load('nullable', entries, 'unique');
    const base: PostgresSourceOptions = { url, table: 'nullable', workers: 2, parallelMinRows: 0, ranges: 5 };
    const source = await postgresSource(base);
    expect(source.verifyRanges).toBeDefined();
    await client.query(
      `INSERT INTO nullable SELECT NULL, 'no-seq', ts, actor, action, payload, prev_hash, hash FROM nullable WHERE seq = 7`,
    );
    const before = seqRangeStats();
    const par = await scanLog({ source });
    expect(seqRangeStats().ranges - before.ranges).toBe(1); // the whole table as one range
    const today = await scanLog({
      source: itemsOnly(await postgresSource({ ...base, workers: 0, tsInClient: false })),
    });
    expect(par.findings.length).toBeGreaterThan(0);
    expect(view(par)).toBe(view(today));
  }, 60_000);
});

describe('timestamptz rendered by the client', () => {
  it('gives the text to_char gives on the server: fractions, years BC and past 9999, infinity (NULL: unreadable)', async () => {
    const entries = chain().slice(0, 40);
    await load('times', entries, 'primary key');
    const odd = [
      '2026-01-01 00:00:00+00',
      '2026-01-01 00:00:00.5+00',
      '2026-01-01 00:00:00.000001+00',
      '2026-06-30 23:59:59.999999+02',
      '0001-01-01 00:00:00+00',
      '9999-12-31 23:59:59.999999+00',
      '10000-01-01 00:00:00+00',
      '294276-12-31 23:59:59.999999+00',
      '0044-03-15 12:00:00+00 BC',
      '4713-11-24 00:00:00+00 BC',
      'infinity',
      '-infinity',
      '1969-12-31 23:59:59.123+00',
      '2000-02-29 12:34:56.78901+05:30',
    ];
    for (let i = 0; i < odd.length; i++)
      await client.query('UPDATE times SET ts = $1 WHERE seq = $2', [odd[i], i + 3]);
    // a session default that would print otherwise: the scan sets its own
    await client.query(`ALTER DATABASE postgres SET TimeZone TO 'America/St_Johns'`);
    await client.query(`ALTER DATABASE postgres SET DateStyle TO 'SQL, DMY'`);
    try {
      for (const method of ['copy', 'cursor'] as const) {
        const base: PostgresSourceOptions = { url, table: 'times', method, workers: 0 };
        const read = async (s: LogSource) => {
          const out: unknown[] = [];
          for await (const i of s.entries()) out.push(i);
          return out;
        };
        const server = await read(await postgresSource({ ...base, tsInClient: false }));
        const inClient = await read(await postgresSource(base));
        expect(inClient).toEqual(server);
        expect(JSON.stringify(inClient)).toContain('"ts":"0044-03-15T12:00:00.000000Z"');
        const a = await scanLog({ source: await postgresSource({ ...base, tsInClient: false }) });
        const b = await scanLog({ source: await postgresSource(base) });
        expect(view(b)).toBe(view(a));
        expect(b.unreadable).toBe(2); // infinity and -infinity: to_char gives NULL
      }
      const ranged = await scanLog({
        source: await postgresSource({ url, table: 'times', workers: 2, parallelMinRows: 0, ranges: 4 }),
      });
      const one = await scanLog({
        source: await postgresSource({ url, table: 'times', tsInClient: false, workers: 0 }),
      });
      expect(view(ranged)).toBe(view(one));
    } finally {
      await client.query('ALTER DATABASE postgres RESET TimeZone');
      await client.query('ALTER DATABASE postgres RESET DateStyle');
    }
  }, 60_000);
});
