import { createHash } from 'node:crypto';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { moduleRecipe, recipeFromSettings, settingsRecipe } from '../../../src/scan/recipe.ts';
import { jcs } from '../../../src/scan/reference-chain.ts';
import { scanEntries } from '../../../src/scan/scan.ts';
import type { LogEntry } from '../../../src/scan/types.ts';
import { makeLog } from './helpers.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-recipe-'));
  // a recipe of someone else's log: sha256 over "prev|event_id|payload-json", genesis "" (empty)
  await writeFile(
    path.join(dir, 'recipe.mjs'),
    `import { createHash } from 'node:crypto';
export const genesis = '';
export function hash(prevHash, e) {
  return createHash('sha256').update(prevHash + '|' + e.eventId + '|' + JSON.stringify(e.payload)).digest('hex');
}
`,
  );
  await writeFile(path.join(dir, 'bad.mjs'), 'export const x = 1;\n');
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function chainWith(log: LogEntry[], h: (prev: string, e: LogEntry) => string, genesis: string): LogEntry[] {
  let prev = genesis;
  return log.map((e) => {
    const out = { ...e, prevHash: prev };
    out.hash = h(prev, out);
    prev = out.hash;
    return out;
  });
}

describe('hash recipes', () => {
  it('loads a recipe module and verifies a log built with it, catching an edit', async () => {
    const recipe = await moduleRecipe('recipe.mjs', dir);
    expect(recipe.genesis).toBe('');
    const h = (prev: string, e: LogEntry) =>
      createHash('sha256')
        .update(`${prev}|${e.eventId}|${JSON.stringify(e.payload)}`)
        .digest('hex');
    const log = chainWith(makeLog(20), h, '');
    expect((await scanEntries(log, { recipe })).verdict.status).toBe('pass');
    log[7] = { ...log[7]!, payload: { edited: 1 } };
    const r = await scanEntries(log, { recipe });
    expect(r.findings.map((f) => `${f.kind}@${f.seq}`)).toEqual(['broken-chain@8']);
    // the reference recipe does not accept this log
    expect((await scanEntries(chainWith(makeLog(3), h, ''))).verdict.status).toBe('fail');
  });

  it('refuses a module without hash()', async () => {
    await expect(moduleRecipe('bad.mjs', dir)).rejects.toThrow(/exports no hash/);
    await expect(moduleRecipe('missing.mjs', dir)).rejects.toThrow(/missing.mjs does not exist/);
  });

  it('verifies a log hashed with scan.chain settings (sha384 over three fields)', async () => {
    const settings = {
      algorithm: 'sha384' as const,
      fields: ['seq' as const, 'eventId' as const, 'payload' as const],
    };
    const recipe = await recipeFromSettings(settings);
    const h = (prev: string, e: LogEntry) =>
      createHash('sha384')
        .update(Buffer.from(prev, 'hex'))
        .update(jcs({ seq: e.seq, event_id: e.eventId, payload: e.payload }))
        .digest('hex');
    const log = chainWith(makeLog(10), h, '0'.repeat(96));
    expect((await scanEntries(log, { recipe })).verdict.status).toBe('pass');
    expect(settingsRecipe(settings).genesis).toBe('0'.repeat(96));
  });
});
