/**
 * PostgreSQL tables, streamed in seq order, through a column mapping so that other people's tables
 * read as well as the reference audit_log. Two ways to stream, measured in bench/scan.bench.ts:
 * COPY (SELECT ...) TO STDOUT (the default, faster) and a server-side cursor (FETCH in batches).
 * Columns are rendered as text by the server: timestamps in the reference form (pgReferenceTs),
 * bytea hashes as hex, jsonb payloads as JSON text that we parse.
 */
import { availableParallelism } from 'node:os';
import pg from 'pg';
import { to as copyTo } from 'pg-copy-streams';
import { EnvironmentError, UsageError } from '../../errors.ts';
import { redactUrl } from '../../redact-url.ts';
import type { EntryMapping } from '../../scenario/schema.ts';
import { jsonbTextToJcs } from '../jsonb-jcs.ts';
import { CanonicalEntry } from '../line-items.ts';
import { type HashRecipe, makeHasher, type TemplateField, type TemplateSpec } from '../recipe.ts';
import { pgReferenceTs } from '../reference-chain.ts';
import { jsonTextIssue } from '../strict-json.ts';
import {
  type HashedBatch,
  isUnreadable,
  type LogEntry,
  type LogSource,
  type SourceItem,
  type UnreadableEntry,
} from '../types.ts';
import { itemsOf } from './array.ts';
import { splitLines } from './lines.ts';
import { runSeqRanges, type SeqRangeSpec, seqRangeFacts } from './pg-ranges.ts';
import { checkServerCanVerify, serverHashOk, serverTemplate, verifyInRefused } from './pg-verify.ts';
import { REFERENCE_MAPPING, toSeq } from './record.ts';

export type PostgresReadMethod = 'copy' | 'cursor';

export interface PostgresSourceOptions {
  url: string;
  /** `table` or `schema.table`; default audit_log. */
  table?: string;
  mapping?: Partial<EntryMapping>;
  method?: PostgresReadMethod;
  /** Rows a FETCH (cursor method). */
  fetchSize?: number;
  connectTimeoutMs?: number;
  /** Keep each entry's stored form (LogEntry.stored), for recipes over the stored text. */
  stored?: boolean;
  /**
   * Verify in seq ranges, each read and verified by a worker thread on its own connection
   * (sources/pg-ranges.ts), when the table has at least `parallelMinRows` rows (planner's
   * estimate; default 200,000) and its seq orders the rows totally. Default
   * os.availableParallelism(); 0: one connection, the items streamed to scanLog's checks.
   */
  workers?: number;
  parallelMinRows?: number;
  /** Seq ranges (default 4 a worker) and rows read before each to guess its chain state (64). */
  ranges?: number;
  warmRows?: number;
  /** A timestamptz ts rendered by the client from the server's text (default true), not by to_char. */
  tsInClient?: boolean;
  /**
   * 'database': the server computes each row's digest for `recipe` (a template recipe) and the
   * client hashes only the rows whose stored hash is not it (sources/pg-verify.ts); the source then
   * offers `serverHashed`. A recipe the server cannot compute is a UsageError. Default 'client'.
   */
  verifyIn?: 'client' | 'database';
  recipe?: HashRecipe;
}

interface Column {
  name: string;
  type: string;
}

const FIELDS = ['seq', 'eventId', 'ts', 'actor', 'action', 'payload', 'prevHash', 'hash'] as const;
type Field = (typeof FIELDS)[number];

export async function connect(url: string, timeoutMs: number): Promise<pg.Client> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
  } catch (e) {
    await client.end().catch(() => undefined);
    throw new EnvironmentError(`cannot connect to PostgreSQL at ${redactUrl(url)}: ${(e as Error).message}`, {
      hint: 'check the URL, that the server runs, and the credentials',
      cause: e,
    });
  }
  return client;
}

function splitTable(table: string): { schema?: string; name: string } {
  const i = table.indexOf('.');
  return i === -1 ? { name: table } : { schema: table.slice(0, i), name: table.slice(i + 1) };
}

/** Reads the table's columns and builds the SELECT list; says which checks cannot run. */
async function plan(client: pg.Client, table: string, mapping: EntryMapping, tsInClient: boolean) {
  const { schema, name } = splitTable(table);
  const res = await client.query<{ column_name: string; data_type: string }>(
    `SELECT column_name, data_type FROM information_schema.columns
      WHERE table_name = $1 AND table_schema = coalesce($2, current_schema()) ORDER BY ordinal_position`,
    [name, schema ?? null],
  );
  if (res.rows.length === 0) {
    throw new UsageError(`table ${table} not found (or it has no columns you may read)`, {
      hint: 'name it with --table (schema.table works), or check the database in the URL',
    });
  }
  const cols = new Map<string, Column>(
    res.rows.map((r) => [r.column_name, { name: r.column_name, type: r.data_type }]),
  );
  const q = (c: string) => client.escapeIdentifier(c);
  // The ts column read as the server prints it (in a session set to UTC and ISO), turned into the
  // reference form here (referenceTsOfRaw): to_char costs the server about as much as the rest of
  // the row. Only where no other mapped column prints otherwise under those settings.
  const rawTs =
    tsInClient &&
    cols.get(mapping.ts)?.type === 'timestamp with time zone' &&
    FIELDS.every((f) => {
      const t = f === 'ts' ? undefined : cols.get(mapping[f])?.type;
      return t === undefined || SESSION_NEUTRAL_TYPES.has(t);
    });
  const exprs: string[] = [];
  const absent: Field[] = [];
  for (const f of FIELDS) {
    const colName = mapping[f];
    const col = colName ? cols.get(colName) : undefined;
    if (!col) {
      if (f === 'seq' || f === 'eventId') {
        throw new UsageError(
          `table ${table} has no column ${colName} for ${f} (columns: ${[...cols.keys()].join(', ')})`,
          { hint: `map it with --map ${f}=COLUMN or scan.mapping in the scenario` },
        );
      }
      absent.push(f);
      exprs.push('NULL');
      continue;
    }
    if (f === 'ts' && col.type === 'timestamp with time zone')
      exprs.push(rawTs ? q(col.name) : pgReferenceTs(q(col.name)));
    else if (f === 'ts' && col.type === 'timestamp without time zone')
      exprs.push(`to_char(${q(col.name)}, 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`);
    else if ((f === 'hash' || f === 'prevHash') && col.type === 'bytea')
      exprs.push(`encode(${q(col.name)}, 'hex')`);
    else exprs.push(`${q(col.name)}::text`);
  }
  // Each field's text as the client reads it, for a digest computed by the server (pg-verify.ts):
  // the select list's expression, except that a timestamptz is rendered by to_char (the form the
  // client makes of the raw text, referenceTsOfRaw, is tested equal to it).
  const fieldSql = (f: TemplateField | 'hash'): string => {
    const i = FIELDS.indexOf(f);
    const col = cols.get(mapping[f]);
    return f === 'ts' && col?.type === 'timestamp with time zone' ? pgReferenceTs(q(col.name)) : exprs[i]!;
  };
  const byteaOf = (f: 'prevHash' | 'hash') => {
    const col = cols.get(mapping[f]);
    return { bytea: col?.type === 'bytea', column: col ? q(col.name) : 'NULL' };
  };
  const from = schema ? `${q(schema)}.${q(name)}` : q(name);
  // Qualified: a bare name would sort by the ::text output column of the same name (1, 10, 100, 2...).
  const orderBy = `${from}.${q(mapping.seq)}`;
  const select = `SELECT ${exprs.join(', ')} FROM ${from} ORDER BY ${orderBy}`;
  const seqType = cols.get(mapping.seq)!.type;
  const hashless = absent.includes('hash') || absent.includes('prevHash');
  const missing = absent.filter((f) => f !== 'hash' && f !== 'prevHash');
  // jsonb is stored parsed (the last of duplicate names kept, surrogates paired or refused on
  // input), so its text is I-JSON; json and text keep what was written, which may not be.
  const payloadType = cols.get(mapping.payload)?.type;
  const strictPayload = payloadType !== undefined && payloadType !== 'jsonb';
  // For LogEntry.stored.row(): each selected column's name, and whether it was read as hex of bytea.
  const columns = FIELDS.map((f) => {
    const col = cols.get(mapping[f]);
    return col
      ? { name: col.name, bytea: (f === 'hash' || f === 'prevHash') && col.type === 'bytea' }
      : undefined;
  });
  return {
    select,
    list: exprs.join(', '),
    from,
    seqCol: orderBy,
    seqType,
    hashless,
    missing,
    absent,
    mapping,
    strictPayload,
    columns,
    jsonb: payloadType === 'jsonb',
    rawTs,
    fieldSql,
    hashCols: { prev: byteaOf('prevHash'), hash: byteaOf('hash') },
  };
}

/** One row of text values (null for SQL NULL), in FIELDS order, to a SourceItem. */
export interface RowContext {
  hashless: boolean;
  mapping: EntryMapping;
  /** The payload column keeps what was written (json, text): check it is I-JSON. */
  strictPayload: boolean;
  /** Keep LogEntry.stored, with these columns (in FIELDS order) for row(). */
  stored?: readonly ({ name: string; bytea: boolean } | undefined)[];
  /**
   * The payload column is jsonb and no stored form is kept: its text is made canonical without
   * JSON.parse (jsonb-jcs.ts) and the row hashed here (readRow).
   */
  jsonb?: boolean;
  /** The ts column is the server's own text of a timestamptz (UTC, ISO): referenceTsOfRaw. */
  rawTs?: boolean;
  /** A ninth column, `t` where the server found the stored hash to be the recipe's digest (pg-verify.ts). */
  serverOk?: boolean;
}

/** LogEntry.stored of a row: the payload column's text, the mapped columns on demand. */
class StoredRow {
  constructor(
    readonly payload: string,
    readonly payloadOf: unknown,
    private readonly values: readonly (string | null | undefined)[],
    private readonly columns: readonly ({ name: string; bytea: boolean } | undefined)[],
  ) {}
  row(): Record<string, unknown> {
    const out: Record<string, unknown> = Object.create(null);
    this.columns.forEach((c, i) => {
      if (!c) return;
      const v = this.values[i] ?? null;
      out[c.name] = c.bytea && v !== null ? Buffer.from(v, 'hex') : v;
    });
    return out;
  }
}

function unreadableRow(
  reason: string,
  seq: number | undefined,
  eventId: string | null | undefined,
): UnreadableEntry {
  const u: UnreadableEntry = { unreadable: true, reason };
  if (seq !== undefined) u.seq = seq;
  if (eventId) u.eventId = eventId;
  return u;
}

function rowToItem(row: (string | null)[], ctx: RowContext): SourceItem {
  const { hashless, mapping, strictPayload } = ctx;
  const [seqText, eventId, ts, actor, action, payloadText, prevHashText, hashText] = row;
  // NULL hashes read as empty: the partial check names an empty hash; a chain may start at NULL.
  const prevHash = prevHashText === null ? '' : prevHashText;
  const hash = hashText === null ? '' : hashText;
  const seq = toSeq(seqText);
  if (seq === undefined)
    return unreadableRow(`column ${mapping.seq} is not an integer: ${seqText}`, seq, eventId);
  // Per row, no closure and no array of entries: under tsx each closure also costs a defineProperty.
  for (let k = 1; k < 8; k++) {
    if (k === 5) continue; // the payload, below
    const v = row[k];
    if (v !== null && v !== undefined) continue;
    if (k >= 6 && (hashless || v === null)) continue; // NULL hashes read as empty
    return unreadableRow(`column ${mapping[FIELDS[k]!]} is NULL`, seq, eventId);
  }
  if (payloadText === null || payloadText === undefined)
    return unreadableRow(`column ${mapping.payload} is NULL`, seq, eventId);
  let payload: unknown;
  let parsed = true;
  try {
    payload = JSON.parse(payloadText);
  } catch {
    payload = payloadText; // a text column holding non-JSON: hashed as the string it is
    parsed = false;
  }
  const e: LogEntry = {
    seq,
    eventId: eventId!,
    ts: ts!,
    actor: actor!,
    action: action!,
    payload,
    prevHash: hashless ? '' : prevHash!,
    hash: hashless ? '' : hash!,
  };
  if (ctx.stored) e.stored = new StoredRow(payloadText, payload, row, ctx.stored);
  if (parsed && strictPayload) {
    const issue = jsonTextIssue(payloadText);
    if (issue) e.textIssue = { ...issue, message: `column ${mapping.payload}: ${issue.message}` };
  }
  return e;
}

/** Column types whose text does not depend on TimeZone or DateStyle. */
const SESSION_NEUTRAL_TYPES = new Set([
  'text',
  'character varying',
  'character',
  'bigint',
  'integer',
  'smallint',
  'numeric',
  'bytea',
  'json',
  'jsonb',
  'uuid',
  'boolean',
]);

/** What a scan's connection must be set to for the rows' text (RowContext.rawTs). */
export async function prepareSession(client: pg.Client, ctx: RowContext): Promise<void> {
  if (ctx.rawTs) await client.query("SET TimeZone TO 'UTC'; SET DateStyle TO 'ISO, MDY'");
}

const RAW_TS = /^(\d{4,}-\d\d-\d\d) (\d\d:\d\d:\d\d)(?:\.(\d{1,6}))?\+00(?: BC)?$/;

/**
 * A timestamptz as PostgreSQL prints it with TimeZone UTC and DateStyle ISO, in the reference form
 * pgReferenceTs() makes on the server (to_char: 6 fraction digits, no era, NULL for infinity);
 * tested against to_char on a real server, years BC and past 9999 included.
 */
export function referenceTsOfRaw(raw: string | null): string | null {
  if (raw === null || raw === 'infinity' || raw === '-infinity') return null;
  // The common case, `2026-12-03 09:36:39.388123+00`, without a regular expression.
  if (
    raw.length === 29 &&
    raw.charCodeAt(10) === 32 &&
    raw.charCodeAt(19) === 46 &&
    raw.charCodeAt(26) === 43 &&
    raw.charCodeAt(27) === 48 &&
    raw.charCodeAt(28) === 48 &&
    raw.charCodeAt(4) === 45
  )
    return `${raw.slice(0, 10)}T${raw.slice(11, 26)}Z`;
  const m = RAW_TS.exec(raw);
  if (m === null) throw new Error(`unexpected timestamptz text from the server: ${raw}`);
  const frac = m[3];
  return `${m[1]}T${m[2]}.${frac === undefined ? '000000' : frac.length === 6 ? frac : frac.padEnd(6, '0')}Z`;
}

export type Hasher = (prevHex: string, body: string) => string;

/**
 * A row into `out` with, where it is cheap (a jsonb payload made canonical as text), its reference
 * chain v1 hash; every other row is rowToItem's item, its hash left to the chain check.
 */
export function readRow(
  row: (string | null)[],
  ctx: RowContext,
  hasher: Hasher | undefined,
  out: HashedBatch,
): void {
  if (ctx.rawTs) row[2] = referenceTsOfRaw(row[2] ?? null);
  if (ctx.serverOk) {
    const ok = row.pop() === 't';
    const item = rowToItem(row, ctx);
    out.items.push(item);
    // The server hashed the seq's text: the client hashes String(seq), which may differ ("007").
    out.hashes!.push(ok && !isUnreadable(item) && String(item.seq) === row[0] ? item.hash : undefined);
    return;
  }
  if (hasher && ctx.jsonb && !ctx.stored && !ctx.hashless) {
    const [seqText, eventId, ts, actor, action, payloadText, prevHashText, hashText] = row;
    const seq = toSeq(seqText);
    if (
      seq !== undefined &&
      eventId != null &&
      ts != null &&
      actor != null &&
      action != null &&
      payloadText != null &&
      prevHashText !== undefined &&
      hashText !== undefined
    ) {
      const canonical = jsonbTextToJcs(payloadText);
      if (canonical !== undefined) {
        const prevHash = prevHashText ?? '';
        const e = new CanonicalEntry(
          seq,
          eventId,
          ts,
          actor,
          action,
          canonical,
          prevHash,
          hashText ?? '',
          undefined,
          payloadText,
        );
        out.items.push(e);
        out.hashes!.push(
          hasher(
            prevHash,
            `{"action":${JSON.stringify(action)},"actor":${JSON.stringify(actor)},"event_id":${JSON.stringify(
              eventId,
            )},"payload":${canonical},"seq":${JSON.stringify(seq)},"ts":${JSON.stringify(ts)}}`,
          ),
        );
        return;
      }
    }
  }
  out.items.push(rowToItem(row, ctx));
  out.hashes!.push(undefined);
}

/** COPY text format: \N is NULL; backslash escapes (\\, \t, \n, \r, \b, \f, \v, octal, \xHH). */
function unescapeCopy(s: string): string {
  if (s.indexOf('\\') === -1) return s;
  let out = '';
  for (let i = 0; i < s.length; i++) {
    const c = s[i]!;
    if (c !== '\\') {
      out += c;
      continue;
    }
    const n = s[++i];
    switch (n) {
      case 'b':
        out += '\b';
        break;
      case 'f':
        out += '\f';
        break;
      case 'n':
        out += '\n';
        break;
      case 'r':
        out += '\r';
        break;
      case 't':
        out += '\t';
        break;
      case 'v':
        out += '\v';
        break;
      case 'x': {
        const m = /^[0-9a-fA-F]{1,2}/.exec(s.slice(i + 1, i + 3));
        if (m) {
          out += String.fromCharCode(Number.parseInt(m[0], 16));
          i += m[0].length;
        } else out += 'x';
        break;
      }
      default:
        if (n !== undefined && n >= '0' && n <= '7') {
          const m = /^[0-7]{1,3}/.exec(s.slice(i, i + 3))!;
          out += String.fromCharCode(Number.parseInt(m[0], 8));
          i += m[0].length - 1;
        } else if (n !== undefined) out += n;
    }
  }
  return out;
}

export function copyLineToRow(line: string): (string | null)[] {
  const parts = line.split('\t');
  const row: (string | null)[] = new Array(parts.length);
  for (let i = 0; i < parts.length; i++) {
    const p = parts[i]!;
    row[i] = p === '\\N' ? null : unescapeCopy(p);
  }
  return row;
}

const passText = () => (v: string) => v;

/**
 * Opens a connection, checks the table and mapping (a missing table or seq/event id column is a
 * UsageError, exit 2), and returns the source. close() ends the connection.
 */
export async function postgresSource(opts: PostgresSourceOptions): Promise<LogSource> {
  const table = opts.table ?? 'audit_log';
  const mapping: EntryMapping = { ...REFERENCE_MAPPING, ...opts.mapping };
  const method = opts.method ?? 'copy';
  const timeout = opts.connectTimeoutMs ?? 10_000;
  const planner = await connect(opts.url, timeout);
  let p: Awaited<ReturnType<typeof plan>>;
  const workers = opts.workers ?? availableParallelism();
  let ordered = false;
  // The template the server computes (--verify-in database), refused before the table is read.
  let template: TemplateSpec | undefined;
  try {
    if (opts.verifyIn === 'database') template = serverTemplate(opts.recipe);
    p = await plan(planner, table, mapping, opts.tsInClient ?? true);
    if (template) {
      if (p.hashless) throw verifyInRefused(`table ${table} has no hash column to verify`);
      await checkServerCanVerify(planner, template.algorithm);
    }
    if (
      workers > 0 &&
      !template &&
      method === 'copy' &&
      !opts.stored &&
      !p.hashless &&
      p.missing.length === 0
    ) {
      const facts = await seqRangeFacts(planner, p.from, mapping.seq, p.seqType);
      ordered = facts.ordered && facts.rows >= (opts.parallelMinRows ?? 200_000);
    }
  } finally {
    await planner.end().catch(() => undefined);
  }
  if (p.missing.length) {
    throw new UsageError(
      `table ${table} has no column for ${p.missing.map((f) => `${f} (${mapping[f]})`).join(', ')}`,
      { hint: 'map them with --map FIELD=COLUMN or scan.mapping in the scenario' },
    );
  }
  const { hashless, strictPayload } = p;
  const ctx: RowContext = {
    hashless,
    mapping,
    strictPayload,
    jsonb: p.jsonb,
    rawTs: p.rawTs,
    ...(opts.stored ? { stored: p.columns } : {}),
    ...(template ? { serverOk: true } : {}),
  };
  const select = template
    ? `SELECT ${p.list}, ${serverHashOk(template, p.fieldSql, p.hashCols, (v) => planner.escapeLiteral(v))} FROM ${p.from} ORDER BY ${p.seqCol}`
    : p.select;

  // hashed: the items of readRow's fast path (a jsonb payload kept as canonical text) with their
  // hashes, for scanLog; else every row through rowToItem, the payload parsed (batches(), entries()).
  async function* viaCopy(signal: AbortSignal | undefined, hashed: boolean): AsyncIterable<HashedBatch> {
    const client = await connect(opts.url, timeout);
    await prepareSession(client, ctx).catch(async (e) => {
      await client.end().catch(() => undefined);
      throw e;
    });
    const stream = client.query(copyTo(`COPY (${select}) TO STDOUT`));
    const onAbort = () => stream.destroy(new Error('aborted'));
    signal?.addEventListener('abort', onAbort, { once: true });
    const hasher = hashed ? makeHasher('sha256') : undefined;
    try {
      for await (const { lines } of splitLines(stream as AsyncIterable<Buffer>)) {
        const out: HashedBatch = { items: [], hashes: [] };
        for (let i = 0; i < lines.length; i++) readRow(copyLineToRow(lines[i]!), ctx, hasher, out);
        yield out;
      }
    } finally {
      signal?.removeEventListener('abort', onAbort);
      stream.destroy();
      await client.end().catch(() => undefined);
    }
  }

  async function* viaCursor(signal: AbortSignal | undefined, hashed: boolean): AsyncIterable<HashedBatch> {
    const client = await connect(opts.url, timeout);
    const size = opts.fetchSize ?? 10_000;
    const hasher = hashed ? makeHasher('sha256') : undefined;
    try {
      await prepareSession(client, ctx);
      await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
      await client.query(`DECLARE auditchaos_scan NO SCROLL CURSOR FOR ${select}`);
      for (;;) {
        signal?.throwIfAborted();
        const res = await client.query<(string | null)[]>({
          text: `FETCH FORWARD ${size} FROM auditchaos_scan`,
          rowMode: 'array',
          types: { getTypeParser: passText } as unknown as pg.CustomTypesConfig,
        });
        if (res.rows.length === 0) break;
        const out: HashedBatch = { items: [], hashes: [] };
        for (let i = 0; i < res.rows.length; i++) readRow(res.rows[i]!, ctx, hasher, out);
        yield out;
      }
      await client.query('COMMIT');
    } finally {
      await client.end().catch(() => undefined);
    }
  }

  const read = method === 'cursor' ? viaCursor : viaCopy;
  const hashed = (signal?: AbortSignal) => read(signal, true);
  const describe = `${redactUrl(opts.url)} table ${table}`;
  const seqRanges: SeqRangeSpec | undefined = ordered
    ? {
        table: {
          url: opts.url,
          connectTimeoutMs: timeout,
          describe,
          list: p.list,
          from: p.from,
          seqCol: p.seqCol,
          row: { hashless, mapping, strictPayload, jsonb: p.jsonb, rawTs: p.rawTs },
        },
        seqName: mapping.seq,
        seqType: p.seqType,
        workers,
        ...(opts.ranges !== undefined ? { ranges: opts.ranges } : {}),
        ...(opts.warmRows !== undefined ? { warmRows: opts.warmRows } : {}),
      }
    : undefined;
  async function* batches(signal?: AbortSignal): AsyncIterable<SourceItem[]> {
    for await (const b of read(signal, false)) yield b.items;
  }
  return {
    describe,
    ...(template && opts.recipe ? { serverHashed: { recipe: opts.recipe, batches: hashed } } : {}),
    ...(seqRanges
      ? { verifyRanges: (context, merger, o) => runSeqRanges(seqRanges, context, merger, o) }
      : {}),
    ...(hashless
      ? {
          notAvailable: {
            chain: `table ${table} has no ${p.absent.includes('hash') ? mapping.hash : mapping.prevHash} column`,
          },
        }
      : {}),
    batches,
    referenceHashedBatches: hashed,
    entries: (signal) => itemsOf(batches(signal)),
  };
}
