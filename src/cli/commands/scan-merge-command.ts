import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import type { Command } from 'commander';
import { exitCodeOf, UsageError } from '../../errors.ts';
import { readCheckpoints, readHistory } from '../../scan/inputs.ts';
import { mergeSource, rangeInputs } from '../../scan/range-job.ts';
import { referenceRecipe } from '../../scan/recipe.ts';
import { type ScanResult, scanLog } from '../../scan/scan.ts';
import { decodeSummary, encodeSummary, type SummaryFile } from '../../scan/summary-file.ts';
import type { CliContext } from '../context.ts';

interface MergeFlags {
  history?: string;
  checkpoints?: string;
  source?: string;
  json?: boolean;
  limit: string;
}

interface Printers {
  printJson: (r: ScanResult, ctx: CliContext) => void;
  printHuman: (r: ScanResult, flags: { limit: string }, ctx: CliContext) => void;
}

/** Written next to its final name, then renamed: a job killed mid-write leaves no half summary. */
export async function writeSummaryFile(file: string, summary: SummaryFile): Promise<void> {
  const tmp = `${file}.${process.pid}.tmp`;
  try {
    await writeFile(tmp, encodeSummary(summary));
    await rename(tmp, file);
  } catch (e) {
    await rm(tmp, { force: true });
    throw new UsageError(
      `--summary-out ${file}: cannot write it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      { cause: e },
    );
  }
}

async function readSummaryFile(file: string): Promise<SummaryFile> {
  let text: string;
  try {
    text = await readFile(file, 'utf8');
  } catch (e) {
    throw new UsageError(
      `${file}: cannot read it (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
      {
        cause: e,
      },
    );
  }
  return decodeSummary(text, file);
}

/** `auditchaos scan merge FILE...`: the summaries of every range, joined into one scan's result. */
export function registerScanMerge(scan: Command, ctx: CliContext, print: Printers): void {
  scan
    .command('merge')
    .description(
      'join the range summaries of one log (scan --range --summary-out) into the result of one scan',
    )
    .argument('<summaries...>', 'every range summary of the log, in any order')
    .option('--history <file>', 'the same history.ndjson every range job was given')
    .option('--checkpoints <file>', 'the same checkpoints JSON every range job was given')
    .option(
      '--source <file>',
      'where the log is on this machine (read only to confirm repeated event ids or re-verify a range)',
    )
    .option('--json', 'print one JSON object on stdout')
    .option('--limit <n>', 'findings to print (human output)', '20')
    .addHelpText(
      'after',
      `
Exit codes as \`scan\`: 0 no violation, 1 violations found, 2 bad input (a summary unreadable, of
another version, log, recipe or inputs; ranges that overlap or leave a gap), 4 inconclusive.
`,
    )
    .action(async (files: string[], flags: MergeFlags) => {
      if (!/^\d+$/.test(flags.limit))
        throw new UsageError(`--limit must be a non-negative integer, got "${flags.limit}"`);
      const [summaries, history, checkpoints] = await Promise.all([
        Promise.all(files.map(readSummaryFile)),
        flags.history ? readHistory(flags.history) : undefined,
        flags.checkpoints ? readCheckpoints(flags.checkpoints) : undefined,
      ]);
      const { inputs } = rangeInputs(history, checkpoints);
      const source = mergeSource(summaries, {
        names: files,
        inputs,
        ...(flags.source !== undefined ? { sourcePath: flags.source } : {}),
      });
      const result = await scanLog({
        source,
        recipe: referenceRecipe(),
        signal: ctx.signal,
        ...(history ? { ledger: history } : {}),
        ...(checkpoints ? { checkpoints } : {}),
        maxFindings: 10_000,
      });
      if (flags.json) print.printJson(result, ctx);
      else print.printHuman(result, flags, ctx);
      ctx.setExitCode(exitCodeOf({ verdict: result.verdict.status }));
    });
}
