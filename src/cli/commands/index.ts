import type { RegisterCommand } from '../context.ts';
import { registerDoctor } from './doctor-command.ts';
import { registerDown } from './down-command.ts';
import { pendingCommand } from './pending.ts';
import { registerProxy } from './proxy-command.ts';
import { registerReport } from './report-command.ts';
import { registerRun } from './run-command.ts';
import { registerScan } from './scan-command.ts';
import { registerSchema } from './schema-command.ts';
import { registerServe } from './serve-command.ts';
import { registerUp } from './up-command.ts';
import { registerValidate } from './validate-command.ts';

/** Every command of the CLI, in the order `--help` lists them. */
export const commands: RegisterCommand[] = [
  registerRun,
  registerValidate,
  registerScan,
  registerUp,
  registerDown,
  registerProxy,
  registerServe,
  registerSchema,
  registerDoctor,
  registerReport,
];
