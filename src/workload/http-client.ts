/**
 * The writers' HTTP adapter: an undici Pool (keep-alive, one connection per writer) behind our
 * own small interface. Every request is bounded as a whole (connect, headers and body) by one
 * timer; failures come back as values in our vocabulary, never as undici types.
 */
import { Pool } from 'undici';
import { type TransportError, transportErrorOf } from './outcome.ts';

export interface HttpRequest {
  method: string;
  /** Path and query, appended to the base URL's own path. */
  path: string;
  headers: Record<string, string>;
  body?: string;
}

export type HttpReply =
  | { status: number; body: string; error?: undefined }
  | { status?: undefined; error: TransportError; message: string };

export interface HttpClient {
  send(req: HttpRequest, timeoutMs: number): Promise<HttpReply>;
  /** Aborts every request in flight (they come back as `aborted`). */
  abortAll(): void;
  close(): Promise<void>;
}

const TIMEOUT = Symbol('timeout');

function errorCode(e: unknown): { code?: string; name?: string; message: string } {
  const err = e as { code?: string; name?: string; message?: string; cause?: { code?: string } };
  const code = err?.code === 'UND_ERR_SOCKET' && err.cause?.code ? err.cause.code : err?.code;
  return { code: code ?? err?.cause?.code, name: err?.name, message: String(err?.message ?? e) };
}

export function createHttpClient(opts: {
  baseUrl: string;
  connections: number;
  timeoutMs: number;
}): HttpClient {
  const url = new URL(opts.baseUrl);
  const prefix = url.pathname.replace(/\/+$/, '');
  const pool = new Pool(url.origin, {
    connections: opts.connections,
    pipelining: 1,
    connectTimeout: opts.timeoutMs,
    // Our own timer bounds the whole request; these are only a backstop.
    headersTimeout: opts.timeoutMs + 5000,
    bodyTimeout: opts.timeoutMs + 5000,
    keepAliveTimeout: 10_000,
  });
  const inFlight = new Set<AbortController>();

  return {
    async send(req, timeoutMs) {
      const ac = new AbortController();
      const timer = setTimeout(() => ac.abort(TIMEOUT), timeoutMs);
      inFlight.add(ac);
      try {
        const res = await pool.request({
          path: prefix + req.path,
          method: req.method as 'POST',
          headers: req.headers,
          body: req.body,
          signal: ac.signal,
        });
        const body = await res.body.text();
        return { status: res.statusCode, body };
      } catch (e) {
        const { code, name, message } = errorCode(e);
        if (ac.signal.aborted) {
          return ac.signal.reason === TIMEOUT
            ? { error: 'timeout', message: `no complete reply within ${timeoutMs} ms` }
            : { error: 'aborted', message: 'aborted' };
        }
        const error = transportErrorOf(code, name);
        return { error, message: code ? `${code}: ${message}` : message };
      } finally {
        clearTimeout(timer);
        inFlight.delete(ac);
      }
    },
    abortAll() {
      for (const ac of inFlight) ac.abort();
    },
    async close() {
      await pool.destroy();
    },
  };
}
