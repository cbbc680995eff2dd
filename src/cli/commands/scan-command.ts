import { Option } from 'commander';
import { exitCodeOf, UsageError } from '../../errors.ts';
import { visible } from '../../report/visible.ts';
import { readCheckpoints, readHistory } from '../../scan/inputs.ts';
import { checkSourceSpec, openSource, sourceKind } from '../../scan/open-source.ts';
import { parseRange, summarizeRange } from '../../scan/range-job.ts';
import { moduleRecipe, recipeFromSettings } from '../../scan/recipe.ts';
import { type ScanProgress, type ScanResult, scanLog } from '../../scan/scan.ts';
import { SEVERITY } from '../../scan/types.ts';
import { readScenarioFile } from '../../scenario/read.ts';
import type { ChainSettings, EntryMapping } from '../../scenario/schema.ts';
import type { CliContext, RegisterCommand } from '../context.ts';
import { registerScanMerge, writeSummaryFile } from './scan-merge-command.ts';

interface ScanFlags {
  table?: string;
  scenario?: string;
  map: string[];
  chainModule?: string;
  hashless?: boolean;
  history?: string;
  checkpoints?: string;
  pgMethod?: 'copy' | 'cursor';
  verifyIn?: 'client' | 'database';
  json?: boolean;
  limit: string;
  progress: boolean;
  range?: string;
  summaryOut?: string;
}

const MAPPABLE = ['seq', 'eventId', 'ts', 'actor', 'action', 'payload', 'prevHash', 'hash'] as const;

function parseMap(pairs: string[]): Partial<EntryMapping> {
  const m: Partial<EntryMapping> = {};
  for (const p of pairs) {
    const [field, column] = p.split('=', 2);
    if (!field || !column || !(MAPPABLE as readonly string[]).includes(field)) {
      throw new UsageError(`--map ${p}: expected FIELD=COLUMN with FIELD one of ${MAPPABLE.join(', ')}`);
    }
    m[field as keyof EntryMapping] = column;
  }
  return m;
}

const collect = (v: string, prev: string[]) => [...prev, v];

export const registerScan: RegisterCommand = (program, ctx) => {
  const scan = program.command('scan').enablePositionalOptions();
  registerScanMerge(scan, ctx, { printJson, printHuman });
  scan
    .description('verify a stored audit log (JSONL file, Postgres table or HTTP endpoint)')
    .argument(
      '<source>',
      'a .jsonl/.ndjson(.gz) file, a postgres:// URL, or an http(s):// GET /events endpoint',
    )
    .option('--table <name>', 'Postgres table (schema.table works)', undefined)
    .option(
      '--scenario <file>',
      "take the table, column mapping and hash recipe from a scenario's scan section",
    )
    .option(
      '--map <field=column>',
      `map an entry field to a column or key (repeatable): ${MAPPABLE.join(', ')}`,
      collect,
      [],
    )
    .option('--chain-module <file>', 'a JS module exporting hash(prevHash, entry) (other hash recipes)')
    .option('--hashless', 'the log has no hash fields: the chain check is reported as not run')
    .option(
      '--history <file>',
      "the run's history.ndjson: cross-check missing, unexpected, indeterminate, payload digests",
    )
    .option('--checkpoints <file>', 'signed checkpoints JSON {publicKey, checkpoints}: detect rollbacks')
    .addOption(
      new Option('--pg-method <method>', 'how to stream a Postgres table').choices(['copy', 'cursor']),
    )
    .addOption(
      new Option(
        '--verify-in <where>',
        "who computes a template recipe's digests: the client, or the PostgreSQL server (the client then hashes only the rows whose stored hash is not the digest)",
      ).choices(['client', 'database']),
    )
    .option('--json', 'print one JSON object on stdout')
    .option('--limit <n>', 'findings to print (human output)', '20')
    .option('--no-progress', 'no progress line on a terminal')
    .option(
      '--range <A..B|K/N>',
      'verify only the lines that start in bytes [A, B) (or part K of N) of a plain JSONL file; needs --summary-out',
    )
    .option(
      '--summary-out <file>',
      'write the range summary to FILE (for `scan merge`) instead of a verdict; without --range: the whole file',
    )
    .addHelpText(
      'after',
      `
Exit codes: 0 no violation, 1 violations found, 2 bad input (flags, a missing file, a bad URL),
3 environment (the database is unreachable), 4 inconclusive (an HTTP source unreachable or
failing, a log unreadable or empty, or the chain check could not run), 130 interrupted.

Examples:
  $ auditchaos scan audit.jsonl.gz --history history.ndjson --checkpoints checkpoints.json
  $ auditchaos scan postgres://auditlog_owner:secret@127.0.0.1:5432/auditlog --table audit_log --json
  $ auditchaos scan postgres://127.0.0.1/app --table events --map eventId=id --map ts=created_at
  $ auditchaos scan audit.jsonl --range 0/4 --summary-out r0.json   # ... 1/4, 2/4, 3/4 elsewhere
  $ auditchaos scan merge r0.json r1.json r2.json r3.json --history history.ndjson
`,
    )
    .action(async (spec: string, flags: ScanFlags) => {
      if (flags.range !== undefined || flags.summaryOut !== undefined) {
        await runRangeJob(spec, flags, ctx);
        return;
      }
      const result = await runScan(spec, flags, ctx);
      if (flags.json) printJson(result, ctx);
      else printHuman(result, flags, ctx);
      ctx.setExitCode(exitCodeOf({ verdict: result.verdict.status }));
    });
};

async function runScan(spec: string, flags: ScanFlags, ctx: CliContext): Promise<ScanResult> {
  // Every flag is checked before anything is opened.
  if (!/^\d+$/.test(flags.limit)) {
    throw new UsageError(`--limit must be a non-negative integer, got "${flags.limit}"`);
  }
  checkSourceSpec(spec);
  let mapping: Partial<EntryMapping> = {};
  let chain: Partial<ChainSettings> | undefined;
  let table = flags.table;
  let verifyIn = flags.verifyIn;
  let baseDir = ctx.cwd;
  if (flags.scenario) {
    const loaded = await readScenarioFile(flags.scenario);
    const scan = loaded.scenario.scan;
    mapping = { ...scan.mapping };
    chain = scan.chain;
    baseDir = loaded.dir;
    if (scan.source.kind === 'postgres') {
      if (!table) table = scan.source.table;
      verifyIn ??= scan.source.verify;
    }
  }
  mapping = { ...mapping, ...parseMap(flags.map) };
  const recipe = flags.chainModule
    ? await moduleRecipe(flags.chainModule, ctx.cwd)
    : await recipeFromSettings(chain, baseDir);
  const [ledger, checkpoints] = await Promise.all([
    flags.history ? readHistory(flags.history) : undefined,
    flags.checkpoints ? readCheckpoints(flags.checkpoints) : undefined,
  ]);
  const source = await openSource(spec, {
    mapping,
    ...(table ? { table } : {}),
    ...(flags.hashless ? { hashless: true } : {}),
    ...(flags.pgMethod ? { pgMethod: flags.pgMethod } : {}),
    ...(recipe.needsStored ? { stored: true } : {}),
    ...(verifyIn ? { verifyIn, recipe } : {}),
  });
  const tty = flags.progress && Boolean(process.stderr.isTTY);
  const onProgress = tty
    ? (p: ScanProgress) => {
        const pos = p.seq !== undefined ? `seq ${p.seq}` : p.line !== undefined ? `line ${p.line}` : '';
        process.stderr.write(
          `\r\x1b[2Kscanning: ${p.entries.toLocaleString('en-US')} entries, ${Math.round(p.rate).toLocaleString('en-US')}/s ${pos}`,
        );
      }
    : undefined;
  try {
    return await scanLog({
      source,
      recipe,
      signal: ctx.signal,
      ...(ledger ? { ledger } : {}),
      ...(checkpoints ? { checkpoints } : {}),
      ...(onProgress ? { onProgress } : {}),
      maxFindings: 10_000,
    });
  } finally {
    if (tty) process.stderr.write('\r\x1b[2K');
    await source.close?.();
  }
}

/** `--range`/`--summary-out`: one range job; its verdict comes from `scan merge`. */
async function runRangeJob(spec: string, flags: ScanFlags, ctx: CliContext): Promise<void> {
  if (flags.summaryOut === undefined)
    throw new UsageError('--range needs --summary-out FILE: a range alone has no verdict', {
      hint: 'write each range to a summary, then `auditchaos scan merge FILE...`',
    });
  checkSourceSpec(spec);
  if (sourceKind(spec) !== 'jsonl')
    throw new UsageError(
      '--range and --summary-out read plain JSONL files (a Postgres table or HTTP source is scanned whole)',
    );
  const unsupported = [
    flags.table !== undefined && '--table',
    flags.scenario !== undefined && '--scenario',
    flags.map.length > 0 && '--map',
    flags.chainModule !== undefined && '--chain-module',
    flags.hashless && '--hashless',
    flags.pgMethod !== undefined && '--pg-method',
    flags.verifyIn !== undefined && '--verify-in',
  ].filter(Boolean);
  if (unsupported.length)
    throw new UsageError(
      `--range/--summary-out verify the reference chain format v1 with its field names: ${unsupported.join(', ')} cannot be used with them`,
    );
  const range = flags.range === undefined ? { start: 0 } : parseRange(flags.range);
  const [history, checkpoints] = await Promise.all([
    flags.history ? readHistory(flags.history) : undefined,
    flags.checkpoints ? readCheckpoints(flags.checkpoints) : undefined,
  ]);
  const started = performance.now();
  const summary = summarizeRange({
    file: spec,
    range,
    ...(history ? { history } : {}),
    ...(checkpoints ? { checkpoints } : {}),
  });
  await writeSummaryFile(flags.summaryOut, summary);
  const s = summary.summary;
  const ms = Math.round(performance.now() - started);
  if (flags.json)
    ctx.output.out(
      JSON.stringify(
        {
          summary: flags.summaryOut,
          start: s.start,
          end: s.end,
          lines: s.lines,
          entries: s.entries,
          durationMs: ms,
        },
        null,
        2,
      ),
    );
  else
    ctx.output.out(
      `range bytes ${s.start}..${s.end} of ${spec}: ${s.lines.toLocaleString('en-US')} lines, ${s.entries.toLocaleString('en-US')} entries in ${(ms / 1000).toFixed(2)} s; summary written to ${flags.summaryOut} (verdict: \`auditchaos scan merge\` of every range)`,
    );
}

function printJson(r: ScanResult, ctx: CliContext): void {
  const { verdict, ...rest } = r;
  ctx.output.out(
    JSON.stringify({ ...rest, verdict: verdict.status, verdictReasons: verdict.reasons }, null, 2),
  );
}

function printHuman(r: ScanResult, flags: { limit: string }, ctx: CliContext): void {
  const { out, color } = ctx.output;
  const n = (x: number) => x.toLocaleString('en-US');
  const secs = r.durationMs / 1000;
  const rate = secs > 0 ? Math.round(r.entries / secs) : 0;
  out(`${color.bold('scan')} ${r.source}`);
  out(`  hash recipe: ${r.recipe}`);
  const range = r.firstSeq !== undefined ? `, seq ${r.firstSeq}..${r.lastSeq}` : '';
  out(
    `  ${n(r.entries)} entries${range}${r.unreadable ? `, ${n(r.unreadable)} unreadable` : ''} in ${secs.toFixed(2)} s (${n(rate)} entries/s)`,
  );
  out(
    `  checks: ${r.checksRun
      .map((c) =>
        c.ran
          ? `${color.green(c.name)}${c.reason ? color.dim(` (${c.reason})`) : ''}`
          : color.yellow(`${c.name} not run: ${c.reason}`),
      )
      .join(', ')}`,
  );
  if (r.ledger)
    out(
      `  history: ${n(r.ledger.ops)} ops (${n(r.ledger.ok)} ok, ${n(r.ledger.fail)} failed, ${n(r.ledger.indeterminate)} indeterminate${r.ledger['not-sent'] ? `, ${n(r.ledger['not-sent'])} never sent` : ''})`,
    );
  if (r.checkpoints)
    out(`  checkpoints: ${n(r.checkpoints.verified)}/${n(r.checkpoints.count)} signatures valid`);
  const counted = Object.entries(r.counts).filter(([, c]) => c > 0);
  if (counted.length) out(`  findings: ${counted.map(([k, c]) => `${n(c)} ${k}`).join(', ')}`);
  const limit = Math.max(0, Number.parseInt(flags.limit, 10) || 0);
  const shown = r.findings.slice(0, limit);
  if (shown.length) out('');
  for (const f of shown) {
    const paint =
      SEVERITY[f.kind] === 'violation'
        ? color.red
        : SEVERITY[f.kind] === 'warning'
          ? color.yellow
          : color.cyan;
    const place = [f.seq !== undefined ? `seq ${f.seq}` : '', f.line !== undefined ? `line ${f.line}` : '']
      .filter(Boolean)
      .join(' ');
    out(`  ${paint(f.kind.padEnd(13))} ${place.padEnd(20)} ${visible(f.message)}`);
    const ev = [
      f.eventId ? `event ${visible(f.eventId)}` : '',
      f.expected !== undefined ? `expected ${visible(String(f.expected))}` : '',
      f.found !== undefined ? `found ${visible(String(f.found))}` : '',
    ].filter(Boolean);
    if (ev.length) out(color.dim(`  ${''.padEnd(13)} ${''.padEnd(20)} ${ev.join('  ')}`));
  }
  const total = Object.values(r.counts).reduce((a, b) => a + b, 0);
  if (total > shown.length)
    out(color.dim(`  ... and ${n(total - shown.length)} more (--json for all, --limit N)`));
  if (r.readError) out(color.yellow(`  read error: ${visible(r.readError)}`));
  out('');
  const label =
    r.verdict.status === 'pass'
      ? color.green('PASS')
      : r.verdict.status === 'fail'
        ? color.red('FAIL')
        : color.yellow('UNKNOWN');
  out(`verdict: ${label}  ${visible(r.verdict.reasons.join('; '))}`);
}
