/**
 * One named proxy: a listener on `listen`, a connection to `upstream` per accepted client, and the
 * proxy's toxics, applied to new connections and to the ones already open.
 */
import net from 'node:net';
import { ApiError, toxicNotFound } from './api-error.ts';
import { Connection, type ConnectionEnv, newTrafficCounters, type TrafficCounters } from './connection.ts';
import { SlabReader } from './slab-reader.ts';
import { type StreamDirection, type Toxic, toxicJson } from './toxics.ts';

export interface ProxyJson {
  name: string;
  listen: string;
  upstream: string;
  enabled: boolean;
}

/** "host:port", "[v6]:port" or ":port" (all interfaces), as Go's net.SplitHostPort reads them. */
export function splitHostPort(addr: string): { host: string; port: number } | undefined {
  const m = /^(?:\[([^\]]*)\]|([^:]*)):(\d{1,5})$/.exec(addr);
  if (!m) return undefined;
  const port = Number(m[3]);
  if (port > 65535) return undefined;
  return { host: m[1] ?? m[2] ?? '', port };
}

/** Go's way of printing an address: IPv6 in brackets. */
export function joinHostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

const ANY = new Set(['', '0.0.0.0', '::']);
const LOOPBACK = new Set(['127.0.0.1', '::1']);

/**
 * Moves an accepted connection's TCP handle into a new Socket that reads through `reader`.
 * net.Server has no `onread` option, and slab reads cost about 40% less CPU per byte relayed
 * (bench/proxy.bench.ts), so this uses two Node internals that have been stable for years: the
 * socket's `_handle` and the constructor's `handle` option. Where they are missing, it returns
 * undefined and the caller keeps the plain socket.
 */
function adoptWithReader(raw: net.Socket, reader: SlabReader): net.Socket | undefined {
  const internal = raw as unknown as { _handle?: object | null };
  const handle = internal._handle;
  if (!handle || raw.destroyed || raw.readableLength > 0) return undefined;
  try {
    const adopted = new net.Socket({
      handle,
      allowHalfOpen: true,
      pauseOnCreate: true,
      onread: reader.onread,
    } as net.SocketConstructorOpts);
    internal._handle = null; // the old wrapper must not close the handle it no longer owns
    raw.destroy();
    return adopted;
  } catch {
    return undefined;
  }
}

export class FaultProxy {
  readonly name: string;
  listen: string;
  upstream: string;
  enabled = false;
  private server: net.Server | undefined;
  private readonly connections = new Set<Connection>();
  private readonly pending = new Set<net.Socket>();
  /** Upstream toxics first, then downstream, each in the order added (Toxiproxy's listing order). */
  private toxicList: Toxic[] = [];
  private readonly env: ConnectionEnv;
  /** Bytes carried since the proxy was created, across disable/enable. */
  readonly traffic: TrafficCounters = newTrafficCounters();
  /** Connections accepted since the proxy was created. */
  accepted = 0;

  constructor(cfg: { name: string; listen: string; upstream: string }, env: ConnectionEnv) {
    this.name = cfg.name;
    this.listen = cfg.listen;
    this.upstream = cfg.upstream;
    this.env = env;
  }

  toJSON(): ProxyJson & { toxics: Toxic[] } {
    return {
      name: this.name,
      listen: this.listen,
      upstream: this.upstream,
      enabled: this.enabled,
      toxics: this.toxics().map(toxicJson),
    };
  }

  toxics(): Toxic[] {
    const by = (s: StreamDirection) => this.toxicList.filter((t) => t.stream === s);
    return [...by('upstream'), ...by('downstream')];
  }

  getToxic(name: string): Toxic | undefined {
    return this.toxicList.find((t) => t.name === name);
  }

  /** Connections open now (accepted, upstream connected or not). */
  get connectionCount(): number {
    return this.connections.size + this.pending.size;
  }

  /** Listens; `listen` becomes the address actually bound. Refusals are Toxiproxy's 500s. */
  async start(): Promise<void> {
    if (this.enabled) return;
    const addr = splitHostPort(this.listen);
    if (!addr)
      throw new ApiError(`listen tcp ${this.listen}: address ${this.listen}: missing port in address`, 500);
    const server = net.createServer({ allowHalfOpen: true, pauseOnConnect: true }, (client) =>
      this.accept(client),
    );
    await new Promise<void>((resolve, reject) => {
      server.once('error', (e: NodeJS.ErrnoException) => {
        const why =
          e.code === 'EADDRINUSE'
            ? 'bind: address already in use'
            : e.code === 'EACCES'
              ? 'bind: permission denied'
              : e.code === 'ENOTFOUND' || e.code === 'EAI_AGAIN'
                ? `lookup ${addr.host}: no such host`
                : e.message;
        reject(new ApiError(`listen tcp ${this.listen}: ${why}`, 500));
      });
      server.listen({ host: addr.host === '' ? undefined : addr.host, port: addr.port }, () => resolve());
    });
    server.on('error', () => {}); // after listening, accept errors are per connection
    const bound = server.address() as net.AddressInfo;
    this.listen = joinHostPort(bound.address, bound.port);
    this.server = server;
    this.enabled = true;
  }

  /** Stops listening and closes every open connection. */
  async stop(): Promise<void> {
    if (!this.enabled) return;
    this.enabled = false;
    const server = this.server;
    this.server = undefined;
    const closed = new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve()));
    for (const c of [...this.connections]) c.destroy();
    for (const s of [...this.pending]) s.destroy();
    this.pending.clear();
    await closed;
  }

  /** Whether `listen`/`upstream` differ from this proxy's (a hostname equal to the bound address is the same). */
  differs(listen: string, upstream: string): boolean {
    if (upstream !== this.upstream) return true;
    if (listen === this.listen) return false;
    const a = splitHostPort(listen);
    const b = splitHostPort(this.listen);
    if (!a || !b) return true;
    if (a.port !== b.port) return true;
    if (a.host === b.host) return false;
    if (ANY.has(a.host) && ANY.has(b.host)) return false;
    return !(a.host === 'localhost' && LOOPBACK.has(b.host));
  }

  addToxic(t: Toxic): void {
    this.toxicList.push(t);
    for (const c of this.connections) c.linkFor(t.stream).addToxic(t);
  }

  updateToxic(t: Toxic): void {
    const i = this.toxicList.findIndex((x) => x.name === t.name);
    const before = this.toxicList[i];
    if (!before) throw toxicNotFound();
    this.toxicList[i] = t;
    for (const c of this.connections) c.linkFor(t.stream).updateToxic(t, before.toxicity !== t.toxicity);
  }

  removeToxic(name: string): void {
    const t = this.getToxic(name);
    if (!t) throw toxicNotFound();
    this.toxicList = this.toxicList.filter((x) => x !== t);
    for (const c of [...this.connections]) c.linkFor(t.stream).removeToxic(name);
  }

  resetToxics(): void {
    for (const t of this.toxics()) this.removeToxic(t.name);
  }

  private accept(client: net.Socket): void {
    if (!this.enabled) {
      client.destroy();
      return;
    }
    this.accepted++;
    this.pending.add(client);
    const addr = splitHostPort(this.upstream);
    const upstreamReader = this.env.slabReads ? new SlabReader() : undefined;
    const upstream = net.connect({
      host: addr?.host || 'localhost',
      port: addr?.port ?? 0,
      allowHalfOpen: true,
      ...(upstreamReader ? { onread: upstreamReader.onread } : {}),
    });
    const giveUp = () => {
      this.pending.delete(client);
      client.destroy();
      upstream.destroy();
    };
    // Until the upstream answers, the client's bytes wait in the kernel (pauseOnConnect).
    client.on('error', giveUp);
    client.on('close', giveUp);
    upstream.once('error', giveUp);
    upstream.once('connect', () => {
      client.off('error', giveUp);
      client.off('close', giveUp);
      upstream.off('error', giveUp);
      if (!this.pending.delete(client)) {
        upstream.destroy();
        return;
      }
      const clientReader = this.env.slabReads ? new SlabReader() : undefined;
      const adopted = clientReader ? adoptWithReader(client, clientReader) : undefined;
      const conn = new Connection(
        adopted ?? client,
        upstream,
        this.toxics(),
        this.env,
        (c) => this.connections.delete(c),
        { client: adopted ? clientReader : undefined, upstream: upstreamReader },
        this.traffic,
      );
      this.connections.add(conn);
      (adopted ?? client).resume();
    });
  }
}
