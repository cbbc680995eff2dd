/**
 * Did a fault hit anything? Per proxy fault, the connections and bytes its proxy carried while the
 * fault was active, from the proxy's counters read just before it was applied and just before it
 * was healed. A fault on a proxy no traffic crosses (the load sent around it) proved nothing, and
 * a run whose every fault had no effect cannot pass. Pure: the counters are read elsewhere.
 */
import type { Fault } from '../scenario/schema.ts';

/** Cumulative counters of one proxy (GET /metrics). `accepted`/`open` are unknown on real Toxiproxy. */
export interface ProxyCounters {
  /** connections accepted since the proxy started */
  accepted?: number;
  /** connections open now */
  open?: number;
  /** bytes received from both sides since the proxy started */
  bytes: number;
}

/**
 * What a fault's proxy carried while it was active; 'unknown' where the proxy has no counters.
 * Packet faults: the packets their link carried, and what the fault did to them (dropped, ...).
 */
export type FaultEffect =
  | { connections: number | null; bytes: number }
  | { packets: number; acted: Record<string, number>; retransmitted?: number }
  | 'unknown';

/** The proxy a fault acts on, or undefined for faults that are not proxy faults. */
export function proxyOfFault(f: Fault): string | undefined {
  if (f.kind === 'db-down') return f.mode === 'proxy' ? f.proxy : undefined;
  return 'proxy' in f && typeof f.proxy === 'string' ? f.proxy : undefined;
}

/**
 * The traffic between two readings: connections open at the first plus those accepted since
 * (every connection the fault could have touched), and the bytes received in between.
 */
export function effectBetween(
  before: ProxyCounters | undefined,
  after: ProxyCounters | undefined,
): FaultEffect {
  if (!before || !after) return 'unknown';
  const connections =
    before.open !== undefined && before.accepted !== undefined && after.accepted !== undefined
      ? before.open + Math.max(0, after.accepted - before.accepted)
      : null;
  return { connections, bytes: Math.max(0, after.bytes - before.bytes) };
}

/**
 * Faults that act on connections themselves (cutting, resetting, closing them): an open connection
 * is enough for an effect. The others (latency, bandwidth, slicing, limits) act only on bytes.
 */
function actsOnConnections(f: Fault): boolean {
  if (f.kind === 'db-down' || f.kind === 'partition') return true;
  if (f.kind === 'toxic') return f.type === 'timeout' || f.type === 'reset_peer' || f.type === 'slow_close';
  return f.kind === 'slow-close';
}

/** Why a fault had no effect, or undefined when it had one or it cannot be told. */
export function noEffectReason(f: Fault, effect: FaultEffect | undefined): string | undefined {
  if (f.kind === 'packet') return packetNoEffect(f.target, effect);
  const proxy = proxyOfFault(f);
  if (proxy === undefined || effect === undefined || effect === 'unknown' || !('bytes' in effect))
    return undefined;
  if (effect.bytes > 0) return undefined;
  if (actsOnConnections(f)) {
    // Without connection counters, zero bytes alone cannot show that no connection was cut.
    if (effect.connections === null || effect.connections > 0) return undefined;
    return `proxy ${proxy} had no open connection and carried no byte while the fault was active`;
  }
  return `proxy ${proxy} carried no byte while the fault was active`;
}

/**
 * A packet fault with no packet on its link, or whose counted actions (drops, duplicates,
 * corruptions, policing) are all zero, hit nothing. netem's delay is counted per packet sent;
 * netem counts no duplicate, reorder or corruption, so there the packets seen are the effect.
 */
function packetNoEffect(target: string, effect: FaultEffect | undefined): string | undefined {
  if (effect === undefined || effect === 'unknown' || !('packets' in effect)) return undefined;
  if (effect.packets === 0) return `no packet left ${target}'s interface while the fault was active`;
  const acted = Object.values(effect.acted);
  if (acted.length > 0 && acted.every((n) => n === 0))
    return `${effect.packets} packets left ${target}'s interface and the fault acted on none (${Object.keys(effect.acted).join(', ')}: 0)`;
  return undefined;
}
