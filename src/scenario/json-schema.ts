import { z } from 'zod';
import { scenarioSchema } from './schema.ts';

/** The JSON Schema of the scenario file as a user writes it (durations as strings, defaults shown). */
export function scenarioJsonSchema(): Record<string, unknown> {
  const schema = z.toJSONSchema(scenarioSchema, { io: 'input', unrepresentable: 'any' }) as Record<
    string,
    unknown
  >;
  return {
    ...schema,
    $id: 'https://auditchaos.dev/schema/scenario-v1.json',
    title: 'auditchaos scenario',
    description:
      'A chaos experiment against an audit log: stack, proxies, workload, faults, tamper probes, scan, expectations.',
  };
}
