/**
 * What packet faults and the local runtime's namespace leave in the kernel until removed: a
 * namespace, an nft table, a qdisc, a checksum offload turned off. Each is written to the run's
 * state (<run id>.net.json) before it is made and taken out once removed, so that `auditchaos down`
 * removes what a SIGKILLed run left (sweepNetCleanups, called by src/stack/sweep.ts).
 */
import { existsSync, statSync } from 'node:fs';
import { RunJournal, type RunState, stateDir } from '../state.ts';
import { describePlace, HOST, type NetExec, type NetPlace, netExec } from './net-exec.ts';

export type NetCleanup =
  | { kind: 'netns'; name: string }
  | { kind: 'nft-table'; family: 'ip' | 'netdev'; name: string; place: NetPlace }
  | { kind: 'qdisc'; dev: string; place: NetPlace }
  /** tx checksum offload turned off on dev: turned on again */
  | { kind: 'tx-offload'; dev: string; place: NetPlace };

export interface NetCleanups {
  add(c: NetCleanup): Promise<void>;
  remove(c: NetCleanup): Promise<void>;
}

const same = (a: NetCleanup, b: NetCleanup) => JSON.stringify(a) === JSON.stringify(b);

/** The journal in the run's state directory. */
export class NetStateFile implements NetCleanups {
  private readonly journal: RunJournal<'netCleanups'>;

  constructor(runId: string, runtime: RunState['runtime'], dir = stateDir()) {
    this.journal = new RunJournal(runId, runtime, dir, 'net', 'netCleanups');
  }

  add(c: NetCleanup): Promise<void> {
    return this.journal.put(c, (x) => same(x, c));
  }

  remove(c: NetCleanup): Promise<void> {
    return this.journal.drop((x) => same(x, c));
  }
}

/** In memory (fast tests, and where nothing must survive the process). */
export class MemoryNetCleanups implements NetCleanups {
  readonly items: NetCleanup[] = [];
  async add(c: NetCleanup): Promise<void> {
    if (!this.items.some((x) => same(x, c))) this.items.push(c);
  }
  async remove(c: NetCleanup): Promise<void> {
    const i = this.items.findIndex((x) => same(x, c));
    if (i >= 0) this.items.splice(i, 1);
  }
}

/** The inode of a process's network namespace: a pid reused by another process is not ours. */
export function netnsInode(pid: number): number | undefined {
  try {
    return statSync(`/proc/${pid}/ns/net`).ino;
  } catch {
    return undefined;
  }
}

/** False when a pid place no longer is the namespace the fault was made in. */
function placeStillOurs(place: NetPlace): boolean {
  if ('pid' in place) {
    const ino = netnsInode(place.pid);
    return ino !== undefined && (place.netnsInode === undefined || ino === place.netnsInode);
  }
  if ('netns' in place) return existsSync(`/run/netns/${place.netns}`);
  return true;
}

/** Undoes one cleanup item; quiet when it is already gone. */
export async function undo(c: NetCleanup, exec: NetExec = netExec): Promise<string | undefined> {
  switch (c.kind) {
    case 'netns': {
      if (!existsSync(`/run/netns/${c.name}`)) return undefined;
      await exec.run(HOST, ['ip', 'netns', 'del', c.name]);
      return `removed network namespace ${c.name}`;
    }
    case 'nft-table': {
      if (!placeStillOurs(c.place)) return undefined;
      const list = await exec.run(c.place, ['nft', 'list', 'tables', c.family]).catch(() => '');
      if (!list.split('\n').some((l) => l.trim() === `table ${c.family} ${c.name}`)) return undefined;
      await exec.run(c.place, ['nft', 'delete', 'table', c.family, c.name]);
      return `removed nft table ${c.family} ${c.name} in ${describePlace(c.place)}`;
    }
    case 'qdisc': {
      if (!placeStillOurs(c.place)) return undefined;
      const q = await exec.run(c.place, ['tc', 'qdisc', 'show', 'dev', c.dev, 'root']).catch(() => '');
      if (!/qdisc netem/.test(q)) return undefined;
      await exec.run(c.place, ['tc', 'qdisc', 'del', 'dev', c.dev, 'root']);
      return `removed the netem qdisc of ${c.dev} in ${describePlace(c.place)}`;
    }
    case 'tx-offload': {
      if (!placeStillOurs(c.place)) return undefined;
      await exec.run(c.place, ['ethtool', '-K', c.dev, 'tx', 'on']).catch(() => '');
      return `turned tx checksum offload on again on ${c.dev} in ${describePlace(c.place)}`;
    }
  }
}

/** `auditchaos down`: what a dead run's packet faults and namespaces left. Never throws. */
export async function sweepNetCleanups(state: RunState, exec: NetExec = netExec): Promise<string[]> {
  const actions: string[] = [];
  // Newest first: rules inside a namespace before the namespace itself.
  for (const c of [...(state.netCleanups ?? [])].reverse()) {
    try {
      const done = await undo(c, exec);
      if (done) actions.push(done);
    } catch (e) {
      actions.push(`could not undo ${c.kind} (${JSON.stringify(c)}): ${(e as Error).message}`);
    }
  }
  return actions;
}
