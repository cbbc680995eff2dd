/**
 * What a run can check before anything starts, so that a wrong setting costs seconds, not a whole
 * run: the hash recipe loads and exports what it must (and is one the database can compute, with
 * scan.source.verify: database), a JSONL scan source is a file (or a file
 * to be), not a folder, every `${VAR}` of scan.source.url is set, and every SQL tamper probe parses
 * as SQL (src/tamper/sql-check.ts). Columns of the mapping are
 * checked once the database answers (readBaseline). Throws UsageError naming the scenario's key.
 */
import { statSync } from 'node:fs';
import path from 'node:path';
import { UsageError } from '../errors.ts';
import { checkRecipeSettings, recipeFromSettings } from '../scan/recipe.ts';
import { scanSourceUrl } from '../scan/source-url.ts';
import { notServerVerifiable } from '../scan/sources/pg-verify.ts';
import type { Scenario } from '../scenario/schema.ts';
import { checkSqlProbes } from '../tamper/sql-check.ts';

export async function preflight(scenario: Scenario, scenarioDir: string): Promise<void> {
  try {
    await checkRecipeSettings(scenario.scan.chain, scenarioDir);
  } catch (e) {
    if (e instanceof UsageError)
      throw new UsageError(`scan.chain: ${e.message}`, { hint: e.hint ?? 'fix scan.chain', cause: e.cause });
    throw e;
  }
  await checkSqlProbes(scenario.tamper);
  const src = scenario.scan.source;
  if (src.kind === 'postgres' && src.verify === 'database') {
    const why = notServerVerifiable(await recipeFromSettings(scenario.scan.chain, scenarioDir));
    if (why !== undefined)
      throw new UsageError(`scan.source.verify: database: ${why}`, {
        hint: 'remove scan.source.verify (the client verifies), or give scan.chain a template recipe',
      });
  }
  scanSourceUrl(src); // every ${VAR} it names is set
  if (src.kind === 'jsonl') {
    const file = path.resolve(scenarioDir, src.path);
    const stat = statOf(file);
    if (stat?.isDirectory())
      throw new UsageError(`scan.source.path ${file} is a directory, not a JSONL file`, {
        hint: 'name the log file itself',
      });
    if (!stat && !statOf(path.dirname(file))?.isDirectory())
      throw new UsageError(`scan.source.path ${file}: neither the file nor its folder exists`, {
        hint: 'the path is relative to the scenario file',
      });
  }
}

function statOf(p: string) {
  try {
    return statSync(p);
  } catch {
    return undefined;
  }
}
