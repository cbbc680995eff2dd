/**
 * Recipes over what is stored, against a real PostgreSQL (issue 12): a foreign team's table
 * journal(n, uid, who, verb, body text, at timestamptz, parent bytea, digest bytea), written the way
 * a Python service writes it (body = its json.dumps text, digest = SHA-256(parent || "n|uid|who|verb|body"),
 * first parent NULL), verifies clean with the template recipe and with a module, by COPY and cursor;
 * an edit of the stored text (even one that keeps the parsed value) is broken-chain.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSource } from '../../src/scan/open-source.ts';
import { recipeFromSettings } from '../../src/scan/recipe.ts';
import { scanLog } from '../../src/scan/scan.ts';
import { PostgresServer } from '../../src/stack/local/postgres.ts';
import { runCli } from '../helpers/cli.ts';
import { JOURNAL_MAPPING, journalRows, RECIPE_MODULE, TEMPLATE_CHAIN } from '../unit/scan/journal-fixture.ts';

let server: PostgresServer;
let client: pg.Client;
let url: string;
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-recipes-pg-'));
  await writeFile(path.join(dir, 'recipe.mjs'), RECIPE_MODULE);
  server = await PostgresServer.create();
  url = server.url();
  client = new pg.Client({ connectionString: url });
  await client.connect();
  const rows = journalRows();
  await client.query(`CREATE TABLE journal (n bigint primary key, uid uuid not null, who text not null,
    verb text not null, body text not null, at timestamptz not null, parent bytea, digest bytea not null)`);
  for (const r of rows) {
    await client.query('INSERT INTO journal VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      r.n,
      r.uid,
      r.who,
      r.verb,
      r.body,
      r.at,
      r.parent,
      r.digest,
    ]);
  }
});
afterAll(async () => {
  await client?.end();
  await server?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('recipes over the stored text, on PostgreSQL', () => {
  it('the Python-written journal verifies clean by template and by module, COPY and cursor', async () => {
    for (const chain of [TEMPLATE_CHAIN, { module: 'recipe.mjs' }]) {
      const recipe = await recipeFromSettings(chain, dir);
      for (const pgMethod of ['copy', 'cursor'] as const) {
        const source = await openSource(url, {
          table: 'journal',
          mapping: JOURNAL_MAPPING,
          pgMethod,
          stored: recipe.needsStored === true,
        });
        const r = await scanLog({ source, recipe });
        expect(r.findings, `${JSON.stringify(chain)} ${pgMethod}`).toEqual([]);
        expect(r.entries).toBe(6);
        expect(r.verdict.status).toBe('pass');
      }
    }
  });

  it('the module sees bytea as bytes and the row by column name', async () => {
    await writeFile(
      path.join(dir, 'row-recipe.mjs'),
      `import { createHash } from 'node:crypto';
export const genesis = '';
export function hash(prevHash, entry, stored) {
  const r = stored.row;
  if (r.parent !== null && !(r.parent instanceof Uint8Array)) throw new Error('parent is not bytes');
  return createHash('sha256').update(r.parent ?? new Uint8Array()).update([r.n, r.uid, r.who, r.verb, r.body].join('|')).digest('hex');
}
`,
    );
    const recipe = await recipeFromSettings({ module: 'row-recipe.mjs' }, dir);
    const source = await openSource(url, { table: 'journal', mapping: JOURNAL_MAPPING, stored: true });
    const r = await scanLog({ source, recipe });
    expect(r.findings).toEqual([]);
    expect(r.verdict.status).toBe('pass');
  });

  it('an edit of the stored text is broken-chain, even one that keeps the parsed value', async () => {
    await client.query('CREATE TABLE journal2 AS SELECT * FROM journal');
    await client.query(`UPDATE journal2 SET body = '{"data":"a","amount":1.50}' WHERE n = 1`); // whitespace only
    await client.query(`UPDATE journal2 SET body = replace(body, '"b"', '"B"') WHERE n = 2`);
    const recipe = await recipeFromSettings(TEMPLATE_CHAIN, dir);
    const source = await openSource(url, { table: 'journal2', mapping: JOURNAL_MAPPING, stored: true });
    const r = await scanLog({ source, recipe });
    expect(r.findings.map((f) => `${f.kind}@${f.seq}`)).toEqual(['broken-chain@1', 'broken-chain@2']);
  });

  it('auditchaos scan --scenario with the template recipe: exit 0', async () => {
    const scenario = path.join(dir, 'journal.yml');
    await writeFile(
      scenario,
      `version: 1
name: journal
description: the journal table of a foreign stack
workload: { target: "http://127.0.0.1:9", rate: 1/s, duration: 1s }
scan:
  source: { kind: postgres, table: journal }
  mapping: { seq: n, eventId: uid, actor: who, action: verb, payload: body, ts: at, prevHash: parent, hash: digest }
  chain:
    template: "{seq}|{eventId}|{actor}|{action}|{payload}"
    algorithm: sha256
    prev: bytes
    order: prev-first
    genesis: ""
`,
    );
    const res = await runCli(['scan', url, '--scenario', scenario, '--json']);
    expect(res.exitCode, res.stderr).toBe(0);
    const out = JSON.parse(res.stdout) as { verdict: string; entries: number; recipe: string };
    expect(out.verdict).toBe('pass');
    expect(out.entries).toBe(6);
  });
});
