/**
 * The run's pending heals of `command` faults, in a state file of their own (<run id>.faults.json,
 * beside the stack's), written before each start command runs and removed once every heal ran. A
 * run that dies mid-fault leaves it for `auditchaos down`, which runs the heals (src/stack/sweep.ts).
 */
import type { PendingHeal, PendingHeals } from '../chaos/command-fault.ts';
import { type RunState, RunStateFile, stateDir } from './state.ts';

export class FaultStateFile implements PendingHeals {
  private file: RunStateFile | undefined;

  constructor(
    private readonly runId: string,
    private readonly runtime: RunState['runtime'],
    private readonly dir = stateDir(),
  ) {}

  async add(h: PendingHeal): Promise<void> {
    this.file ??= new RunStateFile(this.runId, this.runtime, this.dir, `${this.runId}.faults`);
    await this.file.update((s) => {
      s.pendingHeals = [...(s.pendingHeals ?? []).filter((p) => p.faultId !== h.faultId), h];
    });
  }

  async remove(faultId: string): Promise<void> {
    const file = this.file;
    if (!file) return;
    await file.update((s) => {
      s.pendingHeals = (s.pendingHeals ?? []).filter((p) => p.faultId !== faultId);
    });
    if ((file.current.pendingHeals ?? []).length === 0) await file.remove();
  }
}
