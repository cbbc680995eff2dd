/**
 * Verifying a template recipe inside PostgreSQL (`--verify-in database`): the server computes each
 * row's digest over the same stored text the client would hash (recipes.md, "What stored means")
 * with its own sha256()/sha384()/sha512(), and sends one more column, `t` where the stored hash
 * is that digest. The client takes a `t` row's stored hash as the recomputed one and hashes only the
 * other rows (the suspects) itself; every check still runs in the client, on the same items, so the
 * findings are those of client verification, finding for finding.
 *
 * Why that is exact: a `t` means stored = H(prefix || text) where text is built on the server from
 * the same expressions the client reads (the ts in the reference form by to_char, which the
 * client's own rendering is tested against), and the comparison mirrors the client's (lowercase
 * hex, or the uppercase form of it). A row the server could not judge (a NULL field, anything
 * unusual) is `f`, and `f` only costs the client its own hash: never a verdict.
 */
import type pg from 'pg';
import { UsageError } from '../../errors.ts';
import type { HashRecipe, TemplateField, TemplateSpec } from '../recipe.ts';

/** Why a recipe cannot be verified by the database, or undefined when it can. */
export function notServerVerifiable(recipe: HashRecipe): string | undefined {
  const t = recipe.template;
  if (!t)
    return recipe.id !== undefined
      ? 'the reference recipe hashes RFC 8785 canonical JSON of the payload, which PostgreSQL cannot render exactly'
      : `the hash recipe ${recipe.name} is not a template (a module runs in the client only)`;
  if (t.hmac)
    return 'an HMAC template would send its key to the server (where statement logging could keep it)';
  return undefined;
}

/** Bad input for --verify-in database (exit 2), with why. */
export function verifyInRefused(why: string): UsageError {
  return new UsageError(`--verify-in database: ${why}`, { hint: 'verify in the client (the default)' });
}

/** The template the server is to compute for `recipe`; a UsageError when it cannot. */
export function serverTemplate(recipe: HashRecipe | undefined): TemplateSpec {
  const why = recipe ? notServerVerifiable(recipe) : 'no hash recipe given';
  if (why !== undefined || !recipe?.template) throw verifyInRefused(why ?? 'no template');
  return recipe.template;
}

/** The SQL text of each template field, as the client reads it (the select list's expressions). */
export type FieldSql = (f: TemplateField | 'hash') => string;

/**
 * A boolean SQL expression: the stored hash is the template's digest of the row. A bytea prev or
 * hash column is used as its bytes (`column`); `sql(f)` is then the hex text the client reads.
 */
export function serverHashOk(
  t: TemplateSpec,
  sql: FieldSql,
  cols: { prev: ByteaColumn; hash: ByteaColumn },
  literal: (s: string) => string,
): string {
  const text = t.parts
    .map((p) => (typeof p === 'string' ? literal(p) : `coalesce(${sql(p.field)}, '')`))
    .join(' || ');
  const prevText = `coalesce(${sql('prevHash')}, '')`;
  // prev: bytes is the hex decoded (either case, an even number of digits), else its UTF-8
  // (recipe.ts prevBytesOf); a bytea column is its bytes.
  const prevBytes =
    t.prev === 'hex'
      ? `convert_to(${prevText}, 'UTF8')`
      : cols.prev.bytea
        ? `coalesce(${cols.prev.column}, ''::bytea)`
        : `(CASE WHEN ${prevText} ~ '^([0-9a-fA-F]{2})*$' THEN decode(${prevText}, 'hex') ELSE convert_to(${prevText}, 'UTF8') END)`;
  const body = `convert_to(${text || "''"}, 'UTF8')`;
  const digest = `${t.algorithm}(${t.order === 'prev-first' ? `${prevBytes} || ${body}` : `${body} || ${prevBytes}`})`;
  if (cols.hash.bytea) return `coalesce(${cols.hash.column} = ${digest}, false)`;
  // The client compares lowercase hex, or its uppercase form where the stored text is uppercase
  // hex (recipe.ts asStoredHex): the same as comparing that text lowercased. The digest once a row.
  const h = sql('hash');
  return `coalesce((CASE WHEN ${h} = lower(${h}) OR ${h} !~ '^[0-9A-F]+$' THEN ${h} ELSE lower(${h}) END) = encode(${digest}, 'hex'), false)`;
}

export interface ByteaColumn {
  bytea: boolean;
  /** The quoted column (a bytea column's bytes). */
  column: string;
}

/** The server can compute the recipe: UTF-8 (the text the client hashes is UTF-8), sha256() (11+). */
export async function checkServerCanVerify(client: pg.Client, algorithm: string): Promise<void> {
  const r = await client.query<{ enc: string; version: string; fn: boolean }>(
    `SELECT current_setting('server_encoding') AS enc, current_setting('server_version_num') AS version,
            to_regproc('pg_catalog.' || $1) IS NOT NULL AS fn`,
    [algorithm],
  );
  const row = r.rows[0]!;
  if (row.enc !== 'UTF8')
    throw verifyInRefused(`the database's encoding is ${row.enc}, and a template is hashed over UTF-8 text`);
  if (!row.fn)
    throw verifyInRefused(
      `this PostgreSQL (server_version_num ${row.version}) has no ${algorithm}() (PostgreSQL 11 or later has it)`,
    );
}
