import { isAuditChaosError, ScenarioError, type ScenarioProblem } from '../../errors.ts';
import { preflight } from '../../run/preflight.ts';
import { readScenarioFile } from '../../scenario/read.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { scenarioWarnings } from '../../scenario/warnings.ts';

export interface ValidateResult {
  file: string;
  ok: boolean;
  scenario?: Scenario;
  problems: ScenarioProblem[];
  /** Allowed but probably wrong (the load goes around every proxy, ...): printed, not an error. */
  warnings: string[];
}

/** Checks each scenario file; never throws for a bad scenario: problems are the result. */
export async function validateScenarios(files: string[]): Promise<ValidateResult[]> {
  const results: ValidateResult[] = [];
  for (const file of files) {
    try {
      const { scenario, dir } = await readScenarioFile(file);
      // What `run` checks before it starts anything (hash recipe module, scan source), validate checks too.
      await preflight(scenario, dir);
      results.push({ file, ok: true, scenario, problems: [], warnings: scenarioWarnings(scenario) });
    } catch (e) {
      if (e instanceof ScenarioError) results.push({ file, ok: false, problems: e.problems, warnings: [] });
      else if (isAuditChaosError(e))
        results.push({
          file,
          ok: false,
          problems: [{ file, line: 0, col: 0, message: e.message }],
          warnings: [],
        });
      else throw e;
    }
  }
  return results;
}
