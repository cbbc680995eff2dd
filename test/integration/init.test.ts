/**
 * `auditchaos init` through the binary, against a real PostgreSQL holding a foreign team's journal
 * (issue 12): the mapping is read off the table, the hash recipe is found by verifying the stored
 * rows, no credential reaches the file, and it never overwrites or prompts.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { PostgresServer } from '../../src/stack/local/postgres.ts';
import { REPO_ROOT, runCli } from '../helpers/cli.ts';
import { journalRows } from '../unit/scan/journal-fixture.ts';

let server: PostgresServer;
let url: string;
let dir: string;
const COMPOSE = path.join(REPO_ROOT, 'test/fixtures/init/ledger-compose.yml');

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-init-'));
  server = await PostgresServer.create();
  url = server.url();
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  await client.query('CREATE TABLE users (id integer primary key, email text)');
  await client.query(`CREATE TABLE journal (n bigint primary key, uid uuid not null, who text not null,
    verb text not null, body text not null, at timestamptz not null, parent bytea, digest bytea not null)`);
  for (const r of journalRows()) {
    await client.query('INSERT INTO journal VALUES ($1, $2, $3, $4, $5, $6, $7, $8)', [
      r.n,
      r.uid,
      r.who,
      r.verb,
      r.body,
      r.at,
      r.parent,
      r.digest,
    ]);
  }
  // A credential distinct enough to be searched for in what init writes.
  await client.query("CREATE ROLE clerk LOGIN PASSWORD 'sesame-9f3a1c'");
  await client.query('GRANT SELECT ON ALL TABLES IN SCHEMA public TO clerk');
  await client.end();
  url = server.url('postgres', 'clerk', 'sesame-9f3a1c');
});
afterAll(async () => {
  await server?.dispose();
  await rm(dir, { recursive: true, force: true });
});

describe('auditchaos init', () => {
  it('reads the compose file and the table, finds the recipe, and writes no credential', async () => {
    const out = path.join(dir, 'ledger.yml');
    const r = await runCli(
      ['init', '--compose', COMPOSE, '--database-url', url, '--write', 'PUT /ledger/{eventId}', '--out', out],
      { timeout: 60_000 },
    );
    expect(r.exitCode, r.stderr).toBe(0);
    expect(r.stdout).toMatch(/wrote/);
    const text = await readFile(out, 'utf8');
    // biome-ignore lint/suspicious/noExplicitAny: a parsed YAML document, checked field by field
    const s = parse(text) as Record<string, any>;
    expect(s.stack.services.ledger).toEqual({
      role: 'service',
      port: 7070,
      health: { path: '/healthz', status: [200] },
    });
    expect(s.stack.services.store).toEqual({ role: 'database', port: 5432 });
    expect(s.proxies).toEqual([
      { name: 'api', listen: '127.0.0.1:18080', upstream: 'ledger:7070' },
      { name: 'db', listen: '127.0.0.1:15432', upstream: 'store:5432' },
    ]);
    expect(s.workload.request).toMatchObject({ method: 'PUT', path: '/ledger/{eventId}' });
    expect(s.scan.source.table).toBe('journal');
    expect(s.scan.mapping).toEqual({
      seq: 'n',
      eventId: 'uid',
      ts: 'at',
      actor: 'who',
      action: 'verb',
      payload: 'body',
      prevHash: 'parent',
      hash: 'digest',
    });
    // The recipe that verifies the Python service's rows, found rather than guessed.
    expect(s.scan.chain).toEqual({
      template: '{seq}|{eventId}|{actor}|{action}|{payload}',
      prev: 'bytes',
      order: 'prev-first',
      algorithm: 'sha256',
    });
    expect(text).toMatch(/found: sha256\(prev\(bytes\) \|\| .*verifies the first 6 stored entries/);
    expect(text).toMatch(/ledger's DATABASE_URL names store: point it at toxiproxy:15432/);
    // The database URL's password and the compose file's password stay out of the scenario.
    expect(text).not.toContain('sesame-9f3a1c');
    expect(r.stdout + r.stderr).not.toContain('sesame-9f3a1c');
    expect(text).not.toContain('not-a-secret-here');
    expect(s.scan.source.url).toBe(`postgres://\${PGUSER}:\${PGPASSWORD}@127.0.0.1:15432/postgres`);
  });

  it('the written scenario validates; on the example stack the db proxy takes the port its service already uses', async () => {
    const out = path.join(dir, 'pyledger.yml');
    const r = await runCli([
      'init',
      '--compose',
      path.join(REPO_ROOT, 'examples/pyledger/compose.yml'),
      '--write',
      'PUT /ledger/{eventId}',
      '--out',
      out,
    ]);
    expect(r.exitCode, r.stderr).toBe(0);
    const s = parse(await readFile(out, 'utf8')) as { proxies: { name: string; listen: string }[] };
    expect(s.proxies.find((p) => p.name === 'db')?.listen).toBe('127.0.0.1:15433');
    const v = await runCli(['validate', out], { env: { PGUSER: 'ledger', PGPASSWORD: 'ledger' } });
    expect(v.exitCode, `${v.stdout}${v.stderr}`).toBe(0);
    // unset credentials are named, not guessed
    const unset = await runCli(['validate', out], { env: {} });
    expect(unset.exitCode).toBe(2);
    expect(unset.stderr).toMatch(/\$\{PGUSER\}, which is not set/);
  });

  it('never overwrites without --force, and prints to stdout with --out -', async () => {
    const out = path.join(dir, 'taken.yml');
    await writeFile(out, 'mine\n');
    const r = await runCli(['init', '--compose', COMPOSE, '--out', out]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(/taken\.yml exists/);
    expect(await readFile(out, 'utf8')).toBe('mine\n');
    const p = await runCli(['init', '--compose', COMPOSE, '--out', '-'], { env: {} });
    expect(p.exitCode, p.stderr).toBe(0);
    expect(p.stdout).toMatch(/^# Written by `auditchaos init`/m);
  });

  it('bad input is exit 2 with a message: no compose file, unknown service, unreachable database, bad --write', async () => {
    const cases: [string[], RegExp, number][] = [
      [['init', '--out', '-'], /no compose file here/, 2],
      [
        ['init', '--compose', COMPOSE, '--service', 'nope', '--out', '-'],
        /--service nope: .* has no service of that name/,
        2,
      ],
      [['init', '--compose', COMPOSE, '--write', 'GET /x', '--out', '-'], /--write "GET \/x" is not/, 2],
      [
        ['init', '--compose', COMPOSE, '--table', 'nope', '--database-url', url, '--out', '-'],
        /--table nope: no such table .*journal/,
        2,
      ],
      [
        ['init', '--compose', COMPOSE, '--database-url', 'postgres://u:p@127.0.0.1:1/x', '--out', '-'],
        /cannot read the tables at postgres:\/\/u:\*+@127\.0\.0\.1:1\/x/,
        3,
      ],
      [['init', '--url', 'http://127.0.0.1:1', '--out', '-'], /needs both --url and --toxiproxy/, 2],
    ];
    for (const [args, pattern, code] of cases) {
      const r = await runCli(args, { cwd: dir, env: {} });
      expect(r.exitCode, `${args.join(' ')}: ${r.stderr}`).toBe(code);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /);
    }
  });
});
