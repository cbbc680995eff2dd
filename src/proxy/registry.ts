/**
 * The proxies of one server and the operations of Toxiproxy's API on them, taking parsed JSON and
 * returning data or throwing ApiError (HTTP lives in api.ts). Mutations run one at a time, as
 * Toxiproxy's collection lock does, so that concurrent requests cannot interleave a start/stop.
 */
import {
  ApiError,
  badRequestBody,
  missingField,
  proxyAlreadyExists,
  proxyNotFound,
  toxicNotFound,
} from './api-error.ts';
import type { ConnectionEnv } from './connection.ts';
import { FaultProxy, type ProxyJson } from './proxy.ts';
import { parseToxicCreate, parseToxicUpdate, type Toxic } from './toxics.ts';

function goType(v: unknown): string {
  if (v === null) return 'null';
  if (Array.isArray(v)) return 'array';
  return typeof v === 'object' ? 'object' : typeof v;
}

/** Reads a proxy object the way Go decodes into toxiproxy.Proxy, `defaults` filling absent fields. */
export function parseProxyBody(raw: unknown, defaults: ProxyJson, goName = 'toxiproxy.Proxy'): ProxyJson {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    throw badRequestBody(`json: cannot unmarshal ${goType(raw)} into Go value of type ${goName}`);
  }
  const body = raw as Record<string, unknown>;
  const out = { ...defaults };
  for (const key of ['name', 'listen', 'upstream'] as const) {
    const v = body[key];
    if (v === undefined || v === null) continue;
    if (typeof v !== 'string') {
      throw badRequestBody(
        `json: cannot unmarshal ${goType(v)} into Go struct field Proxy.${key} of type string`,
      );
    }
    out[key] = v;
  }
  const enabled = body.enabled;
  if (enabled !== undefined && enabled !== null) {
    if (typeof enabled !== 'boolean') {
      throw badRequestBody(
        `json: cannot unmarshal ${goType(enabled)} into Go struct field Proxy.enabled of type bool`,
      );
    }
    out.enabled = enabled;
  }
  return out;
}

export class ProxyRegistry {
  private readonly proxies = new Map<string, FaultProxy>();
  private readonly env: ConnectionEnv;
  private queue: Promise<unknown> = Promise.resolve();

  constructor(env: ConnectionEnv) {
    this.env = env;
  }

  /** Runs `fn` after every mutation queued before it. */
  private serial<T>(fn: () => Promise<T> | T): Promise<T> {
    const run = this.queue.then(fn, fn);
    this.queue = run.catch(() => {});
    return run;
  }

  list(): FaultProxy[] {
    return [...this.proxies.values()];
  }

  get(name: string): FaultProxy {
    const p = this.proxies.get(name);
    if (!p) throw proxyNotFound();
    return p;
  }

  create(raw: unknown): Promise<FaultProxy> {
    return this.serial(async () => {
      const input = parseProxyBody(raw, { name: '', listen: '', upstream: '', enabled: true });
      if (input.name === '') throw missingField('name');
      if (input.upstream === '') throw missingField('upstream');
      if (this.proxies.has(input.name)) throw proxyAlreadyExists();
      const proxy = new FaultProxy(input, this.env);
      if (input.enabled) await proxy.start();
      this.proxies.set(proxy.name, proxy);
      return proxy;
    });
  }

  /**
   * POST /populate: validates every entry first, then adds or replaces each in turn (an identical
   * proxy is kept with its toxics and connections). On a failure, the proxies done so far are
   * returned with the error, as Toxiproxy does.
   */
  populate(raw: unknown): Promise<{ proxies: FaultProxy[]; error?: ApiError }> {
    return this.serial(async () => {
      if (!Array.isArray(raw)) {
        throw badRequestBody(
          `json: cannot unmarshal ${goType(raw)} into Go value of type []struct { toxiproxy.Proxy }`,
        );
      }
      const inputs = raw.map((r, i) => {
        const p = parseProxyBody(r, { name: '', listen: '', upstream: '', enabled: true });
        if (p.name === '') throw missingField(`name at proxy ${i + 1}`);
        if (p.upstream === '') throw missingField(`upstream at proxy ${i + 1}`);
        return p;
      });
      const done: FaultProxy[] = [];
      for (const input of inputs) {
        try {
          const existing = this.proxies.get(input.name);
          if (existing && !existing.differs(input.listen, input.upstream)) {
            done.push(existing);
            continue;
          }
          if (existing) await existing.stop();
          const proxy = new FaultProxy(input, this.env);
          if (input.enabled) await proxy.start();
          this.proxies.set(proxy.name, proxy);
          done.push(proxy);
        } catch (e) {
          if (e instanceof ApiError) return { proxies: done, error: e };
          throw e;
        }
      }
      return { proxies: done };
    });
  }

  /** POST|PATCH /proxies/{name}: listen, upstream and enabled merge into the proxy. */
  update(name: string, raw: unknown): Promise<FaultProxy> {
    return this.serial(async () => {
      const proxy = this.get(name);
      const input = parseProxyBody(raw, {
        name: proxy.name,
        listen: proxy.listen,
        upstream: proxy.upstream,
        enabled: proxy.enabled,
      });
      if (proxy.differs(input.listen, input.upstream)) {
        const wasEnabled = proxy.enabled;
        await proxy.stop();
        proxy.listen = input.listen;
        proxy.upstream = input.upstream;
        if (wasEnabled && input.enabled) await proxy.start();
      }
      if (input.enabled && !proxy.enabled) await proxy.start();
      if (!input.enabled && proxy.enabled) await proxy.stop();
      return proxy;
    });
  }

  remove(name: string): Promise<void> {
    return this.serial(async () => {
      const proxy = this.get(name);
      this.proxies.delete(name);
      await proxy.stop();
    });
  }

  /** POST /reset: every proxy enabled, every toxic removed. */
  reset(): Promise<void> {
    return this.serial(async () => {
      for (const p of this.proxies.values()) {
        await p.start();
        p.resetToxics();
      }
    });
  }

  addToxic(proxyName: string, raw: unknown): Promise<Toxic> {
    return this.serial(() => {
      const proxy = this.get(proxyName);
      const toxic = parseToxicCreate(raw, (n) => proxy.getToxic(n) !== undefined);
      proxy.addToxic(toxic);
      return toxic;
    });
  }

  getToxic(proxyName: string, toxicName: string): Toxic {
    const t = this.get(proxyName).getToxic(toxicName);
    if (!t) throw toxicNotFound();
    return t;
  }

  updateToxic(proxyName: string, toxicName: string, raw: unknown): Promise<Toxic> {
    return this.serial(() => {
      const proxy = this.get(proxyName);
      const current = proxy.getToxic(toxicName);
      if (!current) throw toxicNotFound();
      const next = parseToxicUpdate(current, raw);
      proxy.updateToxic(next);
      return next;
    });
  }

  removeToxic(proxyName: string, toxicName: string): Promise<void> {
    return this.serial(() => this.get(proxyName).removeToxic(toxicName));
  }

  /** Stops every proxy (server shutdown). */
  closeAll(): Promise<void> {
    return this.serial(async () => {
      await Promise.all([...this.proxies.values()].map((p) => p.stop()));
    });
  }
}
