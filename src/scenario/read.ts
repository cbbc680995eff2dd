import { readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { ScenarioError, UsageError } from '../errors.ts';
import { parseScenario, SCENARIO_LIMITS } from './load.ts';
import type { Scenario } from './schema.ts';

export interface LoadedScenario {
  file: string;
  /** Folder of the scenario file: relative paths inside it (compose file, chain module) resolve here. */
  dir: string;
  scenario: Scenario;
}

export async function readScenarioFile(file: string): Promise<LoadedScenario> {
  let text: string;
  try {
    const st = await stat(file);
    if (st.isDirectory()) throw new UsageError(`scenario ${file} is a folder, not a file`);
    // Not read at all when it is over the limit: a 50 MB "scenario" must not cost 2 GB of memory.
    if (st.size > SCENARIO_LIMITS.bytes) {
      throw new ScenarioError([
        {
          file,
          line: 1,
          col: 1,
          message: `the file is ${st.size} bytes; a scenario may have at most ${SCENARIO_LIMITS.bytes}`,
        },
      ]);
    }
    text = await readFile(file, 'utf8');
  } catch (e) {
    if (e instanceof UsageError) throw e;
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `scenario file not found: ${file}` : `cannot read scenario file ${file} (${code})`,
      { hint: 'shipped scenarios are in scenarios/', cause: e },
    );
  }
  const scenario = parseScenario(text, file);
  return { file, dir: path.dirname(path.resolve(file)), scenario };
}
