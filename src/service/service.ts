/**
 * startService: the HTTP server, the store, the signer, and the start-up loop that migrates (when
 * given a superuser URL) until the database answers. It listens at once: a database that is down
 * at start makes /health answer 503 until it is up, never a crash.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { EnvironmentError } from '../errors.ts';
import { redactUrl } from '../redact-url.ts';
import type { FlawMode } from './flaws.ts';
import { createHandler } from './http.ts';
import { LATE_VISIBLE_DEFAULT_MS, LateVisibleQueue } from './late-visible.ts';
import { migrate } from './migrate.ts';
import { CheckpointSigner } from './signing.ts';
import { AuditStore } from './store.ts';

export interface ServiceOptions {
  host?: string;
  /** Health check path (AUDITLOG_HEALTH_PATH); default /health. */
  healthPath?: string;
  port?: number;
  /** The writer role's connection (in the real stack it goes through the `db` fault proxy). */
  databaseUrl: string;
  /** A superuser connection: when given, the schema is migrated at start (retried until it works). */
  adminUrl?: string;
  flaws?: FlawMode[];
  signingKeyPath?: string;
  /** Bound on every database operation; default 2000 ms. */
  dbTimeoutMs?: number;
  ownerPassword?: string;
  writerPassword?: string;
  poolSize?: number;
  signal?: AbortSignal;
  log?: (line: string) => void;
  /** late-visible: ms between the ack and the append (default LATE_VISIBLE_DEFAULT_MS). */
  lateVisibleMs?: number;
  /** The service gave up (the crash-on-db-error flaw): the process hosting it should exit non-zero. */
  onFatal?: (reason: string) => void;
}

export interface RunningService {
  url: string;
  port: number;
  close(): Promise<void>;
}

export async function startService(opts: ServiceOptions): Promise<RunningService> {
  const log = opts.log ?? (() => undefined);
  const flaws = opts.flaws ?? [];
  const host = opts.host ?? '127.0.0.1';
  const dbTimeoutMs = opts.dbTimeoutMs ?? 2000;
  const signer = opts.signingKeyPath
    ? await CheckpointSigner.fromFile(opts.signingKeyPath)
    : CheckpointSigner.ephemeral();
  const store = new AuditStore({
    databaseUrl: opts.databaseUrl,
    flaws,
    dbTimeoutMs,
    poolSize: opts.poolSize,
    log,
  });

  const late = flaws.includes('late-visible')
    ? new LateVisibleQueue(store, opts.lateVisibleMs ?? LATE_VISIBLE_DEFAULT_MS, log)
    : undefined;
  const stop = new AbortController();
  let notReady: string | undefined = opts.adminUrl ? 'schema migration has not completed yet' : undefined;
  let crashed = false;
  const onDbError = flaws.includes('crash-on-db-error')
    ? (e: Error) => {
        if (crashed || notReady !== undefined) return;
        crashed = true;
        log(`crash-on-db-error: exiting on the first database error: ${e.message}`);
        opts.onFatal?.(`database error: ${e.message}`);
      }
    : undefined;
  const server: Server = createServer(
    createHandler({
      store,
      signer,
      flaws,
      notReady: () => notReady,
      log,
      ...(onDbError ? { onDbError } : {}),
      ...(late ? { appender: late } : {}),
      ...(opts.healthPath ? { healthPath: opts.healthPath } : {}),
    }),
  );
  server.keepAliveTimeout = 5_000;

  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) =>
      reject(
        new EnvironmentError(`cannot listen on ${host}:${opts.port ?? 0}: ${e.code ?? e.message}`, {
          hint:
            e.code === 'EADDRINUSE'
              ? 'another process holds the port: pick another with --listen'
              : undefined,
          cause: e,
        }),
      ),
    );
    server.listen(opts.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  const migrating = (async () => {
    if (!opts.adminUrl) return;
    let delay = 250;
    for (let attempt = 1; !stop.signal.aborted; attempt++) {
      try {
        await migrate(opts.adminUrl, {
          flaws,
          ownerPassword: opts.ownerPassword,
          writerPassword: opts.writerPassword,
          timeoutMs: Math.max(dbTimeoutMs, 2000),
        });
        notReady = undefined;
        log(
          `schema migrated at ${redactUrl(opts.adminUrl)}${flaws.length ? ` (flaws: ${flaws.join(', ')})` : ''}`,
        );
        return;
      } catch (e) {
        notReady = `schema migration failing: ${(e as Error).message}`;
        if (attempt === 1 || attempt % 10 === 0) {
          log(`migration attempt ${attempt} failed, retrying: ${(e as Error).message}`);
        }
      }
      await new Promise((r) => {
        const t = setTimeout(r, delay);
        stop.signal.addEventListener('abort', () => {
          clearTimeout(t);
          r(undefined);
        });
      });
      delay = Math.min(delay * 2, 5000);
    }
  })();

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      stop.abort();
      opts.signal?.removeEventListener('abort', onAbort);
      const closed = new Promise<void>((r) => server.close(() => r()));
      server.closeIdleConnections();
      // Requests under way finish within their DB deadline; then whatever is left is cut.
      const force = setTimeout(() => server.closeAllConnections(), dbTimeoutMs + 500);
      await closed;
      clearTimeout(force);
      await migrating;
      await late?.close();
      await store.close();
    })();
    return closing;
  };
  const onAbort = () => void close();
  if (opts.signal?.aborted) await close();
  else opts.signal?.addEventListener('abort', onAbort, { once: true });

  log(`auditlog listening on ${url}`);
  return { url, port, close };
}
