/**
 * Runs iproute2, nft and ethtool in a network namespace: the host's own, a named one of ours
 * (`ip netns exec`), or a container's (`nsenter -t <pid> -n`, the host's binaries in the
 * container's namespace, so the image needs none of them). One home for the "where" of every
 * network command; failures are EnvironmentErrors that say the command and its stderr.
 */
import { execa } from 'execa';
import { EnvironmentError } from '../../errors.ts';

/** Where a command runs: the host's namespace, one made by `ip netns add`, or a process's. */
export type NetPlace = { host: true } | { netns: string } | { pid: number; netnsInode?: number };

export const HOST: NetPlace = { host: true };

export interface NetExec {
  /** Runs argv in the place; resolves stdout; throws an EnvironmentError on a non-zero exit. */
  run(place: NetPlace, argv: string[], opts?: { input?: string }): Promise<string>;
}

export function placeArgv(place: NetPlace, argv: string[]): string[] {
  if ('netns' in place) return ['ip', 'netns', 'exec', place.netns, ...argv];
  if ('pid' in place) return ['nsenter', '-t', String(place.pid), '-n', '--', ...argv];
  return argv;
}

export function describePlace(place: NetPlace): string {
  if ('netns' in place) return `network namespace ${place.netns}`;
  if ('pid' in place) return `the network namespace of pid ${place.pid}`;
  return "the host's network namespace";
}

export const netExec: NetExec = {
  async run(place, argv, opts = {}) {
    const [cmd, ...args] = placeArgv(place, argv) as [string, ...string[]];
    const r = await execa(cmd, args, {
      reject: false,
      stdin: opts.input === undefined ? 'ignore' : 'pipe',
      ...(opts.input === undefined ? {} : { input: opts.input }),
      timeout: 15_000,
    });
    if (r.exitCode !== 0 || r.failed) {
      const err = `${r.stderr ?? ''}`.trim().split('\n').slice(-3).join(' | ');
      throw new EnvironmentError(
        `\`${argv.join(' ')}\` failed in ${describePlace(place)}: ${err || r.shortMessage}`,
        {
          hint:
            (r as { code?: string }).code === 'ENOENT'
              ? `install ${cmd === 'ip' || cmd === 'tc' ? 'iproute2' : cmd === 'nft' ? 'nftables' : cmd} (Debian: apt-get install iproute2 nftables ethtool)`
              : 'packet faults need root (CAP_NET_ADMIN and CAP_SYS_ADMIN for namespaces)',
        },
      );
    }
    return String(r.stdout ?? '');
  },
};
