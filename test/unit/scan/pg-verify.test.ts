/**
 * --verify-in database without a database (the real-server tests are
 * test/integration/scan-verify-in-db.test.ts): which recipes the server may compute, the refusals
 * of openSource and preflight, and scanLog's use of a source's serverHashed port (a fake source):
 * the given hashes are taken, undefined ones are hashed by the client, another recipe object's
 * hashes are ignored.
 */
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.ts';
import { preflight } from '../../../src/run/preflight.ts';
import { openSource } from '../../../src/scan/open-source.ts';
import {
  type HashRecipe,
  referenceRecipe,
  settingsRecipe,
  templateRecipe,
} from '../../../src/scan/recipe.ts';
import { scanLog } from '../../../src/scan/scan.ts';
import { notServerVerifiable, serverTemplate } from '../../../src/scan/sources/pg-verify.ts';
import type { HashedBatch, LogEntry, LogSource } from '../../../src/scan/types.ts';
import { parseScenario } from '../../../src/scenario/load.ts';

const TEMPLATE = { template: '{seq}|{eventId}|{actor}', genesis: '' };

describe('which recipes the database may compute', () => {
  it('a template, not the reference or another JCS recipe, a module or an HMAC template', () => {
    expect(notServerVerifiable(templateRecipe(TEMPLATE))).toBeUndefined();
    expect(notServerVerifiable(referenceRecipe())).toMatch(/RFC 8785/);
    expect(notServerVerifiable(settingsRecipe({ algorithm: 'sha512' }))).toMatch(/not a template/);
    const module: HashRecipe = { name: 'module ./r.mjs', genesis: '', hash: () => '' };
    expect(notServerVerifiable(module)).toMatch(/not a template/);
    expect(notServerVerifiable(templateRecipe({ ...TEMPLATE, hmacKeyEnv: 'K' }, { K: 'k' }))).toMatch(
      /HMAC.*key/,
    );
    expect(() => serverTemplate(undefined)).toThrow(UsageError);
    expect(() => serverTemplate(referenceRecipe())).toThrow(/--verify-in database: the reference recipe/);
    expect(serverTemplate(templateRecipe(TEMPLATE)).algorithm).toBe('sha256');
  });

  it('openSource refuses a file or an HTTP endpoint before reading it', async () => {
    const recipe = templateRecipe(TEMPLATE);
    await expect(openSource('/nonexistent/log.jsonl', { verifyIn: 'database', recipe })).rejects.toThrow(
      /--verify-in database: the log is a file/,
    );
    await expect(openSource('http://127.0.0.1:9/events', { verifyIn: 'database', recipe })).rejects.toThrow(
      /an HTTP endpoint/,
    );
  });

  it('preflight refuses scan.source.verify: database with a recipe the server cannot compute', async () => {
    const scenario = (chain: string) =>
      parseScenario(
        `version: 1
name: s
description: d
workload: { rate: 1/s, duration: 1s }
scan:
  source: { kind: postgres, table: journal, verify: database }
  chain: ${chain}
`,
        's.yml',
      );
    await expect(preflight(scenario('{ algorithm: sha256 }'), '.')).rejects.toThrow(
      /scan\.source\.verify: database: the reference recipe/,
    );
    await expect(
      preflight(scenario('{ template: "{seq}|{eventId}", hmacKeyEnv: PATH }'), '.'),
    ).rejects.toThrow(/HMAC/);
    await expect(preflight(scenario('{ template: "{seq}|{eventId}" }'), '.')).resolves.toBeUndefined();
  });
});

describe('scanLog and a source whose database computed the digests (serverHashed)', () => {
  const recipe = templateRecipe(TEMPLATE);
  const entries = (): LogEntry[] => {
    const out: LogEntry[] = [];
    let prev = '';
    for (let seq = 1; seq <= 5; seq++) {
      const e: LogEntry = {
        seq,
        eventId: `e${seq}`,
        ts: '2026-01-01T00:00:00.000000Z',
        actor: `a${seq}`,
        action: 'x',
        payload: { seq },
        prevHash: prev,
        hash: '',
      };
      e.hash = recipe.hash(prev, e);
      prev = e.hash;
      out.push(e);
    }
    return out;
  };
  /** A fake table: the server vouches for every row but those in `suspects`. */
  const source = (items: LogEntry[], suspects: Set<number>, as: HashRecipe): LogSource => ({
    describe: 'fake table',
    entries: async function* () {
      yield* items;
    },
    serverHashed: {
      recipe: as,
      batches: async function* (): AsyncIterable<HashedBatch> {
        yield { items, hashes: items.map((e) => (suspects.has(e.seq) ? undefined : e.hash)) };
      },
    },
  });
  const counted = async (src: LogSource) => {
    const hash = recipe.hash;
    let calls = 0;
    recipe.hash = (p, e) => {
      calls++;
      return hash(p, e);
    };
    try {
      return { r: await scanLog({ source: src, recipe }), calls };
    } finally {
      recipe.hash = hash;
    }
  };

  it('takes the vouched hashes, hashes the suspects itself, and says who hashed', async () => {
    const items = entries();
    items[2]!.actor = 'mallory'; // changed after hashing: the server would not vouch for it
    const { r, calls } = await counted(source(items, new Set([3]), recipe));
    expect(calls).toBe(1);
    expect(r.findings.map((f) => `${f.kind}@${f.seq}`)).toEqual(['broken-chain@3']);
    expect(r.checksRun.find((c) => c.name === 'chain')?.reason).toBe(
      'the database computed the digests of 4 of 5 entries (verify in database); the client hashed the rest',
    );
  });

  it('hashes every row itself when the source computed the digests for another recipe object', async () => {
    const { r, calls } = await counted(source(entries(), new Set(), templateRecipe(TEMPLATE)));
    expect(calls).toBe(5);
    expect(r.verdict.status).toBe('pass');
    expect(r.checksRun.find((c) => c.name === 'chain')?.reason).toBeUndefined();
  });
});
