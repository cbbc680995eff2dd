/** The HTTP source against a real server on loopback: GET /events?after=SEQ&limit=N pages. */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceEntries, toJsonLine } from '../../src/scan/generate.ts';
import { scanLog } from '../../src/scan/scan.ts';
import { httpSource } from '../../src/scan/sources/http.ts';
import type { LogEntry } from '../../src/scan/types.ts';
import { runCli } from '../helpers/cli.ts';

const log: LogEntry[] = [...referenceEntries({ count: 2500, payloadBytes: 8 })];
let stored: LogEntry[] = log;
let requests: string[] = [];
let shape: 'array' | 'object' = 'array';
let server: Server;
let base: string;

beforeAll(async () => {
  server = createServer((req, res) => {
    const u = new URL(req.url ?? '/', 'http://x');
    requests.push(u.search);
    if (u.pathname !== '/events') {
      res.writeHead(404).end();
      return;
    }
    const after = Number(u.searchParams.get('after') ?? 0);
    const limit = Math.min(Number(u.searchParams.get('limit') ?? 100), 1000); // the server caps pages
    const page = stored
      .filter((e) => e.seq > after)
      .slice(0, limit)
      .map((e) => JSON.parse(toJsonLine(e)));
    res.writeHead(200, { 'content-type': 'application/json' });
    res.end(JSON.stringify(shape === 'array' ? page : { events: page }));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});

afterAll(async () => {
  await new Promise((r) => server.close(r));
});

describe('HTTP source', () => {
  it('pages through the whole log by seq, even when the server caps the page size', async () => {
    requests = [];
    stored = log;
    const r = await scanLog({ source: httpSource({ url: `${base}/events`, pageSize: 2000 }) });
    expect(r.entries).toBe(2500);
    expect(r.findings).toEqual([]);
    expect(r.verdict.status).toBe('pass');
    expect(requests).toEqual([
      '?after=0&limit=2000',
      '?after=1000&limit=2000',
      '?after=2000&limit=2000',
      '?after=2500&limit=2000',
    ]);
  });

  it('accepts {events: [...]} pages and finds a deleted entry', async () => {
    shape = 'object';
    stored = log.filter((e) => e.seq !== 1234);
    const r = await scanLog({ source: httpSource({ url: `${base}/events`, pageSize: 500 }) });
    expect(r.findings.map((f) => `${f.kind}@${f.seq}`)).toEqual(['broken-chain@1235']);
    shape = 'array';
    stored = log;
  });

  it('an empty log is unknown; an endpoint that fails makes the verdict unknown with the reason', async () => {
    stored = [];
    expect((await scanLog({ source: httpSource({ url: `${base}/events` }) })).verdict.status).toBe('unknown');
    stored = log;
    const r = await scanLog({ source: httpSource({ url: `${base}/nope` }) });
    expect(r.verdict.status).toBe('unknown');
    expect(r.readError).toMatch(/404/);
  });

  it('auditchaos scan http://.../events --json', async () => {
    const res = await runCli(['scan', `${base}/events`, '--json']);
    expect(res.exitCode, res.stderr).toBe(0);
    expect(JSON.parse(res.stdout)).toMatchObject({ entries: 2500, verdict: 'pass' });
  });
});
