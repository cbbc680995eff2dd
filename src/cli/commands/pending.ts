import { NotAvailableError } from '../../errors.ts';
import type { RegisterCommand } from '../context.ts';

/**
 * Commands whose capability lands in a later issue: they exist so that `--help` shows the whole
 * tool, and they say plainly that they are not available yet (exit 2), never fake output.
 */
export function pendingCommand(
  name: string,
  description: string,
  usage: string,
  example: string,
): RegisterCommand {
  return (program) => {
    program
      .command(name)
      .description(`${description} (not available yet)`)
      .usage(usage)
      .allowUnknownOption(true)
      .allowExcessArguments(true)
      .addHelpText('after', `\nExample:\n  $ ${example}\n`)
      .action(() => {
        throw new NotAvailableError(`\`auditchaos ${name}\``);
      });
  };
}
