import type { RegisterCommand } from '../context.ts';
import { pendingCommand } from './pending.ts';
import { registerReport } from './report-command.ts';
import { registerProxy } from './proxy-command.ts';
import { registerSchema } from './schema-command.ts';
import { registerServe } from './serve-command.ts';
import { registerValidate } from './validate-command.ts';

/** Every command of the CLI, in the order `--help` lists them. */
export const commands: RegisterCommand[] = [
  pendingCommand(
    'run',
    'run scenarios: stack up, workload + faults, tamper, scan, report',
    '[options] <scenario...>',
    'auditchaos run scenarios/quickstart.yml',
  ),
  registerValidate,
  pendingCommand(
    'scan',
    'verify a stored audit log (JSONL file or Postgres table)',
    '[options] <source>',
    'auditchaos scan log.jsonl --history history.ndjson',
  ),
  pendingCommand(
    'up',
    "bring a scenario's stack up and leave it running",
    '[options] <scenario>',
    'auditchaos up scenarios/quickstart.yml',
  ),
  pendingCommand(
    'down',
    'take stacks down, sweeping leftovers of earlier runs',
    '[options]',
    'auditchaos down --all',
  ),
  registerProxy,
  registerServe,
  registerSchema,
  registerReport,
];
