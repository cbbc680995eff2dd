/**
 * Canonical JSON exactness on a real PostgreSQL (issue 11): a chain written over the seeded corpus
 * of tricky payloads (hashed by the npm canonicalize package over the parsed text) verifies clean
 * from json, text and jsonb payload columns; "__proto__" members survive; duplicate member names
 * and lone surrogates stored in json / text columns are partial findings with the reason.
 */
import { createHash } from 'node:crypto';
import canonicalizeModule from 'canonicalize';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIdFor, tsFor } from '../../src/scan/generate.ts';
import { GENESIS_PREV_HASH } from '../../src/scan/reference-chain.ts';
import { scanLog } from '../../src/scan/scan.ts';
import { postgresSource } from '../../src/scan/sources/postgres.ts';
import type { Finding } from '../../src/scan/types.ts';
import { PostgresServer } from '../../src/stack/local/postgres.ts';
import { trickyPayloadTexts } from '../unit/scan/corpus.ts';

const canonicalize = ((canonicalizeModule as unknown as { default?: unknown }).default ??
  canonicalizeModule) as (value: unknown) => string;

let server: PostgresServer;
let client: pg.Client;
let url: string;

beforeAll(async () => {
  server = await PostgresServer.create();
  url = server.url();
  client = new pg.Client({ connectionString: url });
  await client.connect();
});
afterAll(async () => {
  await client?.end();
  await server?.dispose();
});

/** A reference-shaped table whose payload column has the given type, rows hashed by the oracle. */
async function tableOf(name: string, payloadType: 'json' | 'jsonb' | 'text', texts: string[]) {
  let prev = GENESIS_PREV_HASH;
  const rows = texts.map((text, i) => {
    const seq = i + 1;
    const f = {
      seq,
      event_id: eventIdFor(seq),
      ts: tsFor(Date.UTC(2026, 0, 1), i),
      actor: `u${seq}`,
      action: 'edit',
    };
    const hash = createHash('sha256')
      .update(Buffer.from(prev, 'hex'))
      .update(canonicalize({ ...f, payload: JSON.parse(text) }))
      .digest('hex');
    const row = { ...f, text, prev, hash };
    prev = hash;
    return row;
  });
  await client.query(`DROP TABLE IF EXISTS ${name}`);
  await client.query(`CREATE TABLE ${name} (seq bigint primary key, event_id text not null,
    ts timestamptz not null, actor text not null, action text not null, payload ${payloadType} not null,
    prev_hash text not null, hash text not null)`);
  await client.query(
    `INSERT INTO ${name} SELECT s, e, t, a, ac, p::${payloadType}, ph, h
       FROM unnest($1::bigint[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::text[], $7::text[], $8::text[])
         AS x(s, e, t, a, ac, p, ph, h)`,
    [
      rows.map((r) => r.seq),
      rows.map((r) => r.event_id),
      rows.map((r) => r.ts),
      rows.map((r) => r.actor),
      rows.map((r) => r.action),
      rows.map((r) => r.text),
      rows.map((r) => r.prev),
      rows.map((r) => r.hash),
    ],
  );
}

const view = (fs: Finding[]) =>
  fs.map((f) =>
    [`${f.kind}@${f.seq}`, f.detail?.reason, f.detail?.member].filter((x) => x !== undefined).join(' '),
  );

describe('Postgres: canonical JSON exactness', () => {
  it('a chain over the tricky corpus verifies clean from json, text and jsonb columns, by COPY and cursor', async () => {
    const texts = trickyPayloadTexts({ seed: 21, count: 400, newlines: true });
    // jsonb refuses \u0000 in strings; everything else of the corpus it stores (normalized)
    const forJsonb = texts.filter((t) => !t.includes('\\u0000'));
    expect(forJsonb.length).toBeGreaterThan(200);
    for (const [type, corpus] of [
      ['json', texts],
      ['text', texts],
      ['jsonb', forJsonb],
    ] as const) {
      await tableOf(`exact_${type}`, type, corpus);
      for (const method of ['copy', 'cursor'] as const) {
        const r = await scanLog({ source: await postgresSource({ url, table: `exact_${type}`, method }) });
        expect(r.findings, `${type} ${method}`).toEqual([]);
        expect(r.entries).toBe(corpus.length);
        expect(r.verdict.status).toBe('pass');
      }
    }
  });

  it('"__proto__" members verify clean from json, text and jsonb', async () => {
    const texts = [
      '{"b":1,"__proto__":2}',
      '{"__proto__":{"z":1,"a":[{"__proto__":null}]}}',
      '{"b":1,"__proto__":2}',
    ];
    for (const type of ['json', 'jsonb', 'text'] as const) {
      await tableOf(`proto_${type}`, type, texts);
      const r = await scanLog({ source: await postgresSource({ url, table: `proto_${type}` }) });
      expect(r.findings, type).toEqual([]);
      expect(r.verdict.status).toBe('pass');
    }
  });

  it('duplicate member names (json, text) and lone surrogates (text) are partial with the reason', async () => {
    const texts = ['{"a":1}', '{"amount":1000000, "amount":5}', '{"x":{"k":1,"\\u006b":2}}', '{"b":2}'];
    for (const type of ['json', 'text'] as const) {
      await tableOf(`dups_${type}`, type, texts);
      const r = await scanLog({ source: await postgresSource({ url, table: `dups_${type}` }) });
      expect(view(r.findings), type).toEqual([
        'partial@2 duplicate-member amount',
        'partial@3 duplicate-member k',
      ]);
      expect(r.findings[0]!.message).toContain('column payload');
      expect(r.verdict.status).toBe('fail');
    }
    // jsonb keeps the last duplicate on input: what is stored is one member, so nothing to report
    await tableOf('dups_jsonb', 'jsonb', texts);
    const rb = await scanLog({ source: await postgresSource({ url, table: 'dups_jsonb' }) });
    expect(rb.findings).toEqual([]);

    await tableOf('lone_text', 'text', ['{"a":1}', '{"note":"lone \\ud800"}', '{"low":"\\udfff"}']);
    const r = await scanLog({ source: await postgresSource({ url, table: 'lone_text' }) });
    expect(view(r.findings)).toEqual(['partial@2 lone-surrogate', 'partial@3 lone-surrogate']);
  });
});
