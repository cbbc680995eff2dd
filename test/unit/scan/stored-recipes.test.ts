/**
 * Recipes over what is stored (issue 12): a chain a Python service hashed over its own JSON text
 * (`{"data": "a", "amount": 1.50}`, json.dumps' default separators, kept in a text column), with
 * digest = SHA-256(parent bytes || "n|uid|who|verb|body"), verifies clean from JSONL with a template
 * recipe and with a module; edits of the stored text are caught; configuration errors are
 * UsageErrors found before any scan (checkRecipeSettings).
 */
import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.ts';
import { checkRecipeSettings, recipeFromSettings, templateRecipe } from '../../../src/scan/recipe.ts';
import { scanEntries, scanLog } from '../../../src/scan/scan.ts';
import { httpSource } from '../../../src/scan/sources/http.ts';
import { jsonlSource } from '../../../src/scan/sources/jsonl.ts';
import type { LogEntry } from '../../../src/scan/types.ts';
import { scenarioSchema } from '../../../src/scenario/schema.ts';
import {
  EMBEDDABLE,
  JOURNAL_MAPPING,
  journalRows,
  jsonlOf,
  PY_BODIES,
  RECIPE_MODULE,
  TEMPLATE_CHAIN,
} from './journal-fixture.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-stored-recipes-'));
  await writeFile(path.join(dir, 'recipe.mjs'), RECIPE_MODULE);
  await writeFile(path.join(dir, 'no-export.mjs'), 'export const genesis = "";\n');
  await writeFile(path.join(dir, 'broken.mjs'), 'export function hash( {\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('recipes over the stored text', () => {
  it('the scenario schema takes the template recipe shape', () => {
    const chain = scenarioSchema.shape.scan.parse({
      mapping: JOURNAL_MAPPING,
      chain: { ...TEMPLATE_CHAIN, hmacKeyEnv: 'LEDGER_KEY' },
    }).chain;
    expect(chain).toMatchObject({ ...TEMPLATE_CHAIN, hmacKeyEnv: 'LEDGER_KEY' });
    expect(() => scenarioSchema.shape.scan.parse({ chain: { prev: 'base64' } })).toThrow();
  });

  for (const embed of [false, true]) {
    it(`a Python-written chain verifies clean from JSONL (body ${embed ? 'embedded as written' : 'as a JSON string'}), by template and by module`, async () => {
      const rows = journalRows(embed ? EMBEDDABLE : PY_BODIES);
      const file = path.join(dir, `journal-${embed}.jsonl`);
      await writeFile(file, `${jsonlOf(rows, embed)}\n`);
      for (const chain of [TEMPLATE_CHAIN, { module: 'recipe.mjs' }]) {
        const recipe = await recipeFromSettings(chain, dir);
        expect(recipe.needsStored).toBe(true);
        const r = await scanLog({
          source: await jsonlSource(file, { mapping: JOURNAL_MAPPING, stored: true }),
          recipe,
        });
        expect(r.findings, JSON.stringify(chain)).toEqual([]);
        expect(r.entries).toBe(rows.length);
        expect(r.verdict.status).toBe('pass');
      }
    });
  }

  it('edits of the stored text are broken-chain, even a whitespace-only one the parsed value hides', async () => {
    const rows = journalRows(EMBEDDABLE);
    const lines = jsonlOf(rows, true).split('\n');
    lines[0] = lines[0]!.replace('"data": "a"', '"data": "A"');
    lines[1] = lines[1]!.replace('{"data": "b", ', '{"data":"b", '); // same value, other text
    const file = path.join(dir, 'journal-edited.jsonl');
    await writeFile(file, `${lines.join('\n')}\n`);
    for (const chain of [TEMPLATE_CHAIN, { module: 'recipe.mjs' }]) {
      const r = await scanLog({
        source: await jsonlSource(file, { mapping: JOURNAL_MAPPING, stored: true }),
        recipe: await recipeFromSettings(chain, dir),
      });
      expect(r.findings.map((f) => `${f.kind}@${f.seq}`)).toEqual(['broken-chain@1', 'broken-chain@2']);
    }
  });

  it('an in-memory edit of the payload (a run canary) is seen, though the stored text is unchanged', async () => {
    const rows = journalRows();
    const file = path.join(dir, 'journal-canary.jsonl');
    await writeFile(file, `${jsonlOf(rows, false)}\n`);
    const source = await jsonlSource(file, { mapping: JOURNAL_MAPPING, stored: true });
    const entries: LogEntry[] = [];
    for await (const item of source.entries()) entries.push(item as LogEntry);
    for (const chain of [TEMPLATE_CHAIN, { module: 'recipe.mjs' }]) {
      const recipe = await recipeFromSettings(chain, dir);
      expect((await scanEntries(entries, { recipe })).findings).toEqual([]);
      const edited = entries.map((e) => ({ ...e }));
      edited[2]!.payload = { canary: 'edited' };
      const r = await scanEntries(edited, { recipe });
      expect(r.findings.map((f) => `${f.kind}@${f.seq}`)).toEqual(['broken-chain@3']);
    }
  });

  it('HTTP items keep their stored text too', async () => {
    const rows = journalRows(EMBEDDABLE);
    const lines = jsonlOf(rows, true).split('\n');
    const fetch = (async (u: URL | string) => {
      const after = Number(new URL(String(u)).searchParams.get('after'));
      const page = lines.filter((_l, i) => i + 1 > after).slice(0, 4);
      return new Response(`{"items": [${page.join(',\n  ')}]}`, { status: 200 });
    }) as typeof globalThis.fetch;
    const r = await scanLog({
      source: httpSource({ url: 'http://127.0.0.1:9/ledger', mapping: JOURNAL_MAPPING, fetch, stored: true }),
      recipe: await recipeFromSettings(TEMPLATE_CHAIN, dir),
    });
    expect(r.findings).toEqual([]);
    expect(r.entries).toBe(rows.length);
  });

  it('a source opened without the stored text cannot be verified by such a recipe: unknown, not a guess', async () => {
    const file = path.join(dir, 'journal-nostored.jsonl');
    await writeFile(file, `${jsonlOf(journalRows(EMBEDDABLE), true)}\n`);
    const r = await scanLog({
      source: await jsonlSource(file, { mapping: JOURNAL_MAPPING }),
      recipe: await recipeFromSettings(TEMPLATE_CHAIN, dir),
    });
    expect(r.readError).toContain('stored text');
    expect(r.verdict.status).toBe('unknown');
  });

  it('HMAC with the key from an environment variable; hex prev, prev-last, sha512 variants', async () => {
    const rows = journalRows(EMBEDDABLE, 'k3y');
    const file = path.join(dir, 'journal-hmac.jsonl');
    await writeFile(file, `${jsonlOf(rows, true)}\n`);
    const src = () => jsonlSource(file, { mapping: JOURNAL_MAPPING, stored: true });
    const ok = templateRecipe({ ...TEMPLATE_CHAIN, hmacKeyEnv: 'AC_TEST_KEY' }, { AC_TEST_KEY: 'k3y' });
    expect((await scanLog({ source: await src(), recipe: ok })).findings).toEqual([]);
    const wrongKey = templateRecipe(
      { ...TEMPLATE_CHAIN, hmacKeyEnv: 'AC_TEST_KEY' },
      { AC_TEST_KEY: 'other' },
    );
    expect((await scanLog({ source: await src(), recipe: wrongKey })).counts['broken-chain']).toBe(
      rows.length,
    );

    // the same rows hashed another way: prev as hex text, after the text, SHA-512
    let parent = '';
    const lines = rows.map((r) => {
      const text = `${r.n}|${r.uid}|${r.who}|${r.verb}|${r.body}`;
      const digest = createHash('sha512').update(text).update(parent).digest('hex');
      const line = `{"n":${r.n},"uid":"${r.uid}","who":"${r.who}","verb":"${r.verb}","body":${r.body},"at":"${r.at}","parent":"${parent}","digest":"${digest.toUpperCase()}"}`;
      parent = digest.toUpperCase();
      return line;
    });
    const f2 = path.join(dir, 'journal-512.jsonl');
    await writeFile(f2, `${lines.join('\n')}\n`);
    const r512 = await scanLog({
      source: await jsonlSource(f2, { mapping: JOURNAL_MAPPING, stored: true }),
      recipe: templateRecipe({ ...TEMPLATE_CHAIN, algorithm: 'sha512', prev: 'hex', order: 'prev-last' }),
    });
    expect(r512.findings).toEqual([]);
  });

  it('configuration errors are UsageErrors before any scan, naming the file or field', async () => {
    const fails = async (settings: Parameters<typeof checkRecipeSettings>[0], re: RegExp) => {
      const err = await checkRecipeSettings(settings, dir).then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(err).toBeInstanceOf(UsageError);
      expect((err as Error).message).toMatch(re);
    };
    await fails({ module: 'missing.mjs' }, /missing\.mjs does not exist/);
    await fails({ module: 'no-export.mjs' }, /no-export\.mjs exports no hash/);
    await fails({ module: 'broken.mjs' }, /cannot load the hash recipe module .*broken\.mjs/);
    await fails({ template: '{seq}|{user}' }, /unknown field \{user\}/);
    await fails({ template: '{seq}|{actor' }, /unknown field/);
    await fails({ template: 'a}b' }, /lone "}"/);
    await fails({ template: '{seq}', hmacKeyEnv: 'AC_SURELY_UNSET_VAR' }, /AC_SURELY_UNSET_VAR is not set/);
    await fails({ template: '{seq}', module: 'recipe.mjs' }, /either module or template/);
    await expect(checkRecipeSettings(TEMPLATE_CHAIN, dir)).resolves.toBeUndefined();
    await expect(checkRecipeSettings({ module: 'recipe.mjs' }, dir)).resolves.toBeUndefined();
    await expect(checkRecipeSettings(undefined, dir)).resolves.toBeUndefined();
    expect(templateRecipe({ template: '{{literal}} {seq}' }).name).toContain('{{literal}}');
  });
});
