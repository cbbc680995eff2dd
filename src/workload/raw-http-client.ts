/**
 * The writers' default HTTP/1.1 client: one keep-alive socket per writer, each request written
 * in one piece, responses parsed by http-parser-js (the parser autocannon uses). It is leaner
 * per request than a general client (bench/workload.bench.ts measures it against autocannon),
 * and it knows whether a request's bytes were handed to a connected socket, which the outcome
 * rules need: a refused or unreachable connection means nothing was sent (definite failure),
 * a reset after sending means the service may have stored it (indeterminate).
 */
import net from 'node:net';
import tls from 'node:tls';
import { HTTPParser } from 'http-parser-js';
import type { HttpClient, HttpReply, HttpRequest } from './http-client.ts';
import { transportErrorOf } from './outcome.ts';

const MAX_REPLY_BODY = 65_536; // enough for a seq; longer bodies are read and dropped

interface Pending {
  resolve: (r: HttpReply) => void;
  status: number;
  body: Buffer[];
  bodyBytes: number;
  keepAlive: boolean;
}

class Connection {
  readonly socket: net.Socket;
  private readonly parser = new HTTPParser(HTTPParser.RESPONSE);
  private connected = false;
  private sent = false;
  pending: Pending | undefined;
  closed = false;

  constructor(
    url: URL,
    private readonly onIdle: (c: Connection) => void,
    private readonly onGone: (c: Connection) => void,
  ) {
    const port = Number(url.port || (url.protocol === 'https:' ? 443 : 80));
    const host = url.hostname.replace(/^\[|\]$/g, '');
    this.socket =
      url.protocol === 'https:'
        ? tls.connect({ host, port, ...(net.isIP(host) ? {} : { servername: host }) })
        : net.connect({ host, port, noDelay: true });
    this.socket.setNoDelay(true);
    this.socket.once(url.protocol === 'https:' ? 'secureConnect' : 'connect', () => {
      this.connected = true;
      if (this.pending) this.sent = true;
    });
    this.parser[HTTPParser.kOnHeadersComplete] = (info) => {
      const p = this.pending;
      if (p) {
        p.status = info.statusCode;
        p.keepAlive = info.shouldKeepAlive;
      }
    };
    this.parser[HTTPParser.kOnBody] = (chunk: Buffer, offset: number, length: number) => {
      const p = this.pending;
      if (p && p.bodyBytes < MAX_REPLY_BODY) {
        p.body.push(chunk.subarray(offset, offset + length));
        p.bodyBytes += length;
      }
    };
    this.parser[HTTPParser.kOnMessageComplete] = () => {
      const p = this.pending;
      if (!p || p.status < 200) return; // 1xx: the real reply follows
      this.pending = undefined;
      this.sent = false;
      const body = p.body.length === 1 ? (p.body[0] as Buffer).toString() : Buffer.concat(p.body).toString();
      p.resolve({ status: p.status, body });
      if (p.keepAlive) this.onIdle(this);
      else this.destroy();
    };
    this.socket.on('data', (chunk: Buffer) => {
      const r = this.parser.execute(chunk);
      if (r instanceof Error) this.fail('other', `unparseable reply: ${r.message}`);
    });
    this.socket.on('error', (e: NodeJS.ErrnoException) => {
      const kind = transportErrorOf(e.code, e.name);
      // Nothing was handed to a connected socket: the service cannot have seen it.
      const error = this.connected && this.sent ? kind : kind === 'refused' ? 'refused' : 'unreachable';
      this.fail(error, `${e.code ?? e.name}: ${e.message}`);
    });
    this.socket.on('close', () => {
      if (this.pending && this.parser.finish instanceof Function) {
        try {
          this.parser.finish(); // a reply delimited by the connection's end completes here
        } catch {}
      }
      this.fail(
        this.connected && this.sent ? 'reset' : 'refused',
        'connection closed before a complete reply',
      );
    });
  }

  // One timer per connection, restarted per request (refresh() allocates nothing); unref'd, as
  // a request in flight keeps the socket, and so the process, alive anyway.
  private timer: NodeJS.Timeout | undefined;
  private timerMs = 0;
  private readonly onTimer = () => {
    if (!this.pending) return; // the request it was armed for has completed
    if (this.connected) this.fail('timeout', `no complete reply within ${this.timerMs} ms`);
    else this.fail('unreachable', `could not connect within ${this.timerMs} ms`);
  };

  send(text: string, timeoutMs: number): Promise<HttpReply> {
    return new Promise<HttpReply>((resolve) => {
      if (this.timer === undefined || this.timerMs !== timeoutMs) {
        clearTimeout(this.timer);
        this.timerMs = timeoutMs;
        this.timer = setTimeout(this.onTimer, timeoutMs).unref();
      } else this.timer.refresh();
      this.pending = { resolve, status: 0, body: [], bodyBytes: 0, keepAlive: true };
      if (this.connected) this.sent = true;
      this.socket.write(text);
    });
  }

  fail(error: Extract<HttpReply, { error: string }>['error'], message: string): void {
    const p = this.pending;
    this.pending = undefined;
    if (p) p.resolve({ error, message });
    this.destroy();
  }

  destroy(): void {
    if (this.closed) return;
    this.closed = true;
    clearTimeout(this.timer);
    this.socket.destroy();
    this.onGone(this);
  }
}

function requestText(host: string, prefix: string, req: HttpRequest): string {
  const body = req.body ?? '';
  let head = `${req.method} ${prefix}${req.path} HTTP/1.1\r\nhost: ${host}\r\ncontent-length: ${Buffer.byteLength(body)}\r\n`;
  for (const k in req.headers) {
    const lk = k.toLowerCase();
    if (lk === 'host' || lk === 'content-length' || lk === 'connection') continue;
    head += `${k}: ${req.headers[k]}\r\n`;
  }
  return `${head}\r\n${body}`;
}

export function createRawHttpClient(opts: { baseUrl: string; connections: number }): HttpClient {
  const url = new URL(opts.baseUrl);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new TypeError(`not an http(s) URL: ${opts.baseUrl}`);
  const prefix = url.pathname.replace(/\/+$/, '');
  const host = url.host;
  const idle: Connection[] = [];
  const all = new Set<Connection>();
  const waiting: ((c: Connection) => void)[] = [];
  let closed = false;

  const onIdle = (c: Connection) => {
    const w = waiting.shift();
    if (w) w(c);
    else idle.push(c);
  };
  const onGone = (c: Connection) => {
    all.delete(c);
    const i = idle.indexOf(c);
    if (i >= 0) idle.splice(i, 1);
    // A writer waiting for a connection gets a fresh one in its place.
    if (waiting.length > 0 && !closed) (waiting.shift() as (c: Connection) => void)(open());
  };
  const open = () => {
    const c = new Connection(url, onIdle, onGone);
    all.add(c);
    return c;
  };
  const acquire = (): Connection | Promise<Connection> => {
    const c = idle.pop();
    if (c) return c;
    if (all.size < opts.connections) return open();
    return new Promise((resolve) => waiting.push(resolve));
  };

  return {
    send(req, timeoutMs) {
      const text = requestText(host, prefix, req);
      const got = acquire();
      return got instanceof Connection ? got.send(text, timeoutMs) : got.then((c) => c.send(text, timeoutMs));
    },
    abortAll() {
      for (const c of [...all]) if (c.pending) c.fail('aborted', 'aborted');
    },
    async close() {
      closed = true;
      for (const c of [...all]) c.destroy();
    },
  };
}
