/**
 * The built-in Toxiproxy-compatible server, embeddable: `startProxyServer()` listens for the HTTP
 * API and returns a handle whose close() stops every listener, connection and timer it started.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { EnvironmentError } from '../errors.ts';
import { apiHandler } from './api.ts';
import type { ProxyJson } from './proxy.ts';
import { joinHostPort } from './proxy.ts';
import { ProxyRegistry } from './registry.ts';

export interface ProxyServerOptions {
  /** API host; default 127.0.0.1. */
  host?: string;
  /** API port; default 8474 (Toxiproxy's), 0 for a free one. */
  port?: number;
  /** Aborting it closes the server, as close() does. */
  signal?: AbortSignal;
  /** Proxies to create at start, in Toxiproxy's populate format (the --config file). */
  proxies?: readonly Partial<ProxyJson>[];
  /** Where toxicity rolls, jitter and slice sizes come from; default Math.random. */
  random?: () => number;
  /**
   * Read sockets in large shared slabs (default true): much less CPU per byte; false falls back
   * to plain 'data' events (kept for comparison and as the path used where Node internals differ).
   */
  slabReads?: boolean;
  /** Called with unexpected (non-API) errors of request handlers; default: ignored (they answer 500). */
  onInternalError?: (e: unknown) => void;
}

export interface ProxyServer {
  /** Base URL of the API, e.g. http://127.0.0.1:8474 */
  url: string;
  host: string;
  port: number;
  /** The proxies as the API shows them (listen is the bound address). */
  proxies(): ProxyJson[];
  /** Open proxied connections over all proxies (for tests and leak checks). */
  connectionCount(): number;
  /** Stops the API and every proxy; closes every connection; clears every timer. Idempotent. */
  close(): Promise<void>;
}

export async function startProxyServer(opts: ProxyServerOptions = {}): Promise<ProxyServer> {
  const host = opts.host ?? '127.0.0.1';
  const port = opts.port ?? 8474;
  const registry = new ProxyRegistry({
    now: () => performance.now(),
    random: opts.random ?? Math.random,
    slabReads: opts.slabReads ?? true,
  });
  const server = http.createServer(
    { keepAliveTimeout: 60_000 },
    apiHandler(registry, opts.onInternalError ?? (() => {})),
  );
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new EnvironmentError(
          e.code === 'EADDRINUSE'
            ? `the proxy API port ${joinHostPort(host, port)} is already in use`
            : `the proxy API could not listen on ${joinHostPort(host, port)}: ${e.message}`,
          { hint: 'choose another --port, or stop what listens there (another Toxiproxy?)', cause: e },
        ),
      ),
    );
    server.listen({ host, port }, () => resolve());
  });
  const bound = server.address() as AddressInfo;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      opts.signal?.removeEventListener('abort', onAbort);
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      await registry.closeAll();
      await stopped;
    })();
    return closing;
  };
  const onAbort = () => void close();

  if (opts.proxies && opts.proxies.length > 0) {
    try {
      const { error } = await registry.populate(opts.proxies);
      if (error) throw error;
    } catch (e) {
      await close();
      throw new EnvironmentError(`could not create the configured proxies: ${(e as Error).message}`, {
        hint: 'check the listen addresses in the --config file (a port already in use?)',
        cause: e,
      });
    }
  }
  if (opts.signal?.aborted) await close();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  return {
    url: `http://${joinHostPort(bound.address, bound.port)}`,
    host: bound.address,
    port: bound.port,
    proxies: () =>
      registry
        .list()
        .map((p) => ({ name: p.name, listen: p.listen, upstream: p.upstream, enabled: p.enabled })),
    connectionCount: () => registry.list().reduce((n, p) => n + p.connectionCount, 0),
    close,
  };
}
