import { describe, expect, it } from 'vitest';
import { applyPacketFault, OffloadRefs } from '../../../src/chaos/packet-fault.ts';

import { MemoryNetCleanups } from '../../../src/stack/netns/cleanup.ts';
import type { NetExec, NetPlace } from '../../../src/stack/netns/net-exec.ts';

/** A kernel of nft tables per place, enough for apply, effect and heal. */
function fakeKernel() {
  const tables = new Map<string, Set<string>>();
  const key = (p: NetPlace) => JSON.stringify(p);
  const log: string[] = [];
  const exec: NetExec = {
    async run(place, argv, opts) {
      const cmd = argv.join(' ');
      log.push(`${key(place)} ${cmd}`);
      const here = tables.get(key(place)) ?? new Set<string>();
      tables.set(key(place), here);
      if (cmd === 'ethtool -k eth0') return 'tx-checksumming: on\n';
      if (cmd === 'cat /proc/net/snmp') return 'Tcp: RetransSegs\nTcp: 5\n';
      if (cmd === 'nft -f -') {
        const m = /^table (\w+) (\S+) \{/.exec(opts?.input ?? '');
        if (m) here.add(`table ${m[1]} ${m[2]}`);
        return '';
      }
      if (argv[0] === 'nft' && argv[1] === 'list' && argv[2] === 'tables') return [...here].join('\n');
      if (argv[0] === 'nft' && argv[1] === 'delete') {
        here.delete(`table ${argv[3]} ${argv[4]}`);
        return '';
      }
      if (argv[0] === 'nft' && argv[1] === '-j')
        return JSON.stringify({
          nftables: [
            { rule: { comment: 'seen', expr: [{ counter: { packets: 100, bytes: 1 } }] } },
            { rule: { comment: 'dropped', expr: [{ counter: { packets: 30, bytes: 1 } }] } },
          ],
        });
      return '';
    },
  };
  return { exec, tables, log };
}

describe('applyPacketFault on several sites (replicas on compose)', () => {
  it('one table per site on its own peer, counted once each, all removed at the heal', async () => {
    const k = fakeKernel();
    const journal = new MemoryNetCleanups();
    const host: NetPlace = { host: true };
    const sites = [
      { place: { pid: 101 } as NetPlace, iface: 'eth0', peer: { place: host, iface: 'vethA' } },
      { place: { pid: 202 } as NetPlace, iface: 'eth0', peer: { place: host, iface: 'vethB' } },
    ];
    const h = await applyPacketFault('auditlog', { loss: { percent: 30, correlation: 0 } }, 'f1', sites, {
      exec: k.exec,
      journal,
      netem: false,
      offloads: new OffloadRefs(),
      prefix: 'acpk-0123abcd',
    });
    expect([...(k.tables.get(JSON.stringify(host)) ?? [])].sort()).toEqual([
      'table netdev acpk_0123abcd_f1',
      'table netdev acpk_0123abcd_f1_1',
    ]);
    expect(k.log.filter((l) => l.includes('nft -f -')).length).toBe(2);
    const e = await h.effect();
    expect(e).toMatchObject({ packets: 200, acted: { dropped: 60 }, retransmitted: 0 });
    await h.heal();
    expect([...(k.tables.get(JSON.stringify(host)) ?? [])]).toEqual([]);
    expect(journal.items).toEqual([]);
    // tx checksum offload off in each container (journaled, so undone by the heal or `down`)
    expect(k.log.filter((l) => l.endsWith('ethtool -K eth0 tx off'))).toHaveLength(2);
  });
});
