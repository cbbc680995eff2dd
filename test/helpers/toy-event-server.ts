/**
 * A trivial event sink on 127.0.0.1 for the workload driver's tests and bench. It can be told to
 * acknowledge (201 {seq}), reject (4xx), fail (5xx), hang, reset the socket, or fail a given
 * number of first attempts per event id; it keeps what it stored, and answers GET /checkpoint
 * (Ed25519-signed head) and GET /checkpoint/key like the reference service.
 */
import { createHash, generateKeyPairSync, sign } from 'node:crypto';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { jcs } from '../../src/scan/reference-chain.ts';

export type ToyMode =
  /** chunked: reply without content-length; close: reply with `connection: close`. */
  | { kind: 'ack'; status?: number; chunked?: boolean; close?: boolean }
  | { kind: 'status'; status: number }
  | { kind: 'hang' }
  | { kind: 'reset' }
  /** The first `failures` attempts of each event id get `status` (default 503), then ack. */
  | { kind: 'flaky'; failures: number; status?: number }
  /** Stores the event, then hangs: the writer times out though the write happened. */
  | { kind: 'store-then-hang' }
  /** Answers like `ack`, `ms` later. */
  | { kind: 'delay'; ms: number };

export interface ReceivedRequest {
  method: string;
  url: string;
  headers: Record<string, string | string[] | undefined>;
  body: Record<string, unknown>;
}

export interface StoredEvent {
  eventId: string;
  seq: number;
  body: Record<string, unknown>;
}

export interface ToyServer {
  url: string;
  port: number;
  mode: ToyMode;
  /** Every write received, stored or not (body parsed), in arrival order; only when record is on. */
  received: ReceivedRequest[];
  stored: Map<string, StoredEvent>;
  requests: number;
  close(): Promise<void>;
}

export async function startToyServer(
  opts: { mode?: ToyMode; record?: boolean; port?: number; keepAliveMs?: number } = {},
): Promise<ToyServer> {
  const record = opts.record !== false;
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const pem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const sockets = new Set<Socket>();
  const attemptsById = new Map<string, number>();
  let head = { seq: 0, hash: '0'.repeat(64) };

  const store = (eventId: string, body: Record<string, unknown>): StoredEvent => {
    const existing = toy.stored.get(eventId);
    if (existing) return existing;
    const seq = head.seq + 1;
    head = { seq, hash: createHash('sha256').update(head.hash).update(eventId).digest('hex') };
    const e = { eventId, seq, body };
    toy.stored.set(eventId, e);
    return e;
  };

  const reply = (res: ServerResponse, status: number, body: unknown) => {
    const text = JSON.stringify(body);
    res.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    res.end(text);
  };

  const onPost = (req: IncomingMessage, res: ServerResponse, raw: string) => {
    const mode = toy.mode;
    if (mode.kind === 'reset') {
      req.socket.destroy();
      return;
    }
    if (mode.kind === 'hang') return;
    if (!record && mode.kind === 'ack') {
      // Bench path: no parsing, a fixed small reply.
      head.seq++;
      const text = `{"seq":${head.seq}}`;
      res.writeHead(mode.status ?? 201, {
        'content-type': 'application/json',
        'content-length': text.length,
      });
      res.end(text);
      return;
    }
    let body: Record<string, unknown>;
    try {
      body = JSON.parse(raw) as Record<string, unknown>;
    } catch {
      return reply(res, 400, { error: 'body is not JSON' });
    }
    if (record)
      toy.received.push({ method: req.method ?? '', url: req.url ?? '', headers: req.headers, body });
    const eventId = String(body.event_id ?? body.eventId ?? req.url);
    if (mode.kind === 'status') return reply(res, mode.status, { error: `told to answer ${mode.status}` });
    if (mode.kind === 'flaky') {
      const n = (attemptsById.get(eventId) ?? 0) + 1;
      attemptsById.set(eventId, n);
      if (n <= mode.failures) return reply(res, mode.status ?? 503, { error: 'flaky' });
    }
    const e = store(eventId, body);
    if (mode.kind === 'store-then-hang') return;
    if (mode.kind === 'ack' && (mode.chunked || mode.close)) {
      const headers: Record<string, string> = { 'content-type': 'application/json' };
      if (mode.close) headers.connection = 'close';
      res.writeHead(mode.status ?? 201, headers);
      res.write('{"seq":');
      res.end(`${e.seq}}`);
      return;
    }
    if (mode.kind === 'delay') {
      setTimeout(() => reply(res, 201, { seq: e.seq }), mode.ms);
      return;
    }
    reply(res, mode.kind === 'ack' ? (mode.status ?? 201) : 201, { seq: e.seq });
  };

  const server = createServer((req, res) => {
    toy.requests++;
    if (req.method === 'GET' && req.url === '/checkpoint/key') {
      return reply(res, 200, { publicKey: pem, algorithm: 'ed25519' });
    }
    if (req.method === 'GET' && req.url === '/checkpoint') {
      const c = { seq: head.seq, hash: head.hash, ts: new Date().toISOString().replace('Z', '000Z') };
      const signature = sign(null, Buffer.from(jcs(c)), privateKey).toString('base64');
      return reply(res, 200, { ...c, signature });
    }
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => onPost(req, res, Buffer.concat(chunks).toString('utf8')));
  });
  server.keepAliveTimeout = opts.keepAliveMs ?? 30_000;
  server.on('connection', (s) => {
    sockets.add(s);
    s.on('close', () => sockets.delete(s));
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(opts.port ?? 0, '127.0.0.1', () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const toy: ToyServer = {
    url: `http://127.0.0.1:${port}`,
    port,
    mode: opts.mode ?? { kind: 'ack' },
    received: [],
    stored: new Map(),
    requests: 0,
    async close() {
      for (const s of sockets) s.destroy();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
  return toy;
}
