import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Chalk } from 'chalk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redactDeep, redactSecrets } from '../../../src/report/redact.ts';
import { createJsonLines, createPlainLog, createTtyView } from '../../../src/report/terminal/index.ts';
import { writeIndex, writeReport } from '../../../src/report/write.ts';
import { fixtureReport } from '../../helpers/report-fixture.ts';

const DB_PASSWORD = 'hunter2-Db-P4ss';
const BEARER = 'eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXRva2Vu.sig';
const API_KEY = 'ak_live_9f8e7d6c5b4a';
const SIGNING_KEY_PEM =
  '-----BEGIN PRIVATE KEY-----\nMC4CAQAwBQYDK2VwBCIEIJ+DYvh6SEqVTm50DFtMDoQikTmiCqirVv9mWG9qfSnF\n-----END PRIVATE KEY-----\n';
const ENV_SECRET = 'zq-env-secret-4417';

describe('redactSecrets', () => {
  it.each([
    ['postgres://auditlog:s3cret@127.0.0.1:5432/db', 'postgres://auditlog:***@127.0.0.1:5432/db'],
    ['http://admin:pa%24s@host:8474/proxies', 'http://admin:***@host:8474/proxies'],
    ['Authorization: Bearer abc.def.ghi', 'Authorization: Bearer ***'],
    ['{"authorization":"Basic dXNlcjpwYXNz"}', '{"authorization":"Basic ***"}'],
    ['x-api-key: ak_123456', 'x-api-key: ***'],
    ['host=db user=x password=topsecret dbname=y', 'host=db user=x password=*** dbname=y'],
    ['PGPASSWORD=topsecret psql', 'PGPASSWORD=*** psql'],
    ['{"signingKey": "abcdef123"}', '{"signingKey": "***"}'],
    ['token=abc123&x=1', 'token=***&x=1'],
  ])('%s', (input, expected) => {
    expect(redactSecrets(input)).toBe(expected);
  });

  it('removes PEM private keys, raw and JSON-escaped, and keeps public keys', () => {
    expect(redactSecrets(`key:\n${SIGNING_KEY_PEM}`)).toBe('key:\n[redacted private key]\n');
    expect(redactSecrets(JSON.stringify({ k: SIGNING_KEY_PEM }))).toBe('{"k":"[redacted private key]\\n"}');
    const pub = '-----BEGIN PUBLIC KEY-----\nMCowBQYDK2VwAyEA\n-----END PUBLIC KEY-----';
    expect(redactSecrets(pub)).toBe(pub);
  });

  it('removes listed secret values wherever they appear, leaving ordinary text alone', () => {
    expect(redactSecrets(`x ${ENV_SECRET} y "${ENV_SECRET}"`, [ENV_SECRET])).toBe('x *** y "***"');
    const plain = 'seq 5: expected 6c23e786, found 40bca600; writes 398/s; tokenizer ok';
    expect(redactSecrets(plain)).toBe(plain);
  });

  it('redactDeep redacts values under secret keys and inside strings, without mutating', () => {
    const input = {
      headers: { Authorization: 'Bearer abcdefghijkl', 'x-tenant': 'acme' },
      url: 'postgres://u:p4ss@h/d',
      publicKey: 'PUB',
    };
    const out = redactDeep(input);
    expect(out).toEqual({
      headers: { Authorization: '***', 'x-tenant': 'acme' },
      url: 'postgres://u:***@h/d',
      publicKey: 'PUB',
    });
    expect(input.headers.Authorization).toBe('Bearer abcdefghijkl');
  });
});

describe('nothing secret leaves the run', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-redact-'));
  });
  afterAll(() => rm(dir, { recursive: true, force: true }));

  /** A report with secrets planted everywhere a careless run could leak them. */
  function plantedReport() {
    const r = fixtureReport();
    const asRun = r.scenario.asRun as {
      workload: { request: { headers: Record<string, string> } };
      stack: Record<string, unknown>;
    };
    asRun.workload.request.headers = {
      ...asRun.workload.request.headers,
      Authorization: `Bearer ${BEARER}`,
      'X-Api-Key': API_KEY,
    };
    asRun.stack.external = { database: `postgres://owner:${DB_PASSWORD}@db.internal:5432/audit` };
    r.scan = {
      ...(r.scan as NonNullable<typeof r.scan>),
      source: `postgres://auditlog:${DB_PASSWORD}@127.0.0.1:15432/auditlog`,
    };
    r.runtime.versions.signer = `ed25519 ${SIGNING_KEY_PEM}`;
    r.tamper.push({
      name: 'with-token',
      via: 'api',
      request: `DELETE /events/1 Authorization: Bearer ${BEARER}`,
      outcome: 'error',
      detail: `connect failed for postgres://owner:${DB_PASSWORD}@127.0.0.1/x; env ${ENV_SECRET}`,
    });
    (r.findings[0] as { message: string }).message = `missing; service said "password=${DB_PASSWORD}"`;
    r.faults[0] = {
      ...(r.faults[0] as (typeof r.faults)[number]),
      error: `toxiproxy at http://admin:${DB_PASSWORD}@127.0.0.1:8474`,
    };
    r.verdict.reasons.push(`could not read with token=${API_KEY}`);
    return r;
  }

  it('plants secrets in a report, writes every format and the index, and finds none in the folder', async () => {
    const r = plantedReport();
    await writeReport(path.join(dir, 'run'), r, { secrets: [ENV_SECRET] });
    await writeIndex(dir, [{ report: r, dir: path.join(dir, 'run') }], { secrets: [ENV_SECRET] });
    const files = (await readdir(dir, { recursive: true })).filter((f) => /\.(json|md|html|xml)$/.test(f));
    expect(files.sort()).toEqual([
      'index.html',
      'junit.xml',
      'run/junit.xml',
      'run/report.html',
      'run/report.json',
      'run/report.md',
    ]);
    for (const f of files) {
      const text = await readFile(path.join(dir, f), 'utf8');
      for (const secret of [
        DB_PASSWORD,
        BEARER,
        API_KEY,
        ENV_SECRET,
        'PRIVATE KEY',
        'MC4CAQAwBQYDK2VwBCIEIJ',
      ]) {
        expect({ file: f, leaked: text.includes(secret) ? secret : null }).toEqual({ file: f, leaked: null });
      }
    }
    // and the evidence around them survives
    const md = await readFile(path.join(dir, 'run/report.md'), 'utf8');
    expect(md).toContain('postgres://auditlog:***@127.0.0.1:15432/auditlog');
    expect(md).toContain('x-tenant');
  });

  it('redacts every terminal line: TTY view, plain log and JSON lines', () => {
    const r = plantedReport();
    const chunks: string[] = [];
    const stream = { write: (s: string) => chunks.push(s), isTTY: true, columns: 400 };
    const events = [
      { type: 'run-started', at: 0, runId: 'r', scenario: 'x', seed: 1, workloadMs: 1000 },
      { type: 'log', at: 1, level: 'warn', message: `DATABASE_URL=postgres://o:${DB_PASSWORD}@h/d` },
      { type: 'tamper-probed', at: 2, probe: r.tamper.at(-1) },
      { type: 'run-finished', at: 3, report: r, reportDir: 'reports/x', exitCode: 1 },
    ] as const;
    const sinks = [
      createTtyView({ stream, color: new Chalk({ level: 1 }), secrets: [ENV_SECRET] }),
      createPlainLog({ stream, secrets: [ENV_SECRET] }),
      createJsonLines({ stream, secrets: [ENV_SECRET] }),
    ];
    for (const s of sinks) {
      for (const ev of events) s.handle(ev as never);
      s.close();
    }
    const all = chunks.join('');
    expect(all).toContain('postgres://o:***@h/d');
    for (const secret of [DB_PASSWORD, BEARER, ENV_SECRET]) expect(all).not.toContain(secret);
  });
});
