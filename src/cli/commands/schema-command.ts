import { scenarioJsonSchema } from '../../scenario/json-schema.ts';
import type { RegisterCommand } from '../context.ts';

export const registerSchema: RegisterCommand = (program, ctx) => {
  program
    .command('schema')
    .description('print the JSON Schema of scenario files (for editors and CI linters)')
    .addHelpText(
      'after',
      '\nExample:\n  $ auditchaos schema > scenario.schema.json\n  # then start a scenario with: # yaml-language-server: $schema=./scenario.schema.json\n',
    )
    .action(() => {
      ctx.output.out(JSON.stringify(scenarioJsonSchema(), null, 2));
    });
};
