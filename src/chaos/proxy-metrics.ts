/**
 * Reads a proxy server's traffic counters from GET /metrics (Prometheus text): the built-in
 * proxy's, or real Toxiproxy's when it runs with `-proxy-metrics` (bytes only; it counts no
 * connections). Without counters the answer is undefined: the effect is unknown, never zero.
 */
import type { ProxyCounters } from './fault-effect.ts';

export interface TrafficMeter {
  /** The proxy's counters now, or undefined when the server has none for it. */
  read(proxy: string): Promise<ProxyCounters | undefined>;
}

const SAMPLE = /^([a-z_]+)\{([^}]*)\}\s+(\S+)/;
const PROXY_LABEL = /(?:^|,)proxy="((?:[^"\\]|\\.)*)"/;

/** Per proxy name, its counters, from a /metrics page. Pure. */
export function parseProxyMetrics(text: string): Map<string, ProxyCounters> {
  const out = new Map<string, ProxyCounters>();
  for (const line of text.split('\n')) {
    const m = SAMPLE.exec(line);
    if (!m) continue;
    const [, name, labels, raw] = m as unknown as [string, string, string, string];
    const proxy = PROXY_LABEL.exec(labels)?.[1]?.replace(/\\(.)/g, (_, c: string) => (c === 'n' ? '\n' : c));
    const value = Number(raw);
    if (proxy === undefined || !Number.isFinite(value)) continue;
    const c = out.get(proxy) ?? { bytes: 0 };
    if (name === 'toxiproxy_proxy_received_bytes_total') c.bytes += value;
    else if (name === 'toxiproxy_proxy_connections_total') c.accepted = value;
    else if (name === 'toxiproxy_proxy_connections_open') c.open = value;
    else continue;
    out.set(proxy, c);
  }
  return out;
}

export class ToxiproxyMetrics implements TrafficMeter {
  private absent = false;
  constructor(readonly apiUrl: string) {}

  async read(proxy: string): Promise<ProxyCounters | undefined> {
    if (this.absent) return undefined;
    try {
      const r = await fetch(new URL('/metrics', this.apiUrl), { signal: AbortSignal.timeout(2000) });
      if (!r.ok) {
        await r.body?.cancel();
        // Toxiproxy without -proxy-metrics answers 404: no need to ask again.
        if (r.status === 404) this.absent = true;
        return undefined;
      }
      return parseProxyMetrics(await r.text()).get(proxy);
    } catch {
      return undefined;
    }
  }
}
