/** Turns a scenario fault into actions on the stack or the proxies; returns its heal. */
import { EnvironmentError } from '../errors.ts';
import type { Fault } from '../scenario/schema.ts';
import type { Stack } from '../stack/types.ts';
import { applyClockFault, type ClockFaultDeps } from './clock-fault.ts';
import { applyCommandFault, type CommandFaultDeps } from './command-fault.ts';
import type { Heal, NetworkFaults } from './toxiproxy-faults.ts';

export interface FaultTargets {
  network: NetworkFaults;
  stack: Pick<
    Stack,
    'dbFault' | 'dbRecover' | 'serviceFault' | 'serviceRecover' | 'fault' | 'recover' | 'clock'
  > &
    Partial<Pick<Stack, 'packetFault' | 'kind'>>;
  /** `packet` faults: receives what the fault did (its counters, read just before its heal). */
  onPacketEffect?: (
    faultId: string,
    effect: { packets: number; acted: Record<string, number>; retransmitted?: number },
  ) => void;
  /** `command` faults: where pending heals are recorded, how commands run, where output goes. */
  commands?: CommandFaultDeps;
  /** `clock` faults: how long to wait for a clock to show its step; the measurements go to onOutput. */
  clock?: ClockFaultDeps;
}

export async function applyFault(f: Fault, id: string, t: FaultTargets): Promise<Heal> {
  const name = `auditchaos_${id.replace(/\W/g, '_')}`;
  switch (f.kind) {
    case 'latency':
      return t.network.addToxics(f.proxy, name, {
        type: 'latency',
        attributes: { latency: f.latency, jitter: f.jitter },
        direction: f.direction,
        toxicity: f.toxicity,
      });
    case 'partition':
      // blackhole: the timeout toxic with timeout 0 drops every byte silently until healed (no RST,
      // as a real partition; healing closes the connections it hit, as Toxiproxy does);
      // reset: reset_peer answers the next packet of each connection with a TCP reset.
      return t.network.addToxics(f.proxy, name, {
        type: f.mode === 'blackhole' ? 'timeout' : 'reset_peer',
        attributes: { timeout: 0 },
        direction: f.direction,
      });
    case 'bandwidth':
      return t.network.addToxics(f.proxy, name, {
        type: 'bandwidth',
        attributes: { rate: f.rate },
        direction: f.direction,
      });
    case 'slow-close':
      return t.network.addToxics(f.proxy, name, {
        type: 'slow_close',
        attributes: { delay: f.delay },
        direction: f.direction,
      });
    case 'toxic':
      return t.network.addToxics(f.proxy, name, {
        type: f.type,
        attributes: f.attributes,
        direction: f.direction,
        toxicity: f.toxicity,
      });
    case 'db-down': {
      if (f.mode === 'proxy') return t.network.disableProxy(f.proxy);
      const mode = f.mode;
      await t.stack.dbFault(mode);
      return () => t.stack.dbRecover(mode);
    }
    case 'command':
      return applyCommandFault(f, id, t.commands);
    case 'clock':
      return applyClockFault(f, t.stack.clock, {
        ...(t.commands?.onOutput ? { onOutput: t.commands.onOutput } : {}),
        ...t.clock,
      });
    case 'down': {
      const { target, mode, replica } = f;
      await t.stack.fault(target, mode, replica);
      return () => t.stack.recover(target, mode, replica);
    }
    case 'packet': {
      if (!t.stack.packetFault)
        throw new EnvironmentError(
          `packet faults need a runtime that reaches the service's network interface (local, compose); ${t.stack.kind ?? 'this'} does not`,
        );
      const h = await t.stack.packetFault(f.target, f, id);
      return async () => {
        try {
          t.onPacketEffect?.(id, await h.effect());
        } finally {
          await h.heal();
        }
      };
    }
    case 'service-down': {
      const { mode, replica } = f;
      await t.stack.serviceFault(mode, replica);
      return () => t.stack.serviceRecover(mode, replica);
    }
  }
}
