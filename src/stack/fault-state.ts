/**
 * The run's pending heals of `command` faults, in a state file of their own (<run id>.faults.json,
 * beside the stack's), written before each start command runs and removed once every heal ran. A
 * run that dies mid-fault leaves it for `auditchaos down`, which runs the heals (src/stack/sweep.ts).
 */
import type { PendingHeal, PendingHeals } from '../chaos/command-fault.ts';
import { RunJournal, type RunState, stateDir } from './state.ts';

export class FaultStateFile implements PendingHeals {
  private readonly journal: RunJournal<'pendingHeals'>;

  constructor(runId: string, runtime: RunState['runtime'], dir = stateDir()) {
    this.journal = new RunJournal(runId, runtime, dir, 'faults', 'pendingHeals');
  }

  add(h: PendingHeal): Promise<void> {
    return this.journal.put(h, (p) => p.faultId === h.faultId);
  }

  remove(faultId: string): Promise<void> {
    return this.journal.drop((p) => p.faultId === faultId);
  }
}
