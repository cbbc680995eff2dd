import { scenarioSchema } from '../../../src/scenario/schema.ts';
import type { WorkloadSpec } from '../../../src/workload/index.ts';

/** A parsed workload section (defaults applied), as the scenario loader hands it over. */
export function workloadSpec(workload: Record<string, unknown>): WorkloadSpec {
  return scenarioSchema.parse({ version: 1, name: 't', description: 't', workload }).workload;
}
