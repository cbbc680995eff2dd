/**
 * Template recipes verified inside PostgreSQL (`--verify-in database`, sources/pg-verify.ts), on a
 * real server, on tables written the way foreign services write them: the pyledger journal (bytea
 * hashes, a text body as json.dumps wrote it, the first parent NULL), a table of text columns
 * (uppercase hex hashes, a text prev hash, prev-last, prev as hex text, sha512, ts in the template,
 * years BC and past 9999, a text seq "007"), and a jsonb payload. Each table is damaged (edits of
 * the text, of a digest, a deleted row, a swapped pair, an empty field, a NULL, a duplicate id):
 * the result must be the client's, finding for finding, by COPY and by cursor, and the client must
 * have hashed only the rows the server did not vouch for.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../src/errors.ts';
import { openSource } from '../../src/scan/open-source.ts';
import {
  type HashRecipe,
  recipeFromSettings,
  type TemplateSettings,
  templateRecipe,
} from '../../src/scan/recipe.ts';
import { scanLog } from '../../src/scan/scan.ts';
import type { EntryMapping } from '../../src/scenario/schema.ts';
import { runCli } from '../helpers/cli.ts';
import { usePostgres } from '../helpers/pg-table.ts';
import { JOURNAL_MAPPING, TEMPLATE_CHAIN } from '../unit/scan/journal-fixture.ts';

const pgdb = usePostgres();
let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-verify-in-db-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const PY_MAPPING: Partial<EntryMapping> = JOURNAL_MAPPING;
const PY_TEMPLATE: TemplateSettings = TEMPLATE_CHAIN;

const BODIES = [
  (i: number) => `{"data": "a", "amount": ${i}.50}`,
  (i: number) => `{"note": "caf\u00e9 \u6f22\u5b57 \u{1f600}", "i": ${i}}`,
  (i: number) => `{"b": 1, "a": [1.0, 2e3], "n": {"z": ${i}}}`,
  (i: number) => `"just a string ${i}"`,
  (i: number) => `{"tab\\there": "back\\\\slash \\"q\\" \\u00e9", "i": ${i}}`,
];

function uid(n: number): string {
  return `5f0c${String(n).padStart(4, '0')}-0000-4000-8000-${String(n).padStart(12, '0')}`;
}

/** The pyledger writer: digest = SHA-256(parent || "n|uid|who|verb|body"), the first parent NULL. */
async function pyJournal(table: string, rows: number): Promise<void> {
  const c = pgdb.client;
  await c.query(`CREATE TABLE ${table} (n bigint PRIMARY KEY, uid uuid NOT NULL, who text, verb text NOT NULL,
    body text NOT NULL, at timestamptz NOT NULL, parent bytea, digest bytea)`);
  let parent: Buffer | null = null;
  const vals: unknown[][] = [];
  for (let n = 1; n <= rows; n++) {
    const r = {
      n,
      uid: uid(n),
      who: `clerk-${n % 3}`,
      verb: n % 2 ? 'post' : 'void',
      body: BODIES[n % BODIES.length]!(n),
    };
    const digest: Buffer = createHash('sha256')
      .update(parent ?? Buffer.alloc(0))
      .update(`${r.n}|${r.uid}|${r.who}|${r.verb}|${r.body}`, 'utf8')
      .digest();
    vals.push([
      r.n,
      r.uid,
      r.who,
      r.verb,
      r.body,
      `2026-03-01T10:00:${String(n % 60).padStart(2, '0')}.123456Z`,
      parent,
      digest,
    ]);
    parent = digest;
  }
  await c.query(
    `INSERT INTO ${table} SELECT * FROM unnest($1::bigint[], $2::uuid[], $3::text[], $4::text[], $5::text[], $6::timestamptz[], $7::bytea[], $8::bytea[])`,
    [0, 1, 2, 3, 4, 5, 6, 7].map((k) => vals.map((v) => v[k])),
  );
}

async function result(
  url: string,
  table: string,
  mapping: Partial<EntryMapping>,
  recipe: HashRecipe,
  verifyIn: 'client' | 'database',
  pgMethod: 'copy' | 'cursor',
) {
  const source = await openSource(url, {
    table,
    mapping,
    pgMethod,
    stored: recipe.needsStored === true,
    verifyIn,
    recipe,
  });
  const hash = recipe.hash;
  let calls = 0;
  recipe.hash = (p, e) => {
    calls++;
    return hash(p, e);
  };
  try {
    const r = await scanLog({ source, recipe });
    const { durationMs: _, ...rest } = r;
    return { r: rest, calls };
  } finally {
    recipe.hash = hash;
    await source.close?.();
  }
}

/** Both ways, both methods: the same result; returns the database's JS hash calls (copy). */
async function sameBothWays(table: string, mapping: Partial<EntryMapping>, settings: TemplateSettings) {
  const recipe = templateRecipe(settings);
  const calls: number[] = [];
  let first: unknown;
  for (const pgMethod of ['copy', 'cursor'] as const) {
    const client = await result(pgdb.url, table, mapping, recipe, 'client', pgMethod);
    const db = await result(pgdb.url, table, mapping, recipe, 'database', pgMethod);
    // The one difference: the chain check says who computed the digests.
    const chain = db.r.checksRun.find((c) => c.name === 'chain')!;
    const byServer = Number(/the database computed the digests of (\d+) of /.exec(chain.reason ?? '')?.[1]);
    expect(byServer, chain.reason).toBe(db.r.entries - db.r.unreadable - db.calls);
    const { reason: _, ...chainRest } = chain;
    const dbRest = { ...db.r, checksRun: db.r.checksRun.map((c) => (c === chain ? chainRest : c)) };
    expect(dbRest, `${table} ${pgMethod}`).toEqual(client.r);
    expect(client.calls).toBe(client.r.entries - client.r.unreadable);
    calls.push(db.calls);
    first ??= client.r;
  }
  expect(calls[0]).toBe(calls[1]);
  return { r: first as Awaited<ReturnType<typeof result>>['r'], dbCalls: calls[0]! };
}

describe('template recipes verified by PostgreSQL (--verify-in database)', () => {
  it('a clean pyledger journal: pass, and the client hashed no row', async () => {
    await pyJournal('j_clean', 400);
    const { r, dbCalls } = await sameBothWays('j_clean', PY_MAPPING, PY_TEMPLATE);
    expect(r.verdict.status).toBe('pass');
    expect(r.entries).toBe(400);
    expect(dbCalls).toBe(0);
  });

  it('a damaged journal: the client findings, finding for finding; the client hashed the suspects only', async () => {
    await pyJournal('j_bad', 400);
    const c = pgdb.client;
    await c.query(`UPDATE j_bad SET body = replace(body, '": ', '":') WHERE n = 10`); // whitespace only
    await c.query(`UPDATE j_bad SET digest = sha256(digest) WHERE n = 20`);
    await c.query('DELETE FROM j_bad WHERE n = 30');
    await c.query('UPDATE j_bad SET n = -1 WHERE n = 40');
    await c.query('UPDATE j_bad SET n = 40 WHERE n = 41');
    await c.query('UPDATE j_bad SET n = 41 WHERE n = -1'); // 40 and 41 swapped
    await c.query(`UPDATE j_bad SET who = '' WHERE n = 50`);
    await c.query('UPDATE j_bad SET who = NULL WHERE n = 60');
    await c.query('UPDATE j_bad SET parent = NULL WHERE n = 70');
    await c.query(`UPDATE j_bad SET uid = '${uid(80)}' WHERE n = 81`); // a duplicate id
    await c.query(`UPDATE j_bad SET body = '{"data": "a", "data": "b"}' WHERE n = 90`); // not I-JSON
    await c.query(`UPDATE j_bad SET at = '-infinity' WHERE n = 100`);
    const { r, dbCalls } = await sameBothWays('j_bad', PY_MAPPING, PY_TEMPLATE);
    expect(r.verdict.status).toBe('fail');
    const at = new Set(r.findings.map((f) => f.seq));
    for (const seq of [10, 20, 31, 40, 50, 60, 70, 90, 100]) expect(at, `seq ${seq}`).toContain(seq);
    expect(r.findings.some((f) => f.kind === 'duplicate')).toBe(true);
    // The rows the server could not vouch for: 10, 20, 50, 81, 90 (edited), 40 and 41 (their n is
    // in the text), 70 (its parent is now empty). The NULL and -infinity rows are unreadable: no hash.
    expect(dbCalls).toBe(8);
  });

  it('text columns: uppercase hex, a text prev, prev-last over its hex text, sha512, ts in the template, odd years, seq "007"', async () => {
    const c = pgdb.client;
    await c.query(`CREATE TABLE t_text (id text PRIMARY KEY, ev varchar(40), at timestamptz, who char(8), what text,
      doc json, prev text, h text)`);
    const settings: TemplateSettings = {
      template: '{{"id":{seq}}}:{eventId}/{ts}/{actor}/{action}/{payload}/{prevHash}',
      algorithm: 'sha512',
      prev: 'hex',
      order: 'prev-last',
    };
    const stamps = [
      '2026-03-01 10:00:00.5+00',
      '0044-03-15 12:00:00+00 BC',
      '10000-01-01 00:00:00.000001+00',
    ];
    let prev = '0'.repeat(128);
    const rows: unknown[][] = [];
    for (let n = 1; n <= 60; n++) {
      const id = n === 33 ? '033' : String(n); // "033" is read as 33, hashed as "33" by the client
      const at = stamps[n % 3]!;
      const atRef =
        n % 3 === 0
          ? '2026-03-01T10:00:00.500000Z'
          : n % 3 === 1
            ? '0044-03-15T12:00:00.000000Z' // to_char's YYYY has no era: 44 BC prints as 0044
            : '10000-01-01T00:00:00.000001Z';
      const who = `w${n % 4}`; // char(8): ::text drops the padding
      const doc = BODIES[n % BODIES.length]!(n);
      const text = `{"id":${n}}:${uid(n)}/${atRef}/${who}/act/${doc}/${prev}`;
      let h = createHash('sha512').update(text, 'utf8').update(prev, 'utf8').digest('hex');
      if (n % 2 === 0) h = h.toUpperCase();
      rows.push([id, uid(n), at, who, 'act', doc, prev, h]);
      prev = h;
    }
    await c.query(
      `INSERT INTO t_text SELECT * FROM unnest($1::text[], $2::text[], $3::timestamptz[], $4::text[], $5::text[], $6::json[], $7::text[], $8::text[])`,
      [0, 1, 2, 3, 4, 5, 6, 7].map((k) => rows.map((v) => v[k])),
    );
    const mapping: Partial<EntryMapping> = {
      seq: 'id',
      eventId: 'ev',
      ts: 'at',
      actor: 'who',
      action: 'what',
      payload: 'doc',
      prevHash: 'prev',
      hash: 'h',
    };
    // ORDER BY a text id is 1, 10, 11, ...: the chain check reports disorder, both ways alike.
    const clean = await sameBothWays('t_text', mapping, settings);
    expect(clean.dbCalls).toBe(1); // the row of id 033
    await c.query(`UPDATE t_text SET h = lower(h) WHERE id = '4'`); // the case of a stored hash changed
    await c.query(`UPDATE t_text SET doc = '{"i": 5}' WHERE id = '5'`);
    await c.query(`UPDATE t_text SET prev = 'not hex' WHERE id = '6'`);
    const bad = await sameBothWays('t_text', mapping, settings);
    const seqs = new Set(bad.r.findings.map((f) => f.seq));
    for (const s of [5, 6, 33]) expect(seqs, `seq ${s}`).toContain(s);
    // 033, 5 and 6; 4's lowercased hash is still its digest (only the next link breaks).
    expect(bad.dbCalls).toBe(3);
  });

  it('a jsonb payload, prev as bytes of a hex text column: the text jsonb prints is what is hashed', async () => {
    const c = pgdb.client;
    await c.query(
      'CREATE TABLE t_jsonb (seq bigint PRIMARY KEY, event_id text, ts timestamptz, actor text, action text, payload jsonb, prev_hash text, hash text)',
    );
    const settings: TemplateSettings = { template: '{seq}{eventId}{actor}{action}{payload}' };
    let prev = '0'.repeat(64);
    for (let n = 1; n <= 50; n++) {
      const doc = BODIES[n % BODIES.length]!(n);
      const printed = (await c.query<{ t: string }>('SELECT $1::jsonb::text AS t', [doc])).rows[0]!.t;
      const h = createHash('sha256')
        .update(Buffer.from(prev, 'hex'))
        .update(`${n}${uid(n)}a${n}x${printed}`, 'utf8')
        .digest('hex');
      await c.query('INSERT INTO t_jsonb VALUES ($1, $2, now(), $3, $4, $5::jsonb, $6, $7)', [
        n,
        uid(n),
        `a${n}`,
        'x',
        doc,
        prev,
        h,
      ]);
      prev = h;
    }
    const clean = await sameBothWays('t_jsonb', {}, settings);
    expect(clean.r.verdict.status).toBe('pass');
    expect(clean.dbCalls).toBe(0);
    await c.query(`UPDATE t_jsonb SET payload = '{"i": 7}' WHERE seq = 7`);
    const bad = await sameBothWays('t_jsonb', {}, settings);
    expect(bad.r.findings.map((f) => `${f.kind}@${f.seq}`)).toEqual(['broken-chain@7']);
    expect(bad.dbCalls).toBe(1);
  });

  it('what the server cannot compute is bad input, before anything is read', async () => {
    await pyJournal('j_refuse', 3);
    const refuse = async (recipe: HashRecipe, spec = pgdb.url) =>
      openSource(spec, {
        table: 'j_refuse',
        mapping: PY_MAPPING,
        verifyIn: 'database',
        recipe,
        stored: true,
      });
    await expect(refuse(await recipeFromSettings(undefined))).rejects.toThrow(/RFC 8785.*cannot render/);
    await expect(
      refuse(templateRecipe({ ...PY_TEMPLATE, hmacKeyEnv: 'K' }, { K: 'secret' })),
    ).rejects.toThrow(/HMAC.*key/);
    await expect(refuse(templateRecipe(PY_TEMPLATE), path.join(dir, 'log.jsonl'))).rejects.toThrow(
      UsageError,
    );
  });

  it('auditchaos scan --verify-in database: exit 0 clean, 1 damaged, 2 for a recipe the server cannot compute', async () => {
    const scenario = path.join(dir, 'journal.yml');
    const yml = (verify: string, chain: string) => `version: 1
name: journal
description: the pyledger journal
workload: { target: "http://127.0.0.1:9", rate: 1/s, duration: 1s }
scan:
  source: { kind: postgres, table: j_clean${verify} }
  mapping: { seq: n, eventId: uid, actor: who, action: verb, payload: body, ts: at, prevHash: parent, hash: digest }
  chain:
${chain}
`;
    const template = `    template: "{seq}|{eventId}|{actor}|{action}|{payload}"\n    genesis: ""`;
    await writeFile(scenario, yml(', verify: database', template));
    const ok = await runCli(['scan', pgdb.url, '--scenario', scenario, '--json']);
    expect(ok.exitCode, ok.stderr).toBe(0);
    expect(JSON.parse(ok.stdout).entries).toBe(400);
    const bad = await runCli(['scan', pgdb.url, '--scenario', scenario, '--table', 'j_bad', '--json']);
    expect(bad.exitCode, bad.stderr).toBe(1);
    const refused = await runCli(['scan', pgdb.url, '--table', 'j_clean', '--verify-in', 'database']);
    expect(refused.exitCode).toBe(2);
    expect(refused.stderr).toMatch(/--verify-in database: the reference recipe/);
    expect(refused.stderr).not.toMatch(/\n\s+at /); // no stack trace
    await writeFile(scenario, yml(', verify: database', '    algorithm: sha256'));
    const invalid = await runCli(['validate', scenario]);
    expect(invalid.exitCode).toBe(2);
    expect(invalid.stderr).toMatch(/scan\.source\.verify: database/);
  });
});
