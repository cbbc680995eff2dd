/**
 * A network namespace of the run's own, joined to the host by a veth pair: the local runtime puts
 * the database there when a `packet` fault targets it, so that its interface can lose, duplicate,
 * corrupt or slow packets without touching the host's loopback. Everything is named with the run's
 * prefix (`acpk-<8 hex of the run id>`), journaled before it is made, and removed by remove() or,
 * after a SIGKILLed run, by `auditchaos down` (deleting the namespace deletes both veth ends).
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { userInfo } from 'node:os';
import { EnvironmentError } from '../../errors.ts';
import type { NetCleanups } from './cleanup.ts';
import { HOST, type NetExec } from './net-exec.ts';

export interface VethLink {
  netns: string;
  /** The host's end (in the host's namespace). */
  hostIf: string;
  /** The namespace's end. */
  nsIf: string;
  hostAddr: string;
  nsAddr: string;
}

export const NET_PREFIX = 'acpk-';

export function linkNames(runId: string): Pick<VethLink, 'netns' | 'hostIf' | 'nsIf'> {
  const short = createHash('sha256').update(runId).digest('hex').slice(0, 8);
  return { netns: `${NET_PREFIX}${short}`, hostIf: `${NET_PREFIX}${short}h`, nsIf: `${NET_PREFIX}${short}n` };
}

/** A /30 in 10.213.0.0/16 picked from the run id, skipping any the host already has an address in. */
export function pickSubnet(
  runId: string,
  taken: (a: string) => boolean,
): { hostAddr: string; nsAddr: string } {
  const h = createHash('sha256').update(`subnet:${runId}`).digest();
  for (let k = 0; k < 64; k++) {
    const n = (h.readUInt16BE(0) + k * 4) % 16384; // 16384 blocks of 4 addresses
    const base = n * 4;
    const ip = (i: number) => `10.213.${Math.floor((base + i) / 256)}.${(base + i) % 256}`;
    if (![0, 1, 2, 3].some((i) => taken(ip(i)))) return { hostAddr: ip(1), nsAddr: ip(2) };
  }
  throw new EnvironmentError("no free /30 in 10.213.0.0/16 for the run's veth pair");
}

export function hasNetAdmin(): boolean {
  if (userInfo().uid === 0) return true;
  try {
    // CapEff bit 12 is CAP_NET_ADMIN, bit 21 CAP_SYS_ADMIN (needed by `ip netns add` and nsenter)
    const text = readFileSync('/proc/self/status', 'utf8');
    const hex = /CapEff:\s*([0-9a-f]+)/.exec(text)?.[1];
    const caps = hex ? BigInt(`0x${hex}`) : 0n;
    return (caps & (1n << 12n)) !== 0n && (caps & (1n << 21n)) !== 0n;
  } catch {
    return false;
  }
}

export async function createVethLink(runId: string, exec: NetExec, journal: NetCleanups): Promise<VethLink> {
  if (process.platform !== 'linux' || !hasNetAdmin())
    throw new EnvironmentError(
      'a packet fault on the local runtime needs a network namespace of its own, and this process may not make one (not root, no CAP_NET_ADMIN / CAP_SYS_ADMIN)',
      {
        hint: 'run auditchaos as root (sudo), or use the compose runtime, or drop the packet fault',
      },
    );
  const names = linkNames(runId);
  const addrs = JSON.parse(await exec.run(HOST, ['ip', '-j', 'addr', 'show'])) as {
    addr_info?: { local?: string }[];
  }[];
  const used = new Set(addrs.flatMap((l) => (l.addr_info ?? []).map((a) => a.local)));
  const { hostAddr, nsAddr } = pickSubnet(runId, (a) => used.has(a));
  const link: VethLink = { ...names, hostAddr, nsAddr };
  await journal.add({ kind: 'netns', name: link.netns });
  try {
    await exec.run(HOST, ['ip', 'netns', 'add', link.netns]);
  } catch (e) {
    await journal.remove({ kind: 'netns', name: link.netns });
    throw new EnvironmentError(`could not make network namespace ${link.netns}: ${(e as Error).message}`, {
      hint: 'packet faults on the local runtime need root; run as root, or use the compose runtime',
      cause: e,
    });
  }
  const ns = { netns: link.netns };
  await exec.run(HOST, [
    'ip',
    'link',
    'add',
    link.hostIf,
    'type',
    'veth',
    'peer',
    'name',
    link.nsIf,
    'netns',
    link.netns,
  ]);
  await exec.run(HOST, ['ip', 'addr', 'add', `${hostAddr}/30`, 'dev', link.hostIf]);
  await exec.run(HOST, ['ip', 'link', 'set', link.hostIf, 'up']);
  await exec.run(ns, ['ip', 'addr', 'add', `${nsAddr}/30`, 'dev', link.nsIf]);
  await exec.run(ns, ['ip', 'link', 'set', link.nsIf, 'up']);
  await exec.run(ns, ['ip', 'link', 'set', 'lo', 'up']);
  return link;
}

/** Deletes the namespace (and with it both veth ends, its qdiscs and nft tables). Safe to call twice. */
export async function removeVethLink(link: VethLink, exec: NetExec, journal: NetCleanups): Promise<void> {
  await removeNetns(link.netns, exec);
  await journal.remove({ kind: 'netns', name: link.netns });
}

export async function removeNetns(name: string, exec: NetExec): Promise<void> {
  const list = await exec.run(HOST, ['ip', 'netns', 'list']).catch(() => '');
  if (!list.split('\n').some((l) => l.split(' ')[0] === name)) return;
  await exec.run(HOST, ['ip', 'netns', 'del', name]);
}
