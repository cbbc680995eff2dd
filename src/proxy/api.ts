/**
 * Toxiproxy's HTTP API over node:http: the same paths, methods, status codes and bodies as
 * Toxiproxy 2.x (proxy create 201, toxic create 200, deletes and /reset 204, unknown paths 404
 * "404 page not found", wrong methods 405, errors `{"error": "...", "status": N}`).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { ApiError, badRequestBody } from './api-error.ts';
import type { ProxyRegistry } from './registry.ts';
import { toxicJson } from './toxics.ts';

/** The Toxiproxy release whose API this server follows; the suffix says who answers. */
export const TOXIPROXY_API_VERSION = '2.12.0';
export const SERVER_VERSION = `${TOXIPROXY_API_VERSION}+auditchaos`;

const MAX_BODY = 1 << 20;

type Handler = (reg: ProxyRegistry, params: string[], body: () => Promise<unknown>) => Promise<Reply>;
interface Reply {
  status: number;
  json?: unknown;
  /** A plain-text body (the Prometheus exposition of /metrics). */
  text?: string;
}

interface Route {
  pattern: RegExp;
  methods: Record<string, Handler>;
}

const ok = (json: unknown): Reply => ({ status: 200, json });
const noContent = async (p: Promise<void>): Promise<Reply> => {
  await p;
  return { status: 204 };
};

const routes: Route[] = [
  {
    pattern: /^\/reset$/,
    methods: { POST: (r) => noContent(r.reset()) },
  },
  {
    pattern: /^\/proxies$/,
    methods: {
      GET: async (r) => ok(Object.fromEntries(r.list().map((p) => [p.name, p.toJSON()]))),
      POST: async (r, _, body) => ({ status: 201, json: (await r.create(await body())).toJSON() }),
    },
  },
  {
    pattern: /^\/populate$/,
    methods: {
      POST: async (r, _, body) => {
        let input: unknown;
        try {
          input = await body();
        } catch (e) {
          if (e instanceof ApiError) return { status: e.status, json: { ...e.toJSON(), proxies: null } };
          throw e;
        }
        try {
          const { proxies, error } = await r.populate(input);
          const list = proxies.map((p) => p.toJSON());
          if (error) return { status: error.status, json: { ...error.toJSON(), proxies: list } };
          return { status: 201, json: { proxies: list } };
        } catch (e) {
          if (e instanceof ApiError) return { status: e.status, json: { ...e.toJSON(), proxies: null } };
          throw e;
        }
      },
    },
  },
  {
    pattern: /^\/proxies\/([^/]+)$/,
    methods: {
      GET: async (r, [name]) => ok(r.get(name as string).toJSON()),
      POST: async (r, [name], body) => ok((await r.update(name as string, await body())).toJSON()),
      PATCH: async (r, [name], body) => ok((await r.update(name as string, await body())).toJSON()),
      DELETE: (r, [name]) => noContent(r.remove(name as string)),
    },
  },
  {
    pattern: /^\/proxies\/([^/]+)\/toxics$/,
    methods: {
      GET: async (r, [name]) =>
        ok(
          r
            .get(name as string)
            .toxics()
            .map(toxicJson),
        ),
      POST: async (r, [name], body) => ok(toxicJson(await r.addToxic(name as string, await body()))),
    },
  },
  {
    pattern: /^\/proxies\/([^/]+)\/toxics\/([^/]+)$/,
    methods: {
      GET: async (r, [p, t]) => ok(toxicJson(r.getToxic(p as string, t as string))),
      POST: async (r, [p, t], body) =>
        ok(toxicJson(await r.updateToxic(p as string, t as string, await body()))),
      PATCH: async (r, [p, t], body) =>
        ok(toxicJson(await r.updateToxic(p as string, t as string, await body()))),
      DELETE: (r, [p, t]) => noContent(r.removeToxic(p as string, t as string)),
    },
  },
  {
    pattern: /^\/metrics$/,
    methods: { GET: async (r) => ({ status: 200, text: metricsText(r) }) },
  },
  {
    pattern: /^\/version$/,
    methods: { GET: async () => ({ status: 200, json: { version: SERVER_VERSION } }) },
  },
];

const label = (v: string) => v.replace(/\\/g, '\\\\').replace(/"/g, '\\"').replace(/\n/g, '\\n');

/**
 * GET /metrics in the Prometheus text format. The byte counters have the names and labels of
 * Toxiproxy's own (`toxiproxy -proxy-metrics`), so one reader serves both; the connection counters
 * are this server's addition (real Toxiproxy has none): auditchaos uses them to tell whether a
 * fault's proxy carried any traffic while it was active.
 */
export function metricsText(reg: ProxyRegistry): string {
  const L: string[] = [];
  const proxies = reg.list();
  const family = (name: string, type: string, help: string, rows: [string, number][]) => {
    L.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`);
    for (const [labels, v] of rows) L.push(`${name}{${labels}} ${v}`);
  };
  const byDirection = (pick: (p: (typeof proxies)[number]) => Record<string, number>) =>
    proxies.flatMap((p) =>
      (['downstream', 'upstream'] as const).map<[string, number]>((d) => [
        `direction="${d}",listener="${label(p.listen)}",proxy="${label(p.name)}",upstream="${label(p.upstream)}"`,
        pick(p)[d] ?? 0,
      ]),
    );
  family(
    'toxiproxy_proxy_received_bytes_total',
    'counter',
    'The number of bytes received from the client (upstream) or the server (downstream)',
    byDirection((p) => p.traffic.received),
  );
  family(
    'toxiproxy_proxy_sent_bytes_total',
    'counter',
    'The number of bytes sent on to the server (upstream) or the client (downstream)',
    byDirection((p) => p.traffic.sent),
  );
  family(
    'toxiproxy_proxy_connections_total',
    'counter',
    'Connections accepted by the proxy (auditchaos built-in proxy only)',
    proxies.map((p) => [`proxy="${label(p.name)}"`, p.accepted]),
  );
  family(
    'toxiproxy_proxy_connections_open',
    'gauge',
    'Connections open through the proxy now (auditchaos built-in proxy only)',
    proxies.map((p) => [`proxy="${label(p.name)}"`, p.connectionCount]),
  );
  return `${L.join('\n')}\n`;
}

function readJson(req: IncomingMessage): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (c: Buffer) => {
      size += c.length;
      if (size > MAX_BODY) {
        reject(badRequestBody(`larger than ${MAX_BODY} bytes`));
        req.destroy();
        return;
      }
      chunks.push(c);
    });
    req.on('error', reject);
    req.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      if (text.trim() === '') {
        reject(badRequestBody('EOF'));
        return;
      }
      try {
        resolve(JSON.parse(text));
      } catch (e) {
        reject(badRequestBody((e as Error).message));
      }
    });
  });
}

function send(res: ServerResponse, status: number, body: string | undefined, type: string): void {
  if (res.headersSent || res.destroyed) return;
  const headers: Record<string, string | number> = {};
  if (body !== undefined) {
    headers['Content-Type'] = type;
    headers['Content-Length'] = Buffer.byteLength(body);
  }
  res.writeHead(status, headers);
  res.end(body);
}

/** The request listener of the API server. Never throws: every failure is an answer. */
export function apiHandler(reg: ProxyRegistry, onInternalError: (e: unknown) => void) {
  return (req: IncomingMessage, res: ServerResponse): void => {
    // Toxiproxy refuses browsers, so that a web page cannot drive the proxy (DNS rebinding).
    if ((req.headers['user-agent'] ?? '').startsWith('Mozilla/')) {
      send(res, 403, 'User agent not allowed\n', 'text/plain; charset=utf-8');
      return;
    }
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    let route: Route | undefined;
    let params: string[] = [];
    for (const r of routes) {
      const m = r.pattern.exec(path);
      if (m) {
        route = r;
        try {
          params = m.slice(1).map((s) => decodeURIComponent(s));
        } catch {
          params = m.slice(1);
        }
        break;
      }
    }
    if (!route) {
      send(res, 404, '404 page not found\n', 'text/plain; charset=utf-8');
      return;
    }
    const handler = route.methods[req.method ?? ''];
    if (!handler) {
      send(res, 405, undefined, '');
      return;
    }
    handler(reg, params, () => readJson(req)).then(
      (reply) => {
        if (reply.text !== undefined)
          send(res, reply.status, reply.text, 'text/plain; version=0.0.4; charset=utf-8');
        else if (reply.json === undefined) send(res, reply.status, undefined, '');
        else send(res, reply.status, JSON.stringify(reply.json), 'application/json');
        if (!req.complete) req.resume();
      },
      (e: unknown) => {
        if (e instanceof ApiError) {
          send(res, e.status, `${JSON.stringify(e.toJSON())}\n`, 'application/json');
          return;
        }
        onInternalError(e);
        const msg = e instanceof Error ? e.message : String(e);
        send(res, 500, `${JSON.stringify({ error: msg, status: 500 })}\n`, 'application/json');
      },
    );
  };
}
