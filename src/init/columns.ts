/**
 * `auditchaos init`, the database half: which table holds the log and which column holds each
 * entry field, guessed from names and types (information_schema), so that the starter scenario's
 * scan.mapping is right for the common shapes. Pure guessing over a column list, plus the read.
 */
import pg from 'pg';
import { EnvironmentError } from '../errors.ts';
import { redactUrl } from '../redact-url.ts';

export interface Column {
  table: string;
  name: string;
  type: string;
}

export type EntryField = 'seq' | 'eventId' | 'ts' | 'actor' | 'action' | 'payload' | 'prevHash' | 'hash';

export interface MappingGuess {
  table: string;
  mapping: Partial<Record<EntryField, string>>;
  /** Fields no column was found for. */
  unmapped: EntryField[];
  columns: Column[];
}

const NUMERIC = /^(bigint|integer|smallint|numeric)$/;
const TEXTY = /^(text|character varying|character|varchar|citext)$/;

/** Name patterns in order of preference, with the types each field may have. */
const RULES: Record<EntryField, { names: RegExp[]; types: RegExp }> = {
  seq: {
    names: [/^seq$/, /^(n|sequence|seq_no|seqno|position|pos|idx|index)$/, /^id$/, /seq/],
    types: NUMERIC,
  },
  eventId: {
    names: [/^event_?id$/i, /^(uid|uuid|guid|eid)$/, /^(request|entry|record)_?id$/, /uuid|uid/],
    types: /^(uuid|text|character varying|character)$/,
  },
  ts: {
    names: [
      /^(ts|timestamp)$/,
      /^(at|time|created_at|recorded_at|occurred_at|inserted_at|logged_at)$/,
      /_at$|time/,
    ],
    types: /^timestamp|^date$|^text$/,
  },
  actor: {
    names: [/^actor$/, /^(who|user|user_id|username|principal|subject|by)$/, /user|actor/],
    types: TEXTY,
  },
  action: {
    names: [/^action$/, /^(verb|event|event_type|type|operation|op|what)$/, /action|verb|type/],
    types: TEXTY,
  },
  payload: {
    names: [/^payload$/, /^(body|data|details|detail|content|message|metadata|doc)$/, /payload|body|data/],
    types: /^(jsonb|json|text|character varying|bytea)$/,
  },
  prevHash: {
    names: [
      /^prev_?hash$/,
      /^(parent|prev|previous|prior|parent_hash|previous_hash|prev_digest)$/,
      /prev|parent/,
    ],
    types: /^(bytea|text|character varying|character)$/,
  },
  hash: {
    names: [/^hash$/, /^(digest|checksum|mac|hmac|entry_hash|row_hash|self_hash)$/, /hash|digest/],
    types: /^(bytea|text|character varying|character)$/,
  },
};

const ORDER: EntryField[] = ['seq', 'eventId', 'prevHash', 'hash', 'ts', 'actor', 'action', 'payload'];

/** The mapping for one table's columns: each column serves at most one field. */
export function guessMapping(table: string, columns: Column[]): MappingGuess {
  const cols = columns.filter((c) => c.table === table);
  const taken = new Set<string>();
  const mapping: MappingGuess['mapping'] = {};
  for (const field of ORDER) {
    const rule = RULES[field];
    let pick: Column | undefined;
    for (const re of rule.names) {
      pick = cols.find((c) => !taken.has(c.name) && re.test(c.name) && rule.types.test(c.type));
      if (pick) break;
    }
    if (pick) {
      mapping[field] = pick.name;
      taken.add(pick.name);
    }
  }
  const unmapped = ORDER.filter((f) => mapping[f] === undefined);
  return { table, mapping, unmapped, columns: cols };
}

/** The table that maps best (most fields; ties: the one named like a log). */
export function guessTable(columns: Column[], wanted?: string): MappingGuess | undefined {
  const tables = [...new Set(columns.map((c) => c.table))];
  if (wanted !== undefined) return tables.includes(wanted) ? guessMapping(wanted, columns) : undefined;
  const scored = tables
    .map((t) => guessMapping(t, columns))
    .sort(
      (a, b) =>
        a.unmapped.length - b.unmapped.length ||
        Number(/log|audit|journal|ledger|event/.test(b.table)) -
          Number(/log|audit|journal|ledger|event/.test(a.table)),
    );
  return scored[0];
}

/** The columns of every ordinary table the URL's user can see (not the system schemas). */
export async function readColumns(url: string, timeoutMs = 5000): Promise<Column[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await client.connect();
    const r = await client.query<{ table: string; name: string; type: string }>(
      `SELECT CASE WHEN c.table_schema = current_schema() THEN c.table_name
                   ELSE c.table_schema || '.' || c.table_name END AS table,
              c.column_name AS name, c.data_type AS type
         FROM information_schema.columns c
         JOIN information_schema.tables t USING (table_schema, table_name)
        WHERE t.table_type = 'BASE TABLE'
          AND c.table_schema NOT IN ('pg_catalog', 'information_schema')
        ORDER BY c.table_schema, c.table_name, c.ordinal_position`,
    );
    return r.rows;
  } catch (e) {
    throw new EnvironmentError(`cannot read the tables at ${redactUrl(url)}: ${(e as Error).message}`, {
      hint: 'init reads columns only when --database-url is given; leave it out to write the mapping by hand',
      cause: e,
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}
