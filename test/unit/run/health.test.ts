/** The run's health check asks the path and statuses the stack names (StackEndpoints.healthPath/healthStatus). */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkHealth, healthTarget } from '../../../src/run/health.ts';

let srv: http.Server;
let base: string;
const asked: string[] = [];

beforeAll(async () => {
  srv = http.createServer((req, res) => {
    asked.push(req.url ?? '');
    res.writeHead(req.url === '/healthz' ? 204 : 404);
    res.end();
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => srv.close(() => r())));

describe('checkHealth', () => {
  const ep = (over: object) => ({
    toxiproxyUrl: 'x',
    serviceUrl: 'http://127.0.0.1:1',
    serviceDirectUrl: base,
    proxies: {},
    ...over,
  });

  it('defaults to GET /health on the direct URL, any 2xx', async () => {
    expect(healthTarget(ep({}))).toEqual({ url: `${base}/health` });
    expect(await checkHealth(ep({}), new AbortController().signal)).toEqual({
      ok: false,
      detail: `${base}/health answered HTTP 404`,
    });
  });

  it('asks healthPath, and only healthStatus counts as healthy', async () => {
    expect(await checkHealth(ep({ healthPath: '/healthz' }), new AbortController().signal)).toEqual({
      ok: true,
    });
    expect(
      await checkHealth(ep({ healthPath: '/healthz', healthStatus: [204] }), new AbortController().signal),
    ).toEqual({
      ok: true,
    });
    expect(
      await checkHealth(ep({ healthPath: '/healthz', healthStatus: [200] }), new AbortController().signal),
    ).toEqual({
      ok: false,
      detail: `${base}/healthz answered HTTP 204`,
    });
    expect(asked).toContain('/healthz');
  });
});
