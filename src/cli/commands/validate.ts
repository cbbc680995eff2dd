import { isAuditChaosError, ScenarioError, type ScenarioProblem } from '../../errors.ts';
import { preflight } from '../../run/preflight.ts';
import { readScenarioFile } from '../../scenario/read.ts';
import type { Scenario } from '../../scenario/schema.ts';

export interface ValidateResult {
  file: string;
  ok: boolean;
  scenario?: Scenario;
  problems: ScenarioProblem[];
}

/** Checks each scenario file; never throws for a bad scenario: problems are the result. */
export async function validateScenarios(files: string[]): Promise<ValidateResult[]> {
  const results: ValidateResult[] = [];
  for (const file of files) {
    try {
      const { scenario, dir } = await readScenarioFile(file);
      // What `run` checks before it starts anything (hash recipe module, scan source), validate checks too.
      await preflight(scenario, dir);
      results.push({ file, ok: true, scenario, problems: [] });
    } catch (e) {
      if (e instanceof ScenarioError) results.push({ file, ok: false, problems: e.problems });
      else if (isAuditChaosError(e))
        results.push({ file, ok: false, problems: [{ file, line: 0, col: 0, message: e.message }] });
      else throw e;
    }
  }
  return results;
}
