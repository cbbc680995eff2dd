/**
 * A foreign team's journal (issue 12): table journal(n, uid, who, verb, body text, at, parent bytea,
 * digest bytea) written by a Python service: body is its json.dumps text, digest =
 * SHA-256(parent bytes || "n|uid|who|verb|body"), the first parent NULL.
 */
import { createHash, createHmac } from 'node:crypto';

export const JOURNAL_MAPPING = {
  seq: 'n',
  eventId: 'uid',
  actor: 'who',
  action: 'verb',
  payload: 'body',
  ts: 'at',
  prevHash: 'parent',
  hash: 'digest',
} as const;

/** What the Python service stores: its json.dumps text, hashed as text. */
export const PY_BODIES = [
  '{"data": "a", "amount": 1.50}',
  '{"data": "b", "nested": {"z": 1, "a": [1.0, 2e3]}}',
  '{"data": "caf\\u00e9", "note": "h\u00e9 \u6f22"}',
  '{"b": 1, "__proto__": 2}',
  '[1, 2, 3]',
  '"just a string"',
];
export const EMBEDDABLE = PY_BODIES.slice(0, 5);

export interface JournalRow {
  n: number;
  uid: string;
  who: string;
  verb: string;
  body: string;
  at: string;
  parent: Buffer | null;
  digest: Buffer;
}

/** The Python writer: digest = SHA-256(parent || "n|uid|who|verb|body"), the first parent NULL. */
export function journalRows(bodies = PY_BODIES, key?: string): JournalRow[] {
  let parent: Buffer | null = null;
  return bodies.map((body, i) => {
    const n = i + 1;
    const row = {
      n,
      uid: `5f0c${String(n).padStart(4, '0')}-0000-4000-8000-000000000000`,
      who: `clerk-${n % 3}`,
      verb: n % 2 ? 'post' : 'void',
      body,
      at: `2026-03-0${1 + (i % 9)}T10:00:00.000000Z`,
    };
    const text = `${row.n}|${row.uid}|${row.who}|${row.verb}|${row.body}`;
    const h = key ? createHmac('sha256', key) : createHash('sha256');
    const digest = h
      .update(parent ?? Buffer.alloc(0))
      .update(text, 'utf8')
      .digest();
    const out: JournalRow = { ...row, parent, digest };
    parent = digest;
    return out;
  });
}

/**
 * JSONL as the service exports it: the text column as a JSON string, or embedded as written. (A
 * body that is itself a JSON string literal cannot be embedded: `"body":"x"` reads as the text x,
 * docs/recipes.md; EMBEDDABLE leaves it out.)
 */
export function jsonlOf(rows: JournalRow[], embed: boolean): string {
  return rows
    .map((r) => {
      const body = embed ? r.body : JSON.stringify(r.body);
      const parent = r.parent === null ? 'null' : `"${r.parent.toString('hex')}"`;
      return `{"n": ${r.n}, "uid": "${r.uid}", "who": "${r.who}", "verb": "${r.verb}", "body": ${body}, "at": "${r.at}", "parent": ${parent}, "digest": "${r.digest.toString('hex')}"}`;
    })
    .join('\n');
}

export const TEMPLATE_CHAIN = {
  template: '{seq}|{eventId}|{actor}|{action}|{payload}',
  algorithm: 'sha256',
  prev: 'bytes',
  order: 'prev-first',
  genesis: '',
} as const;

export const RECIPE_MODULE = `import { createHash } from 'node:crypto';
export const genesis = '';
export function hash(prevHash, entry, stored) {
  const f = stored.fields;
  return createHash('sha256').update(stored.prevBytes).update(\`\${f.seq}|\${f.eventId}|\${f.actor}|\${f.action}|\${f.payload}\`).digest();
}
`;
