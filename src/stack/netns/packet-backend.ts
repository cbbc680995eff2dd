/**
 * The two ways a packet fault reaches the kernel, and what each can do:
 *
 * - netem (`tc qdisc add dev <if> root netem ...` on the target's interface): everything (loss,
 *   delay with jitter and correlation, duplicate, reorder, corrupt, rate). The standard; chosen
 *   wherever the kernel has sch_netem (probed once, in a scratch namespace).
 * - nftables, where sch_netem is missing: loss (`numgen random` + drop), duplicate (`dup`), corrupt
 *   (one payload byte XORed on a random share, at the receiving end, without a checksum fix-up) and
 *   rate (policing: `limit rate over` + drop). It cannot hold a packet back, so delay and reorder
 *   (and netem's correlations) are an exit-3 error before the run, never a silent skip.
 *
 * Both act on the packets the target sends (netem's place: its interface's egress). The nft rules
 * that drop, police and corrupt sit on the ingress hook of the veth's other end, where the packets
 * arrive: measured on Linux 6.18, a byte changed before the sender's checksum is computed (an
 * output or egress hook) arrives intact-looking and the application reads the damage; changed on
 * arrival with the sender's tx checksum offload off (veth otherwise hands over CHECKSUM_PARTIAL
 * packets that the receiver trusts unchecked), the receiver counts TcpInCsumErrors, drops the
 * packet and the sender retransmits, as after a real bit error. Offload off also makes the sender
 * segment in software, so that a 30% loss is 30% of the packets, not of 64 KB super-packets.
 */

import { EnvironmentError } from '../../errors.ts';
import type { PacketOptions } from '../../scenario/packet-options.ts';
import { HOST, type NetExec, type NetPlace } from './net-exec.ts';

/** One interface a packet fault acts on: its namespace, its name, and its veth peer's (the receiver). */
export interface PacketSite {
  place: NetPlace;
  iface: string;
  /** The other end of the veth pair, where what the target sends arrives; absent: not a veth. */
  peer?: { place: NetPlace; iface: string };
}

export type PacketBackend = 'netem' | 'nftables';

/** What a packet fault did while it was active: packets seen on the link, and what it did to them. */
export interface PacketCounts {
  packets: number;
  /** dropped (loss), duplicated, corrupted, overRate (policed), ... by the backend's counters */
  acted: Record<string, number>;
  /** TCP segments the target retransmitted meanwhile (its namespace's /proc/net/snmp) */
  retransmitted?: number;
}

/** Tcp RetransSegs of a /proc/net/snmp text. Pure. */
export function parseRetransSegs(snmp: string): number | undefined {
  const lines = snmp.split('\n').filter((l) => l.startsWith('Tcp:'));
  const [head, values] = [lines[0]?.split(/\s+/), lines[1]?.split(/\s+/)];
  const i = head?.indexOf('RetransSegs') ?? -1;
  const v = i >= 0 ? Number(values?.[i]) : Number.NaN;
  return Number.isFinite(v) ? v : undefined;
}

/** Does this kernel have sch_netem? Tried in a scratch namespace, so nothing real is touched. */
export async function probeNetem(exec: NetExec, scratch: string): Promise<boolean> {
  await exec.run(HOST, ['ip', 'netns', 'add', scratch]);
  try {
    await exec.run({ netns: scratch }, ['tc', 'qdisc', 'add', 'dev', 'lo', 'root', 'netem', 'delay', '1ms']);
    return true;
  } catch (e) {
    if (/unknown|not supported|No such file/i.test((e as Error).message)) return false;
    throw e;
  } finally {
    await exec.run(HOST, ['ip', 'netns', 'del', scratch]).catch(() => undefined);
  }
}

/** Why nftables cannot do these options (netem-only parts), or undefined when it can. */
export function nftCannot(o: PacketOptions): string | undefined {
  const needs: string[] = [];
  if (o.delay) needs.push('delay');
  if (o.reorder) needs.push('reorder');
  for (const k of ['loss', 'duplicate', 'corrupt'] as const)
    if ((o[k]?.correlation ?? 0) > 0) needs.push(`${k} correlation`);
  return needs.length ? needs.join(', ') : undefined;
}

/** The backend for these options on this kernel, or an EnvironmentError that says what is missing. */
export function chooseBackend(o: PacketOptions, netem: boolean, where: string): PacketBackend {
  if (netem) return 'netem';
  const cannot = nftCannot(o);
  if (cannot)
    throw new EnvironmentError(
      `${where}: this kernel has no sch_netem: packet ${cannot} need${cannot.includes(',') ? '' : 's'} it (nftables can only drop, duplicate, corrupt and police packets)`,
      {
        hint: 'load the sch_netem module (modprobe sch_netem; a kernel built with CONFIG_NET_SCH_NETEM), or keep to loss, duplicate, corrupt and rate without correlation',
      },
    );
  return 'nftables';
}

const pct = (p: number) => `${Number(p.toFixed(4))}%`;

/** `tc qdisc add dev <if> root netem ...` arguments after `netem`. Pure. */
export function netemArgs(o: PacketOptions): string[] {
  const a: string[] = ['limit', '100000'];
  if (o.delay) {
    a.push('delay', `${o.delay.time}ms`);
    if (o.delay.jitter > 0)
      a.push(`${o.delay.jitter}ms`, ...(o.delay.correlation > 0 ? [pct(o.delay.correlation)] : []));
  }
  const chance = (
    name: string,
    c: { percent: number; correlation: number } | undefined,
    extra: string[] = [],
  ) => {
    if (!c) return;
    a.push(name, ...extra, pct(c.percent), ...(c.correlation > 0 ? [pct(c.correlation)] : []));
  };
  chance('loss', o.loss, ['random']);
  chance('duplicate', o.duplicate);
  chance('reorder', o.reorder);
  chance('corrupt', o.corrupt);
  if (o.rate !== undefined) a.push('rate', `${o.rate}bit`);
  return a;
}

/** `numgen random mod 10000 < N`: percentages to 0.01%. */
function share(percent: number): string {
  return `numgen random mod 10000 < ${Math.round(percent * 100)}`;
}

/**
 * The nft tables of one fault on one site: `rx` on the peer's ingress (seen, loss, rate, corrupt),
 * `tx` in the target's namespace (duplicate: `dup` needs the sending side). Pure.
 */
export function nftTables(
  o: PacketOptions,
  site: PacketSite,
  name: string,
): { rx?: { place: NetPlace; text: string }; tx?: { place: NetPlace; text: string } } {
  const out: ReturnType<typeof nftTables> = {};
  const rxRules: string[] = ['meta protocol ip counter comment "seen"'];
  if (o.loss) rxRules.push(`meta protocol ip ${share(o.loss.percent)} counter drop comment "dropped"`);
  if (o.rate !== undefined)
    rxRules.push(
      `meta protocol ip limit rate over ${Math.max(1, Math.round(o.rate / 8))} bytes/second burst ${Math.max(1514, Math.round(o.rate / 80))} bytes counter drop comment "overRate"`,
    );
  // th+40: inside the payload of any segment of 100 bytes or more (TCP headers are 20..60 bytes,
  // 32 with timestamps); the XOR always changes the byte, and nothing recomputes the checksum.
  if (o.corrupt)
    rxRules.push(
      `ip protocol tcp ip length >= 120 ${share(o.corrupt.percent)} counter @th,320,8 set @th,320,8 ^ 0xff comment "corrupted"`,
    );
  const peer = site.peer;
  if (peer) {
    out.rx = {
      place: peer.place,
      text: `table netdev ${name} {\n  chain rx {\n    type filter hook ingress device "${peer.iface}" priority -300; policy accept;\n${rxRules.map((r) => `    ${r}\n`).join('')}  }\n}\n`,
    };
  }
  if (o.duplicate) {
    out.tx = {
      place: site.place,
      text: `table ip ${name} {\n  chain tx {\n    type filter hook output priority 0; policy accept;\n    oifname "${site.iface}" counter comment "sent"\n    oifname "${site.iface}" ${share(o.duplicate.percent)} counter dup to ip daddr device "${site.iface}" comment "duplicated"\n  }\n}\n`,
    };
  }
  return out;
}

interface NftJsonRule {
  rule?: { comment?: string; expr?: { counter?: { packets: number; bytes: number } }[] };
}

/** Packet counters of `nft -j list table ...`, by rule comment. Pure. */
export function parseNftCounters(json: string): Record<string, number> {
  const doc = JSON.parse(json) as { nftables?: NftJsonRule[] };
  const out: Record<string, number> = {};
  for (const item of doc.nftables ?? []) {
    const r = item.rule;
    if (!r?.comment) continue;
    const c = r.expr?.find((e) => e.counter)?.counter;
    if (c) out[r.comment] = (out[r.comment] ?? 0) + c.packets;
  }
  return out;
}

/** The root netem qdisc's counters of `tc -s -j qdisc show dev <if>`. Pure. */
export function parseNetemStats(json: string): { packets: number; drops: number } | undefined {
  const list = JSON.parse(json) as { kind?: string; root?: boolean; packets?: number; drops?: number }[];
  const q = list.find((x) => x.kind === 'netem');
  return q ? { packets: q.packets ?? 0, drops: q.drops ?? 0 } : undefined;
}
