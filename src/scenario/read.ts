import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { parseScenario } from './load.ts';
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
    text = await readFile(file, 'utf8');
  } catch (e) {
    const code = (e as NodeJS.ErrnoException).code;
    throw new UsageError(
      code === 'ENOENT' ? `scenario file not found: ${file}` : `cannot read scenario file ${file} (${code})`,
      { hint: 'shipped scenarios are in scenarios/', cause: e },
    );
  }
  const scenario = parseScenario(text, file);
  return { file, dir: path.dirname(path.resolve(file)), scenario };
}
