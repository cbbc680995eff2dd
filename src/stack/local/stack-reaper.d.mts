/** Types of stack-reaper.mjs (plain JavaScript, so that the watchdog starts without a TypeScript loader). */
export declare const STACK_TAG_VAR: string;
export declare const WATCHDOG_VAR: string;
export declare const DETACHED_MARKER: string;
export declare function findStackProcesses(tag: string | undefined, workDirs: string[]): number[];
export declare function stopStackProcesses(
  tag: string | undefined,
  workDirs: string[],
  opts?: { graceMs?: number; timeoutMs?: number },
): Promise<number[]>;
export declare function removeStackFiles(opts: {
  workDirs: string[];
  stateFile?: string;
  cliPid?: number;
}): void;
