import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { guessMapping, guessTable } from '../../../src/init/columns.ts';
import { containerPort, detectStack } from '../../../src/init/detect.ts';
import { q } from '../../../src/init/render.ts';

const root = path.resolve(import.meta.dirname, '../../..');
const read = (f: string) => readFileSync(path.join(root, f), 'utf8');

describe('init: reading a compose file', () => {
  it('finds a foreign stack by what it is, not by its names (ledger on 7070 with /healthz, store)', () => {
    const g = detectStack(read('test/fixtures/init/ledger-compose.yml'), 'ledger-compose.yml');
    expect(g.database).toEqual({
      name: 'store',
      port: 5432,
      db: 'books',
      user: 'clerk',
      passwordVar: 'POSTGRES_PASSWORD',
    });
    expect(g.service).toMatchObject({
      name: 'ledger',
      port: 7070,
      healthPath: '/healthz',
      databaseRefs: ['DATABASE_URL'],
    });
    expect(g.others).toEqual(['worker']);
    expect(JSON.stringify(g)).not.toContain('not-a-secret-here');
  });

  it('reads the reference stack as one example of the same model', () => {
    const g = detectStack(read('compose/stack.yml'), 'stack.yml');
    expect(g.database?.name).toBe('postgres');
    expect(g.service?.name).toBe('auditlog');
    expect(g.others).not.toContain('toxiproxy');
  });

  it('takes --service and --database over the guesses and refuses names the file lacks', () => {
    const text = read('test/fixtures/init/ledger-compose.yml');
    expect(detectStack(text, 'f.yml', { service: 'worker' }).service?.name).toBe('worker');
    expect(() => detectStack(text, 'f.yml', { service: 'nope' })).toThrow(
      /--service nope: f.yml has no service of that name; it has store, ledger, worker/,
    );
    expect(() => detectStack('a: [', 'f.yml')).toThrow(/f.yml is not YAML/);
    expect(() => detectStack('version: "3"\n', 'f.yml')).toThrow(/has no `services:`/);
  });

  it('container ports from every ports form', () => {
    expect(containerPort('8080')).toBe(8080);
    expect(containerPort('127.0.0.1:18080:7070/tcp')).toBe(7070);
    expect(containerPort(`127.0.0.1:\${P:-1}:7070`)).toBe(7070);
    expect(containerPort('9000-9002:9000-9002')).toBe(9000);
    expect(containerPort({ target: 5000, published: 80 })).toBe(5000);
    expect(containerPort('x')).toBeUndefined();
  });
});

describe('init: guessing the mapping from columns', () => {
  const journal = [
    ['n', 'bigint'],
    ['uid', 'uuid'],
    ['who', 'text'],
    ['verb', 'text'],
    ['body', 'text'],
    ['at', 'timestamp with time zone'],
    ['parent', 'bytea'],
    ['digest', 'bytea'],
  ].map(([name, type]) => ({ table: 'journal', name: name!, type: type! }));
  const other = [
    ['id', 'integer'],
    ['email', 'text'],
  ].map(([name, type]) => ({ table: 'users', name: name!, type: type! }));

  it('maps the foreign journal table field by field and picks it over an unrelated table', () => {
    const g = guessTable([...other, ...journal]);
    expect(g?.table).toBe('journal');
    expect(g?.mapping).toEqual({
      seq: 'n',
      eventId: 'uid',
      ts: 'at',
      actor: 'who',
      action: 'verb',
      payload: 'body',
      prevHash: 'parent',
      hash: 'digest',
    });
    expect(g?.unmapped).toEqual([]);
  });

  it('says which fields it could not map', () => {
    const g = guessMapping('users', other);
    expect(g.mapping.seq).toBe('id');
    expect(g.unmapped).toContain('hash');
    expect(guessTable(other, 'missing')).toBeUndefined();
  });

  it('quotes YAML scalars only where needed', () => {
    expect(q('/ledger/{eventId}')).toBe('/ledger/{eventId}');
    expect(q('yes')).toBe('"yes"');
    expect(q('a: b')).toBe('"a: b"');
    expect(q(`\${PGUSER}`)).toBe(`"\${PGUSER}"`);
  });
});
