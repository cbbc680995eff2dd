/**
 * What packet and clock faults need of the compose runtime's engine: that it runs on this host
 * (a container's State.Pid is a process here, its bind mounts are paths here), and, for packet
 * faults, the interfaces of a service's containers seen from the host: each container's network
 * namespace entered with `nsenter -t <pid> -n` (src/stack/netns/net-exec.ts), each interface's
 * veth peer in the host's namespace (where nftables acts on what the container sends).
 */
import { EnvironmentError } from '../../errors.ts';
import { netnsInode } from '../netns/cleanup.ts';
import { HOST, type NetExec, type NetPlace } from '../netns/net-exec.ts';
import type { PacketSite } from '../netns/packet-backend.ts';

/**
 * Why a fault of `what` cannot run against this engine from this process, or undefined. Pure:
 * the environment, platform and privilege are passed in.
 */
export function localEngineProblem(
  what: 'packet' | 'clock',
  facts: { dockerHost: string | undefined; platform: string; privileged: boolean },
): EnvironmentError | undefined {
  const host = facts.dockerHost ?? '';
  const remote = /^(tcp|ssh|http|https|npipe):\/\//.exec(host)?.[1];
  const needs =
    what === 'packet'
      ? "packet faults on compose enter the container's network namespace from this host (nsenter -t <container pid> -n)"
      : "clock faults on compose bind-mount this host's libfaketime and a folder of timestamp files into the containers";
  if (remote)
    return new EnvironmentError(
      `${needs}, but DOCKER_HOST=${host} names an engine reached over ${remote}, whose containers may run on another machine`,
      {
        hint: 'run auditchaos on the Docker host itself with the local socket (unset DOCKER_HOST), or use the local runtime, or drop the fault',
      },
    );
  if (facts.platform !== 'linux')
    return new EnvironmentError(
      `${needs}; on ${facts.platform} the engine runs in a virtual machine, whose processes and files this host cannot reach`,
      { hint: 'run auditchaos on a Linux Docker host, or drop the fault' },
    );
  if (what === 'packet' && !facts.privileged)
    return new EnvironmentError(
      `${needs}, which needs root (CAP_NET_ADMIN and CAP_SYS_ADMIN), and this process is not`,
      { hint: 'run auditchaos as root (sudo -E), or drop the packet fault' },
    );
  return undefined;
}

interface IpLink {
  ifindex: number;
  ifname: string;
  link_index?: number;
  link_type?: string;
}

interface IpAddr {
  ifname: string;
  addr_info?: { local?: string }[];
}

/**
 * The packet sites of one container: every interface but loopback, in the namespace of `pid`,
 * with its veth peer on the host. Checks that the namespace is the container's (it holds one of
 * the addresses the engine gave the container) and is not the host's.
 */
export async function containerSites(
  exec: NetExec,
  c: { name: string; pid: number; addresses: string[] },
): Promise<PacketSite[]> {
  if (!c.pid)
    throw new EnvironmentError(`container ${c.name} is not running (no process): no interface to act on`);
  const inode = netnsInode(c.pid);
  const hostInode = netnsInode(process.pid);
  if (inode === undefined)
    throw new EnvironmentError(
      `container ${c.name}'s process ${c.pid} is not visible on this host (/proc/${c.pid}/ns/net): is the Docker engine on another machine or in a VM?`,
      { hint: 'packet faults on compose need the engine on this host (the local socket)' },
    );
  if (inode === hostInode)
    throw new EnvironmentError(
      `container ${c.name} runs in the host's network namespace (network_mode: host): a packet fault there would hit the whole host`,
      { hint: 'give the service a network of its own in the compose file, or use a proxy fault' },
    );
  const place: NetPlace = { pid: c.pid, netnsInode: inode };
  const addrs = JSON.parse(await exec.run(place, ['ip', '-j', 'addr', 'show'])) as IpAddr[];
  const local = new Set(addrs.flatMap((a) => (a.addr_info ?? []).map((i) => i.local)));
  if (c.addresses.length && !c.addresses.some((a) => local.has(a)))
    throw new EnvironmentError(
      `the network namespace of pid ${c.pid} has none of container ${c.name}'s addresses (${c.addresses.join(', ')}): it is not the container's`,
      { hint: 'packet faults on compose need the engine on this host (the local socket)' },
    );
  const inside = (JSON.parse(await exec.run(place, ['ip', '-j', 'link', 'show'])) as IpLink[]).filter(
    (l) => l.ifname !== 'lo' && l.link_type !== 'loopback',
  );
  const hostLinks = JSON.parse(await exec.run(HOST, ['ip', '-j', 'link', 'show'])) as IpLink[];
  const sites: PacketSite[] = [];
  for (const l of inside) {
    // The peer's index is in the host's numbering; its own link_index points back at this one.
    const peer = hostLinks.find((h) => h.ifindex === l.link_index && h.link_index === l.ifindex);
    sites.push({ place, iface: l.ifname, ...(peer ? { peer: { place: HOST, iface: peer.ifname } } : {}) });
  }
  if (sites.length === 0)
    throw new EnvironmentError(`container ${c.name} has no network interface but loopback`);
  return sites;
}
