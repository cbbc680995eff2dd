/**
 * Hash recipes: how an entry's hash is recomputed from its prev_hash and its fields. The reference
 * chain format v1 is the default (with a fast path producing the same bytes as referenceHash());
 * scan.chain settings choose another algorithm or field set; anything else comes from a JS module
 * the user names (see docs/scan.md, "Hash recipes").
 */
import * as crypto from 'node:crypto';
import { access } from 'node:fs/promises';
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
  /**
   * The recipe hashes what is stored (LogEntry.stored): open the source with `stored: true`
   * (openSource), or scanLog reports that it could not verify (verdict unknown, never a guess).
   */
  readonly needsStored?: boolean;
  /**
   * A template recipe's own description (templateRecipe): what a database needs to compute the
   * same digest itself (sources/pg-verify.ts). Absent for every other recipe.
   */
  readonly template?: TemplateSpec;
}

/** A template recipe as data: its parts, algorithm, how the previous hash enters, HMAC or not. */
export interface TemplateSpec {
  parts: readonly (string | { field: TemplateField })[];
  algorithm: Algorithm;
  prev: 'bytes' | 'hex';
  order: 'prev-first' | 'prev-last';
  hmac: boolean;
}

export type Algorithm = 'sha256' | 'sha384' | 'sha512';
const DIGEST_HEX: Record<Algorithm, number> = { sha256: 64, sha384: 96, sha512: 128 };

// crypto.hash() (Node >= 20.12) is a one-shot digest, noticeably cheaper than createHash() per entry.
const oneShot = (crypto as { hash?: (alg: string, data: Uint8Array, enc: 'hex') => string }).hash;

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

/** Byte -> its hex digit value, -1 for a byte that is not a hex digit. */
const HEX_VALUE = (() => {
  const t = new Int16Array(256).fill(-1);
  for (let i = 0; i < 10; i++) t[0x30 + i] = i;
  for (let i = 0; i < 6; i++) {
    t[0x61 + i] = 10 + i;
    t[0x41 + i] = 10 + i;
  }
  return t;
})();

/**
 * makeHasher's in-place form, for a body read from a buffer whose bytes before it may be
 * overwritten (lines already read): the prev hash, hex digits at bytes[hexAt, hexAt + 2 * P), is
 * written as its P bytes over bytes[start - P, start), the body's last byte (bytes[end - 1]) is set
 * to `last`, and one digest is taken of bytes[start - P, end): no copy of the body. Undefined (and
 * the last byte left alone) when it cannot be done so: no one-shot digest, fewer than P bytes
 * before `start`, a non-hex digit (Buffer.from(hex) semantics are then the caller's slow path).
 */
export function makeInPlaceHasher(
  algorithm: Algorithm,
): (bytes: Uint8Array, hexAt: number, start: number, end: number, last: number) => string | undefined {
  const p = DIGEST_HEX[algorithm] / 2;
  return (bytes, hexAt, start, end, last) => {
    if (oneShot === undefined || start < p) return undefined;
    let o = start - p;
    for (let k = hexAt, stop = hexAt + 2 * p; k < stop; k += 2) {
      const v = (HEX_VALUE[bytes[k]!]! << 4) | HEX_VALUE[bytes[k + 1]!]!;
      if (v < 0) return undefined;
      bytes[o++] = v;
    }
    bytes[end - 1] = last;
    return oneShot(
      algorithm,
      new Uint8Array(bytes.buffer, bytes.byteOffset + start - p, end - start + p),
      'hex',
    );
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

/** The fields a module sees as stored (docs/recipes.md): text as text, the hashes as text and bytes. */
export interface StoredFields {
  seq: string;
  eventId: string;
  ts: string;
  actor: string;
  action: string;
  /** The payload's stored text (StoredRecord.payload), while the entry's payload is unchanged. */
  payload: string;
  prevHash: string;
  hash: string;
}

/** The third argument of a module's hash(): what is stored for the entry. */
export interface StoredView {
  fields: StoredFields;
  /** The previous hash as bytes (decoded from hex; the UTF-8 of the text when it is not hex). */
  prevBytes: Uint8Array;
  /** The record as read (StoredRecord.row): JSONL/HTTP object, or the Postgres columns by name. */
  row: Record<string, unknown>;
}

const HEX_RE = /^(?:[0-9a-fA-F]{2})*$/;

/** The payload as stored, while the entry still holds the value that text was parsed into. */
export function storedPayloadText(e: LogEntry): string {
  const st = e.stored;
  if (st !== undefined && st.payloadOf === e.payload) return st.payload;
  return typeof e.payload === 'string' ? e.payload : JSON.stringify(e.payload);
}

function prevBytesOf(prevHash: string): Buffer {
  return HEX_RE.test(prevHash) ? Buffer.from(prevHash, 'hex') : Buffer.from(prevHash, 'utf8');
}

/** Digest bytes as the entry's stored hash text is written: lowercase hex, or uppercase if it is. */
function asStoredHex(digest: Uint8Array, stored: string): string {
  const hex = Buffer.from(digest.buffer, digest.byteOffset, digest.byteLength).toString('hex');
  return stored !== '' && /^[0-9A-F]+$/.test(stored) && /[A-F]/.test(stored) ? hex.toUpperCase() : hex;
}

function storedView(e: LogEntry): StoredView {
  let row: Record<string, unknown> | undefined;
  return {
    fields: {
      seq: String(e.seq),
      eventId: e.eventId,
      ts: e.ts,
      actor: e.actor,
      action: e.action,
      payload: storedPayloadText(e),
      prevHash: e.prevHash,
      hash: e.hash,
    },
    prevBytes: prevBytesOf(e.prevHash),
    get row() {
      row ??= e.stored?.row() ?? {};
      return row;
    },
  };
}

const TEMPLATE_FIELDS = ['seq', 'eventId', 'ts', 'actor', 'action', 'payload', 'prevHash'] as const;
export type TemplateField = (typeof TEMPLATE_FIELDS)[number];

/** A template as parts: literal text and field names; `{{` and `}}` stand for braces. */
export function parseTemplate(template: string): (string | { field: TemplateField })[] {
  const parts: (string | { field: TemplateField })[] = [];
  let lit = '';
  for (let i = 0; i < template.length; i++) {
    const c = template[i]!;
    if ((c === '{' || c === '}') && template[i + 1] === c) {
      lit += c;
      i++;
      continue;
    }
    if (c === '}')
      throw new UsageError(`scan.chain.template: a lone "}" at offset ${i} (write "}}" for a brace)`);
    if (c !== '{') {
      lit += c;
      continue;
    }
    const end = template.indexOf('}', i);
    const name = end === -1 ? template.slice(i + 1) : template.slice(i + 1, end);
    if (end === -1 || !(TEMPLATE_FIELDS as readonly string[]).includes(name)) {
      throw new UsageError(
        `scan.chain.template: unknown field {${name}} (known: ${TEMPLATE_FIELDS.map((f) => `{${f}}`).join(', ')})`,
        {
          hint: 'template fields are entry fields, which scan.mapping maps to your columns; "{{" is a literal brace',
        },
      );
    }
    if (lit) parts.push(lit);
    lit = '';
    parts.push({ field: name as TemplateField });
    i = end;
  }
  if (lit) parts.push(lit);
  return parts;
}

function fieldText(e: LogEntry, f: TemplateField): string {
  switch (f) {
    case 'seq':
      return String(e.seq);
    case 'payload':
      return storedPayloadText(e);
    default:
      return e[f];
  }
}

export type TemplateSettings = Pick<
  Partial<ChainSettings>,
  'template' | 'algorithm' | 'prev' | 'order' | 'hmacKeyEnv' | 'genesis'
> & { template: string };

/**
 * A declarative recipe over the stored text: H(prev || fill(template)) or H(fill(template) || prev),
 * prev as the previous hash's bytes or its hex text, SHA-256/384/512, optionally HMAC with a key
 * from an environment variable (read now: a missing variable is a UsageError before any run).
 */
export function templateRecipe(settings: TemplateSettings, env: NodeJS.ProcessEnv = process.env): HashRecipe {
  const parts = parseTemplate(settings.template);
  const algorithm: Algorithm = settings.algorithm ?? 'sha256';
  const prevAs = settings.prev ?? 'bytes';
  const order = settings.order ?? 'prev-first';
  let key: Buffer | undefined;
  if (settings.hmacKeyEnv) {
    const v = env[settings.hmacKeyEnv];
    if (v === undefined || v === '') {
      throw new UsageError(
        `scan.chain.hmacKeyEnv: the environment variable ${settings.hmacKeyEnv} is not set`,
        {
          hint: 'export the HMAC key in that variable before validate / run / scan',
        },
      );
    }
    key = Buffer.from(v, 'utf8');
  }
  const genesis = settings.genesis ?? '0'.repeat(DIGEST_HEX[algorithm]);
  const fill = (e: LogEntry): string => {
    let s = '';
    for (const p of parts) s += typeof p === 'string' ? p : fieldText(e, p.field);
    return s;
  };
  return {
    name: `${key ? `hmac-${algorithm}` : algorithm}(${order === 'prev-first' ? `prev(${prevAs}) || ` : ''}"${settings.template}"${order === 'prev-last' ? ` || prev(${prevAs})` : ''})`,
    genesis,
    needsStored: parts.some((p) => typeof p !== 'string' && p.field === 'payload'),
    template: { parts, algorithm, prev: prevAs, order, hmac: key !== undefined },
    hash: (prevHash, e) => {
      const prev = prevAs === 'bytes' ? prevBytesOf(prevHash) : Buffer.from(prevHash, 'utf8');
      const h = key ? crypto.createHmac(algorithm, key) : crypto.createHash(algorithm);
      if (order === 'prev-first') h.update(prev).update(fill(e), 'utf8');
      else h.update(fill(e), 'utf8').update(prev);
      return asStoredHex(h.digest(), e.hash);
    },
  };
}

/**
 * A recipe module written in TypeScript needs a loader: the bundled CLI (src/cli/load.mjs) has
 * none until one is asked for, so tsx is registered on first need.
 */
async function typeScriptLoaderFor(file: string): Promise<void> {
  const marker = Symbol.for('auditchaos.tsx');
  const g = globalThis as Record<symbol, unknown>;
  if (!/\.[mc]?ts$/.test(file) || g[marker]) return;
  const { register } = await import('tsx/esm/api');
  register();
  g[marker] = true;
}

type ModuleHash = (prevHash: string, entry: LogEntry, stored: StoredView) => unknown;

/**
 * A recipe from a user's module: it exports `hash(prevHash, entry, stored)` (named, default
 * function, or on the default object) returning hex or bytes, and optionally `genesis`. `stored`
 * (StoredView) holds every mapped field as stored, the previous hash's bytes and the raw row.
 */
export async function moduleRecipe(modulePath: string, baseDir = process.cwd()): Promise<HashRecipe> {
  const file = path.resolve(baseDir, modulePath);
  let mod: Record<string, unknown>;
  try {
    await access(file);
  } catch (e) {
    throw new UsageError(`the hash recipe module ${file} does not exist`, {
      hint: "scan.chain.module (or --chain-module) is resolved against the scenario file's folder",
      cause: e,
    });
  }
  try {
    await typeScriptLoaderFor(file);
    mod = (await import(pathToFileURL(file).href)) as Record<string, unknown>;
  } catch (e) {
    throw new UsageError(`cannot load the hash recipe module ${file}: ${(e as Error).message}`, {
      hint: 'scan.chain.module names a JS module exporting hash(prevHash, entry, stored) and optionally genesis',
      cause: e,
    });
  }
  if (typeof mod.default === 'function') mod = { ...mod, hash: mod.default };
  const candidates = [mod, mod.default as Record<string, unknown> | undefined];
  for (const m of candidates) {
    if (m && typeof m.hash === 'function') {
      const fn = m.hash as ModuleHash;
      const genesis = typeof m.genesis === 'string' ? m.genesis : GENESIS_PREV_HASH;
      return {
        name: `module ${modulePath}`,
        genesis,
        // A module may read anything stored: ask the source for it (the cost is the module's).
        needsStored: fn.length >= 3,
        hash: (prevHash, e) => {
          const out = fn(prevHash, e, storedView(e));
          if (out instanceof Uint8Array) return asStoredHex(out, e.hash);
          if (typeof out === 'string') return out;
          throw new TypeError(
            `the hash recipe module ${modulePath} returned ${typeof out}, not hex or bytes`,
          );
        },
      };
    }
  }
  throw new UsageError(`the hash recipe module ${file} exports no hash(prevHash, entry, stored) function`, {
    hint: 'export function hash(prevHash, entry, stored) { ... } returning hex or bytes (docs/recipes.md)',
  });
}

/** The recipe a scenario's scan.chain asks for (module, template, or the JCS field recipe). */
export async function recipeFromSettings(
  settings: Partial<ChainSettings> | undefined,
  baseDir?: string,
): Promise<HashRecipe> {
  if (settings?.module && settings.template) {
    throw new UsageError('scan.chain: give either module or template, not both');
  }
  if (settings?.module) return moduleRecipe(settings.module, baseDir);
  if (settings?.template !== undefined) return templateRecipe({ ...settings, template: settings.template });
  return settingsRecipe(settings);
}

/**
 * Checks a scenario's scan.chain before anything runs: the module exists, loads and exports
 * hash(); the template names known fields; the HMAC key's variable is set. Throws the UsageError
 * (exit 2) that the scan would otherwise meet after the workload.
 */
export async function checkRecipeSettings(
  settings: Partial<ChainSettings> | undefined,
  baseDir?: string,
): Promise<void> {
  await recipeFromSettings(settings, baseDir);
}

/** Slow, obviously-correct reference hash: what the fast recipe is tested against. */
export { referenceHash };
