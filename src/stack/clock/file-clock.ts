/**
 * ClockControl over libfaketime timestamp files: one file per target in a folder of the run's own
 * (the local runtime's work dir; on compose a folder bind-mounted into the targeted containers).
 * The runtime says how each target's clock is read once it runs (setReader).
 */
import { EnvironmentError } from '../../errors.ts';
import type { Fault } from '../../scenario/schema.ts';
import type { ClockControl, ClockReading } from './clock-control.ts';
import { faketimeEnv, findLibfaketime, prepareClockFiles, writeOffset } from './faketime.ts';

/** The targets of a scenario's clock faults, each once, in scenario order. */
export function clockFaultTargets(faults: readonly Fault[]): string[] {
  return [...new Set(faults.flatMap((f) => (f.kind === 'clock' ? [f.target] : [])))];
}

export class FileClockControl implements ClockControl {
  private readonly readers = new Map<string, () => Promise<ClockReading | undefined>>();

  private constructor(
    /** target -> its timestamp file */
    readonly files: ReadonlyMap<string, string>,
    /** The library the targets preload (its path where they run). */
    readonly lib: string,
  ) {}

  /**
   * Checks that libfaketime is here and writes a file at +0 for each target; undefined when the
   * scenario moves no clock (then nothing runs under libfaketime).
   */
  static async prepare(
    dir: string,
    faults: readonly Fault[],
    opts: { lib?: string | (() => string); runs: readonly string[]; runtime: string },
  ): Promise<FileClockControl | undefined> {
    const targets = clockFaultTargets(faults);
    if (targets.length === 0) return undefined;
    const unknown = targets.filter((t) => !opts.runs.includes(t));
    if (unknown.length)
      throw new EnvironmentError(
        `a clock fault targets ${unknown.join(', ')}, which the ${opts.runtime} runtime does not run; it runs ${opts.runs.join(', ')}`,
        { hint: 'name one of those as the clock fault target' },
      );
    const lib = opts.lib ?? findLibfaketime;
    const path = typeof lib === 'string' ? lib : lib();
    return new FileClockControl(await prepareClockFiles(dir, targets), path);
  }

  get targets(): string[] {
    return [...this.files.keys()];
  }

  /** The environment that starts `target` under its file ({} for a target no fault moves). */
  envFor(target: string, fileAs?: (file: string) => string): Record<string, string> {
    const file = this.files.get(target);
    return file ? faketimeEnv(this.lib, fileAs ? fileAs(file) : file) : {};
  }

  setReader(target: string, read: () => Promise<ClockReading | undefined>): void {
    this.readers.set(target, read);
  }

  async set(target: string, offsetMs: number): Promise<void> {
    const file = this.files.get(target);
    if (!file) throw new Error(`no clock file for ${target}`);
    await writeOffset(file, offsetMs);
  }

  async read(target: string): Promise<ClockReading | undefined> {
    return this.readers.get(target)?.();
  }

  /** Every file back at +0 (the stack's down; a file that is gone is fine). */
  async resetAll(): Promise<void> {
    await Promise.all([...this.files.values()].map((f) => writeOffset(f, 0).catch(() => undefined)));
  }
}
