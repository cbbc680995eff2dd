/**
 * Hash recipes: how an entry's hash is recomputed from its prev_hash and its fields. The reference
 * chain format v1 is the default (with a fast path producing the same bytes as referenceHash());
 * scan.chain settings choose another algorithm or field set; anything else comes from a JS module
 * the user names (see docs/scan.md, "Hash recipes").
 */
import * as crypto from 'node:crypto';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { UsageError } from '../errors.ts';
import type { ChainSettings } from '../scenario/schema.ts';
import { fastEntryBody, jcsFast } from './fast-jcs.ts';
import { GENESIS_PREV_HASH, referenceHash } from './reference-chain.ts';
import type { LogEntry } from './types.ts';

export interface HashRecipe {
  /** For reports: "reference-v1", "sha512(seq,eventId)", "module ./my-recipe.js". */
  readonly name: string;
  /** 'reference-v1' only for referenceRecipe(): sources may then supply the hashes themselves. */
  readonly id?: string;
  /** prev_hash of the first entry, lowercase hex. */
  readonly genesis: string;
  /** The hash the entry should carry, lowercase hex. */
  hash(prevHash: string, entry: LogEntry): string;
}

type Algorithm = 'sha256' | 'sha384' | 'sha512';
const DIGEST_HEX: Record<Algorithm, number> = { sha256: 64, sha384: 96, sha512: 128 };

// crypto.hash() (Node >= 20.12) is a one-shot digest, noticeably cheaper than createHash() per entry.
const oneShot = (crypto as { hash?: (alg: string, data: Buffer, enc: 'hex') => string }).hash;

/** Hashes bytes(prevHex) || utf8(body) through one reusable scratch buffer. */
export function makeHasher(algorithm: Algorithm): (prevHex: string, body: string) => string {
  let scratch = Buffer.allocUnsafe(64 * 1024);
  const slow = (prevHex: string, body: string) =>
    crypto.createHash(algorithm).update(Buffer.from(prevHex, 'hex')).update(body).digest('hex');
  return (prevHex, body) => {
    if (oneShot === undefined || prevHex.length % 2 !== 0) return slow(prevHex, body);
    const p = prevHex.length / 2;
    const need = p + body.length * 3;
    if (need > scratch.length) scratch = Buffer.allocUnsafe(Math.max(need, scratch.length * 2));
    // A short write means a non-hex character: keep Buffer.from(hex) semantics through the slow path.
    if (scratch.write(prevHex, 0, 'hex') !== p) return slow(prevHex, body);
    const n = scratch.write(body, p, 'utf8');
    return oneShot(algorithm, scratch.subarray(0, p + n), 'hex');
  };
}

export const REFERENCE_RECIPE_ID = 'reference-v1';

/** The reference chain format v1 (reference-chain.ts), byte-identical to referenceHash(). */
export function referenceRecipe(): HashRecipe {
  const h = makeHasher('sha256');
  return {
    name: 'reference-v1 (sha256 over seq, event_id, ts, actor, action, payload)',
    id: REFERENCE_RECIPE_ID,
    genesis: GENESIS_PREV_HASH,
    hash: (prevHash, e) => h(prevHash, fastEntryBody(e)),
  };
}

const FIELD_KEY = {
  seq: 'seq',
  eventId: 'event_id',
  ts: 'ts',
  actor: 'actor',
  action: 'action',
  payload: 'payload',
} as const;
type ChainField = keyof typeof FIELD_KEY;
const ALL_FIELDS: ChainField[] = ['seq', 'eventId', 'ts', 'actor', 'action', 'payload'];

/** A recipe from scan.chain: algorithm(bytes(prev) || JCS of the chosen fields, snake_case keys). */
export function settingsRecipe(settings: Partial<Omit<ChainSettings, 'module'>> = {}): HashRecipe {
  const algorithm: Algorithm = settings.algorithm ?? 'sha256';
  const fields = settings.fields ?? ALL_FIELDS;
  const genesis = settings.genesis ?? '0'.repeat(DIGEST_HEX[algorithm]);
  const isReference =
    algorithm === 'sha256' &&
    fields.length === ALL_FIELDS.length &&
    ALL_FIELDS.every((f) => fields.includes(f)) &&
    genesis === GENESIS_PREV_HASH;
  if (isReference) return referenceRecipe();
  const h = makeHasher(algorithm);
  return {
    name: `${algorithm} over ${fields.join(', ')}`,
    genesis,
    hash: (prevHash, e) => {
      const body: Record<string, unknown> = {};
      for (const f of fields) body[FIELD_KEY[f]] = e[f];
      return h(prevHash, jcsFast(body));
    },
  };
}

/**
 * A recipe from a user's module: it exports `hash(prevHash, entry)` (named, or on the default
 * export) returning lowercase hex, and optionally `genesis`.
 */
export async function moduleRecipe(modulePath: string, baseDir = process.cwd()): Promise<HashRecipe> {
  const file = path.resolve(baseDir, modulePath);
  let mod: Record<string, unknown>;
  try {
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`cannot load the hash recipe module ${file}`, {
      hint: 'scan.chain.module names a JS module exporting hash(prevHash, entry) and optionally genesis',
      cause: e,
    });
  }
  if (typeof mod.default === 'function') mod = { ...mod, hash: mod.default };
  const candidates = [mod, mod.default as Record<string, unknown> | undefined];
  for (const m of candidates) {
    if (m && typeof m.hash === 'function') {
      const fn = m.hash as (prevHash: string, entry: LogEntry) => unknown;
      const genesis = typeof m.genesis === 'string' ? m.genesis : GENESIS_PREV_HASH;
      return {
        name: `module ${modulePath}`,
        genesis,
        hash: (prevHash, e) => String(fn(prevHash, e)),
      };
    }
  }
  throw new UsageError(`the hash recipe module ${file} exports no hash(prevHash, entry) function`, {
    hint: 'export function hash(prevHash, entry) { ... } returning lowercase hex',
  });
}

/** The recipe a scenario's scan.chain asks for. */
export async function recipeFromSettings(
  settings: Partial<ChainSettings> | undefined,
  baseDir?: string,
): Promise<HashRecipe> {
  if (settings?.module) return moduleRecipe(settings.module, baseDir);
  return settingsRecipe(settings);
}

/** Slow, obviously-correct reference hash: what the fast recipe is tested against. */
export { referenceHash };
