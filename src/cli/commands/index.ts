import type { RegisterCommand } from '../context.ts';

/**
 * Every command of the CLI, in the order `--help` lists them, each loaded on demand: a child
 * process such as `auditchaos proxy` or `auditchaos serve` loads only its own command's modules.
 */
const COMMANDS: [name: string, load: () => Promise<RegisterCommand>][] = [
  ['run', async () => (await import('./run-command.ts')).registerRun],
  ['validate', async () => (await import('./validate-command.ts')).registerValidate],
  ['scan', async () => (await import('./scan-command.ts')).registerScan],
  ['up', async () => (await import('./up-command.ts')).registerUp],
  ['down', async () => (await import('./down-command.ts')).registerDown],
  ['proxy', async () => (await import('./proxy-command.ts')).registerProxy],
  ['serve', async () => (await import('./serve-command.ts')).registerServe],
  ['init', async () => (await import('./init-command.ts')).registerInit],
  ['schema', async () => (await import('./schema-command.ts')).registerSchema],
  ['doctor', async () => (await import('./doctor-command.ts')).registerDoctor],
  ['report', async () => (await import('./report-command.ts')).registerReport],
];

export const COMMAND_NAMES = COMMANDS.map(([name]) => name);

/** The commands to register for these arguments: the one named, or all (help, typos, no command). */
export async function loadCommands(args: readonly string[]): Promise<RegisterCommand[]> {
  if (args.length === 1 && (args[0] === '--version' || args[0] === '-V')) return [];
  const named = COMMANDS.find(([name]) => name === args[0]);
  const wanted = named ? [named] : COMMANDS;
  return Promise.all(wanted.map(([, load]) => load()));
}
