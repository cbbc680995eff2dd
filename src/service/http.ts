/** The HTTP API of the reference service (node:http): routing, validation, status codes. */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { FlawMode } from './flaws.ts';
import type { CheckpointSigner } from './signing.ts';
import {
  AppendConflictError,
  type AppendResult,
  type AuditStore,
  DbRejectedError,
  DbUnavailableError,
  type NewEvent,
} from './store.ts';

export const MAX_BODY_BYTES = 1024 * 1024;
export const MAX_FIELD_CHARS = 512;
export const DEFAULT_PAGE = 100;
export const MAX_PAGE = 1000;

export interface ApiDeps {
  store: AuditStore;
  signer: CheckpointSigner;
  flaws: FlawMode[];
  /** Undefined when ready; else why the service cannot serve yet (schema not migrated). */
  notReady: () => string | undefined;
  log: (line: string) => void;
  /** Called on a database error once the service is ready (the crash-on-db-error flaw exits there). */
  onDbError?: (e: Error) => void;
  /** Path of the health check; default /health (a foreign stack's tests serve /healthz). */
  healthPath?: string;
  /** What POST /events appends through; default the store (the late-visible flaw queues instead). */
  appender?: { append(ev: NewEvent): Promise<AppendResult> };
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(message);
  }
}

/** Checks a POST /events body; returns the event or the reason it is refused (HTTP 400). */
export function parseNewEvent(body: unknown): NewEvent | string {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return 'body must be a JSON object';
  const b = body as Record<string, unknown>;
  for (const key of ['event_id', 'actor', 'action'] as const) {
    const v = b[key];
    if (typeof v !== 'string' || v.trim() === '') return `${key} must be a non-empty string`;
    if (v.length > MAX_FIELD_CHARS) return `${key} is longer than ${MAX_FIELD_CHARS} characters`;
    if (v.includes('\u0000')) return `${key} must not contain NUL characters`;
  }
  if (!('payload' in b) || b.payload === undefined) return 'payload is required (any JSON value)';
  return {
    eventId: b.event_id as string,
    actor: b.actor as string,
    action: b.action as string,
    payload: b.payload,
  };
}

function send(
  res: ServerResponse,
  status: number,
  body: unknown,
  headers: Record<string, string> = {},
): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'content-length': Buffer.byteLength(text),
    'cache-control': 'no-store',
    ...headers,
  });
  res.end(text);
}

async function readJson(req: IncomingMessage): Promise<unknown> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > MAX_BODY_BYTES) throw new HttpError(413, `body larger than ${MAX_BODY_BYTES} bytes`);
    chunks.push(chunk as Buffer);
  }
  try {
    return JSON.parse(Buffer.concat(chunks).toString('utf8'));
  } catch {
    throw new HttpError(400, 'body is not valid JSON');
  }
}

function intParam(url: URL, name: string, def: number, min: number, max: number): number {
  const raw = url.searchParams.get(name);
  if (raw === null) return def;
  if (!/^\d+$/.test(raw)) throw new HttpError(400, `${name} must be a non-negative integer`);
  const n = Number(raw);
  if (n < min || n > max) throw new HttpError(400, `${name} must be between ${min} and ${max}`);
  return n;
}

export function createHandler(deps: ApiDeps): (req: IncomingMessage, res: ServerResponse) => void {
  const apiDelete = deps.flaws.includes('api-delete');
  const requireReady = () => {
    const why = deps.notReady();
    if (why) throw new HttpError(503, why, { 'retry-after': '1' });
  };

  const route = async (req: IncomingMessage, res: ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://localhost');
    const method = req.method ?? 'GET';
    const p = url.pathname.replace(/\/+$/, '') || '/';
    const idMatch = /^\/events\/([^/]+)$/.exec(p);

    if (p === '/events') {
      if (method === 'POST') {
        const ev = parseNewEvent(await readJson(req));
        if (typeof ev === 'string') throw new HttpError(400, ev);
        requireReady();
        const r = await (deps.appender ?? deps.store).append(ev);
        const e = r.entry;
        return send(res, r.status, {
          seq: e.seq,
          event_id: e.event_id,
          hash: e.hash,
          prev_hash: e.prev_hash,
          ts: e.ts,
        });
      }
      if (method === 'GET' || method === 'HEAD') {
        const after = intParam(url, 'after', 0, 0, Number.MAX_SAFE_INTEGER);
        const limit = intParam(url, 'limit', DEFAULT_PAGE, 1, MAX_PAGE);
        requireReady();
        const events = await deps.store.list(after, limit);
        const last = events.at(-1);
        return send(res, 200, { events, next_after: events.length === limit && last ? last.seq : null });
      }
      throw appendOnly(method, 'GET, POST');
    }
    if (idMatch) {
      const eventId = decodeURIComponent(idMatch[1]!);
      if (method === 'GET' || method === 'HEAD') {
        requireReady();
        const found = await deps.store.byEventId(eventId);
        if (found.length === 0) throw new HttpError(404, `no event ${eventId}`);
        return send(res, 200, found[0]);
      }
      if (method === 'DELETE' && apiDelete) {
        requireReady();
        const n = await deps.store.delete(eventId);
        if (n === 0) throw new HttpError(404, `no event ${eventId}`);
        return send(res, 200, { deleted: n, event_id: eventId });
      }
      throw appendOnly(method, 'GET');
    }
    if (p === '/checkpoint' && (method === 'GET' || method === 'HEAD')) {
      requireReady();
      return send(res, 200, deps.signer.sign(await deps.store.head()));
    }
    if (p === '/checkpoint/key' && (method === 'GET' || method === 'HEAD')) {
      return send(res, 200, { publicKey: deps.signer.publicKeyPem, algorithm: 'ed25519' });
    }
    const healthPath = deps.healthPath ?? '/health';
    if (p === healthPath && (method === 'GET' || method === 'HEAD')) {
      const why = deps.notReady();
      if (why) return send(res, 503, { status: 'unavailable', reason: why, flaws: deps.flaws });
      try {
        await deps.store.ping();
      } catch (e) {
        deps.onDbError?.(e as Error);
        return send(res, 503, { status: 'unavailable', reason: (e as Error).message, flaws: deps.flaws });
      }
      return send(res, 200, { status: 'ok', flaws: deps.flaws });
    }
    if (['/checkpoint', '/checkpoint/key', healthPath].includes(p)) throw appendOnly(method, 'GET');
    throw new HttpError(404, `no route ${method} ${p}`);
  };

  return (req, res) => {
    route(req, res).catch((e: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (e instanceof HttpError) return send(res, e.status, { error: e.message }, e.headers);
      if (e instanceof DbUnavailableError) {
        deps.log(`503 ${req.method} ${req.url}: ${e.message}`);
        deps.onDbError?.(e);
        return send(res, 503, { error: 'database unavailable', detail: e.message }, { 'retry-after': '1' });
      }
      if (e instanceof DbRejectedError) return send(res, 400, { error: e.message });
      if (e instanceof AppendConflictError) {
        deps.log(`409 ${req.method} ${req.url}: ${e.message}`);
        return send(res, 409, { error: 'append conflict', detail: e.message });
      }
      deps.log(`500 ${req.method} ${req.url}: ${(e as Error).stack ?? String(e)}`);
      send(res, 500, { error: 'internal error', detail: (e as Error).message });
    });
  };
}

function appendOnly(method: string, allow: string): HttpError {
  return new HttpError(405, `${method} is not allowed: the audit log is append-only`, { allow });
}
