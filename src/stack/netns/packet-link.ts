/**
 * The packet-fault side of a runtime: checks before anything starts that the kernel can do every
 * packet fault of the scenario (netem probed once in a scratch namespace; nftables otherwise, with
 * its limits as an exit-3 error), owns the journal, and applies faults on the sites the runtime
 * names. Built only when the scenario has packet faults.
 */
import { applyPacketFault, OffloadRefs, type PacketFaultHandle } from '../../chaos/packet-fault.ts';
import type { PacketOptions } from '../../scenario/packet-options.ts';
import type { Fault } from '../../scenario/schema.ts';
import type { RunState } from '../state.ts';
import { type NetCleanups, NetStateFile } from './cleanup.ts';
import { type NetExec, netExec } from './net-exec.ts';
import { chooseBackend, type PacketBackend, type PacketSite, probeNetem } from './packet-backend.ts';
import { linkNames } from './veth-link.ts';

export type PacketFault = Extract<Fault, { kind: 'packet' }>;

export function packetFaultsOf(faults: readonly Fault[]): PacketFault[] {
  return faults.filter((f): f is PacketFault => f.kind === 'packet');
}

export class PacketFaults {
  readonly journal: NetCleanups;
  readonly prefix: string;
  private netem: boolean | undefined;
  private readonly offloads = new OffloadRefs();

  constructor(
    readonly runId: string,
    runtime: RunState['runtime'],
    stateDir?: string,
    readonly exec: NetExec = netExec,
    journal?: NetCleanups,
  ) {
    this.journal = journal ?? new NetStateFile(runId, runtime, stateDir);
    this.prefix = linkNames(runId).netns;
  }

  /** Probes the kernel once; throws the exit-3 error for an option no backend here can do. */
  async check(faults: readonly PacketFault[]): Promise<PacketBackend | undefined> {
    if (faults.length === 0) return undefined;
    this.netem ??= await probeNetem(this.exec, `${this.prefix}p`);
    let backend: PacketBackend | undefined;
    faults.forEach((f, i) => {
      backend = chooseBackend(f, this.netem as boolean, `packet fault on ${f.target} (faults[${i}])`);
    });
    return backend;
  }

  async apply(
    target: string,
    o: PacketOptions,
    faultId: string,
    sites: PacketSite[],
  ): Promise<PacketFaultHandle> {
    this.netem ??= await probeNetem(this.exec, `${this.prefix}p`);
    return applyPacketFault(target, o, faultId, sites, {
      exec: this.exec,
      journal: this.journal,
      netem: this.netem,
      offloads: this.offloads,
      prefix: this.prefix,
    });
  }
}
