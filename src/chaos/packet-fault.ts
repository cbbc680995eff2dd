/**
 * The `packet` fault: loss, delay, duplicate, reorder, corrupt and rate on the network interface of
 * a named service, through netem where the kernel has it and nftables where it does not
 * (src/stack/netns/packet-backend.ts says which can do what). The runtime says where the
 * interface is (a namespace of the run's own, or a container's); this file applies, counts and
 * heals. Every qdisc, table and offload change is journaled before it is made and undone on heal,
 * and the heal undoes whatever was made even when applying failed halfway.
 *
 * Reproducible from the seed: which faults, when and for how long (the plan). Which packets are
 * hit is the kernel's random draw (netem's and nft's `numgen random` take no seed).
 */
import { EnvironmentError } from '../errors.ts';
import type { PacketOptions } from '../scenario/packet-options.ts';
import type { NetCleanup, NetCleanups } from '../stack/netns/cleanup.ts';
import { undo } from '../stack/netns/cleanup.ts';
import type { NetExec, NetPlace } from '../stack/netns/net-exec.ts';
import {
  chooseBackend,
  netemArgs,
  nftTables,
  type PacketBackend,
  type PacketCounts,
  type PacketSite,
  parseNetemStats,
  parseNftCounters,
  parseRetransSegs,
} from '../stack/netns/packet-backend.ts';

export interface PacketFaultHandle {
  backend: PacketBackend;
  /** Counters read now (call before heal): what the fault did while it was active. */
  effect(): Promise<PacketCounts>;
  heal(): Promise<void>;
}

/**
 * tx checksum offload turned off for one fault and needed by another that overlaps it: turned on
 * again by the last of them, and only where a fault turned it off (never where it was off before).
 */
export class OffloadRefs {
  private readonly held = new Map<string, { count: number; turnedOff?: NetCleanup }>();
  async take(key: string, turnOff: () => Promise<NetCleanup | undefined>): Promise<void> {
    const h = this.held.get(key);
    if (h) {
      h.count++;
      return;
    }
    const entry: { count: number; turnedOff?: NetCleanup } = { count: 1 };
    this.held.set(key, entry);
    const c = await turnOff();
    if (c) entry.turnedOff = c;
  }
  async give(key: string, turnOn: (c: NetCleanup) => Promise<void>): Promise<void> {
    const h = this.held.get(key);
    if (!h) return;
    if (--h.count > 0) return;
    this.held.delete(key);
    if (h.turnedOff) await turnOn(h.turnedOff);
  }
}

export interface PacketFaultDeps {
  exec: NetExec;
  journal: NetCleanups;
  /** Does the kernel have sch_netem (probed once per stack). */
  netem: boolean;
  offloads: OffloadRefs;
  /** The run's short prefix for names (acpk-<8 hex> -> acpk_<8 hex>). */
  prefix: string;
}

export function tableName(prefix: string, faultId: string): string {
  return `${prefix.replace(/-/g, '_')}_${faultId.replace(/\W/g, '_')}`;
}

async function txOffloadOn(exec: NetExec, place: NetPlace, iface: string): Promise<boolean> {
  const k = await exec.run(place, ['ethtool', '-k', iface]);
  return /^tx-checksumming:\s*on/m.test(k);
}

export async function applyPacketFault(
  target: string,
  o: PacketOptions,
  faultId: string,
  sites: PacketSite[],
  deps: PacketFaultDeps,
): Promise<PacketFaultHandle> {
  const { exec, journal } = deps;
  if (sites.length === 0)
    throw new EnvironmentError(`packet fault ${faultId}: ${target} has no network interface to act on`);
  const backend = chooseBackend(o, deps.netem, `packet fault ${faultId} on ${target}`);
  // One table per site: the peers of several containers (replicas on compose) share the host's
  // namespace, and a netdev chain is bound to one device.
  const base = tableName(deps.prefix, faultId);
  const siteName = (i: number) => (i === 0 ? base : `${base}_${i}`);
  const made: NetCleanup[] = [];
  const offloadKeys: string[] = [];
  const make = async (c: NetCleanup, run: () => Promise<unknown>) => {
    await journal.add(c);
    made.push(c);
    await run();
  };
  let healed = false;
  const heal = async () => {
    if (healed) return;
    healed = true;
    const errors: string[] = [];
    const attempt = async (c: NetCleanup) => {
      try {
        await undo(c, exec);
        await journal.remove(c);
      } catch (e) {
        errors.push((e as Error).message);
      }
    };
    for (const c of [...made].reverse()) await attempt(c);
    for (const key of offloadKeys) await deps.offloads.give(key, attempt);
    if (errors.length)
      throw new EnvironmentError(`packet fault ${faultId}: heal incomplete: ${errors.join('; ')}`, {
        hint: 'run `auditchaos down` to remove what is left',
      });
  };
  const retrans = async () => {
    let sum = 0;
    for (const site of sites) {
      const n = parseRetransSegs(await exec.run(site.place, ['cat', '/proc/net/snmp']).catch(() => ''));
      if (n === undefined) return undefined;
      sum += n;
    }
    return sum;
  };
  const retransBefore = await retrans();
  try {
    for (const [i, site] of sites.entries()) {
      const name = siteName(i);
      if (backend === 'netem') {
        await make({ kind: 'qdisc', dev: site.iface, place: site.place }, () =>
          exec.run(site.place, ['tc', 'qdisc', 'add', 'dev', site.iface, 'root', 'netem', ...netemArgs(o)]),
        );
        continue;
      }
      if (!site.peer)
        throw new EnvironmentError(
          `packet fault ${faultId}: ${site.iface} of ${target} is not one end of a veth pair, and nftables acts where the packets arrive`,
        );
      const key = JSON.stringify([site.place, site.iface]);
      offloadKeys.push(key);
      await deps.offloads.take(key, async () => {
        if (!(await txOffloadOn(exec, site.place, site.iface))) return undefined;
        const item: NetCleanup = { kind: 'tx-offload', dev: site.iface, place: site.place };
        await journal.add(item);
        await exec.run(site.place, ['ethtool', '-K', site.iface, 'tx', 'off']);
        return item;
      });
      const t = nftTables(o, site, name);
      for (const part of [t.rx, t.tx]) {
        if (!part) continue;
        const family = part === t.rx ? 'netdev' : 'ip';
        await make({ kind: 'nft-table', family, name, place: part.place }, () =>
          exec.run(part.place, ['nft', '-f', '-'], { input: part.text }),
        );
      }
    }
  } catch (e) {
    await heal().catch(() => undefined);
    throw e;
  }
  const effect = async (): Promise<PacketCounts> => {
    const total: PacketCounts = { packets: 0, acted: {} };
    const addActed = (k: string, n: number) => {
      total.acted[k] = (total.acted[k] ?? 0) + n;
    };
    for (const [i, site] of sites.entries()) {
      const name = siteName(i);
      if (backend === 'netem') {
        const s = parseNetemStats(
          await exec.run(site.place, ['tc', '-s', '-j', 'qdisc', 'show', 'dev', site.iface]),
        );
        if (!s) continue;
        total.packets += s.packets + s.drops;
        if (o.loss) addActed('dropped', s.drops);
        if (o.delay) addActed('delayed', s.packets);
        continue;
      }
      const t = nftTables(o, site, name);
      if (t.rx) {
        const c = parseNftCounters(
          await exec.run(t.rx.place, ['nft', '-j', 'list', 'table', 'netdev', name]),
        );
        total.packets += c.seen ?? 0;
        for (const k of ['dropped', 'overRate', 'corrupted']) if (k in c) addActed(k, c[k] ?? 0);
      }
      if (t.tx) {
        const c = parseNftCounters(await exec.run(t.tx.place, ['nft', '-j', 'list', 'table', 'ip', name]));
        if (!t.rx) total.packets += c.sent ?? 0;
        addActed('duplicated', c.duplicated ?? 0);
      }
    }
    const after = await retrans();
    if (after !== undefined && retransBefore !== undefined) total.retransmitted = after - retransBefore;
    return total;
  };
  return { backend, effect, heal };
}
