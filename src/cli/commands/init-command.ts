import { access, readFile, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ExitCode, UsageError } from '../../errors.ts';
import type { RegisterCommand } from '../context.ts';

interface InitFlags {
  compose?: string;
  url?: string;
  toxiproxy?: string;
  service?: string;
  database?: string;
  databaseUrl?: string;
  table?: string;
  write: string;
  body?: string;
  health?: string;
  name?: string;
  out: string;
  force?: boolean;
  apiPort: string;
  dbPort: string;
}

const COMPOSE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

async function exists(p: string): Promise<boolean> {
  return access(p).then(
    () => true,
    () => false,
  );
}

function port(flag: string, v: string): number {
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65_535) throw new UsageError(`${flag} ${v} is not a port (1-65535)`);
  return n;
}

function parseWrite(v: string): { method: 'POST' | 'PUT'; path: string } {
  const m = /^(POST|PUT)\s+(\/\S*)$/i.exec(v.trim());
  if (!m) throw new UsageError(`--write "${v}" is not "POST /path" or "PUT /path/{eventId}"`);
  return { method: m[1]!.toUpperCase() as 'POST' | 'PUT', path: m[2]! };
}

/** The URL as the scenario should hold it: credentials as ${PGUSER}/${PGPASSWORD}, never the values. */
function templatedUrl(url: string): string {
  try {
    const u = new URL(url);
    const db = u.pathname.replace(/^\//, '') || 'postgres';
    return `postgres://\${PGUSER}:\${PGPASSWORD}@${u.host}/${db}${u.search}`;
  } catch {
    throw new UsageError('--database-url is not a postgres:// URL');
  }
}

function scenarioName(v: string): string {
  const n = v
    .toLowerCase()
    .replace(/[^a-z0-9-]+/g, '-')
    .replace(/^-+|-+$/g, '');
  return /^[a-z0-9]/.test(n) ? n : `stack-${n || 'starter'}`;
}

export const registerInit: RegisterCommand = (program, ctx) => {
  program
    .command('init')
    .description('write a commented starter scenario for your stack (a compose file, or URLs); never prompts')
    .option('--compose <file>', 'your compose file (default: compose.yaml / docker-compose.yml here)')
    .option('--url <url>', 'an external stack: the audit-log service URL (with --toxiproxy)')
    .option('--toxiproxy <url>', 'an external stack: its Toxiproxy API URL')
    .option('--service <name>', 'the compose service that is the audit-log service (default: detected)')
    .option('--database <name>', 'the compose service that is the PostgreSQL database (default: detected)')
    .option(
      '--database-url <url>',
      'a reachable database: read its tables to fill in scan.mapping and the hash recipe',
    )
    .option('--table <name>', 'the log table (default: the table that looks most like one)')
    .option('--write <request>', 'how one event is written, e.g. "PUT /ledger/{eventId}"', 'POST /events')
    .option(
      '--body <json>',
      'the request body template, e.g. \'{"who":"{actor}","verb":"{action}","body":"{payload}"}\'',
    )
    .option('--health <path>', 'the service health path (default: from the compose healthcheck)')
    .option('--name <name>', 'scenario name (default: from the folder)')
    .option('-o, --out <file>', 'where to write it; - for standard output', 'scenario.yml')
    .option('--force', 'overwrite --out when it exists')
    .option('--api-port <port>', 'host port of the api proxy', '18080')
    .option('--db-port <port>', 'host port of the db proxy', '15432')
    .addHelpText(
      'after',
      `
Examples:
  $ auditchaos init --compose docker-compose.yml --write "PUT /ledger/{eventId}" --database-url postgres://me:pw@127.0.0.1:5432/ledger
  $ auditchaos init --url http://10.0.0.5:7070 --toxiproxy http://10.0.0.9:8474 --out staging.yml`,
    )
    .action(async (flags: InitFlags) => {
      const { detectStack } = await import('../../init/detect.ts');
      const { renderScenario } = await import('../../init/render.ts');
      const { guessTable, readColumns } = await import('../../init/columns.ts');
      const { err, out, color } = ctx.output;
      const apiPort = port('--api-port', flags.apiPort);
      const dbPort = port('--db-port', flags.dbPort);
      const write = parseWrite(flags.write);
      if (flags.body !== undefined) {
        let parsed: unknown;
        try {
          parsed = JSON.parse(flags.body);
        } catch (e) {
          throw new UsageError(`--body is not JSON: ${(e as Error).message}`);
        }
        if (parsed === null || typeof parsed !== 'object')
          throw new UsageError(
            '--body must be a JSON object or array (a template with {actor}, {action}, {payload}, {eventId})',
          );
      }
      if (flags.url !== undefined && flags.compose !== undefined)
        throw new UsageError('give --compose or --url, not both');
      if ((flags.url === undefined) !== (flags.toxiproxy === undefined) && flags.compose === undefined)
        throw new UsageError('an external stack needs both --url and --toxiproxy');
      for (const [flag, v] of [
        ['--url', flags.url],
        ['--toxiproxy', flags.toxiproxy],
      ] as const) {
        if (v !== undefined && !/^https?:\/\/[^/]+/.test(v))
          throw new UsageError(`${flag} ${v} is not an http(s):// URL`);
      }
      if (flags.databaseUrl !== undefined && !/^postgres(ql)?:\/\//.test(flags.databaseUrl))
        throw new UsageError('--database-url must be a postgres:// URL');

      const outFile = flags.out === '-' ? undefined : path.resolve(ctx.cwd, flags.out);
      if (outFile && !flags.force && (await exists(outFile)))
        throw new UsageError(`${flags.out} exists`, {
          hint: 'pass --force to overwrite it, or --out another file',
        });
      const outDir = outFile ? path.dirname(outFile) : ctx.cwd;

      let compose: { file: string; stack: ReturnType<typeof detectStack> } | undefined;
      if (flags.url === undefined) {
        let file = flags.compose ? path.resolve(ctx.cwd, flags.compose) : undefined;
        if (!file) {
          for (const n of COMPOSE_NAMES)
            if (await exists(path.join(ctx.cwd, n))) file = path.join(ctx.cwd, n);
        }
        if (!file)
          throw new UsageError('no compose file here', {
            hint: 'pass --compose FILE, or --url and --toxiproxy for a stack that runs elsewhere',
          });
        const text = await readFile(file, 'utf8').catch((e: NodeJS.ErrnoException) => {
          throw new UsageError(`cannot read ${file}: ${e.code ?? e.message}`);
        });
        const stack = detectStack(text, file, { service: flags.service, database: flags.database });
        compose = { file: path.relative(outDir, file) || path.basename(file), stack };
      }

      let db: Parameters<typeof renderScenario>[0]['db'];
      let chain: Parameters<typeof renderScenario>[0]['chain'];
      if (flags.databaseUrl) {
        const columns = await readColumns(flags.databaseUrl);
        const guess = guessTable(columns, flags.table);
        if (!guess) {
          const tables = [...new Set(columns.map((c) => c.table))];
          throw new UsageError(
            flags.table
              ? `--table ${flags.table}: no such table at the database (it has ${tables.join(', ') || 'no tables'})`
              : 'the database has no tables yet',
            { hint: 'start your service once so that it creates its schema, or leave out --database-url' },
          );
        }
        db = { table: guess.table, guess, name: new URL(flags.databaseUrl).pathname.slice(1) || undefined };
        chain = await findChain(flags.databaseUrl, guess);
      } else if (flags.table) db = { table: flags.table };

      const text = renderScenario({
        name: scenarioName(
          flags.name ?? path.basename(compose ? path.dirname(path.resolve(outDir, compose.file)) : ctx.cwd),
        ),
        ...(compose ? { compose } : {}),
        ...(flags.url && flags.toxiproxy
          ? {
              external: {
                service: flags.url,
                toxiproxy: flags.toxiproxy,
                ...(flags.databaseUrl ? { database: templatedUrl(flags.databaseUrl) } : {}),
              },
            }
          : {}),
        write,
        ...(flags.body ? { body: JSON.stringify(JSON.parse(flags.body)) } : {}),
        ...(flags.health ? { healthPath: flags.health } : {}),
        ...(db ? { db } : {}),
        ...(chain ? { chain } : {}),
        apiPort,
        dbPort,
      });
      if (!outFile) {
        out(text.trimEnd());
        ctx.setExitCode(ExitCode.ok);
        return;
      }
      await writeFile(outFile, text, { flag: flags.force ? 'w' : 'wx' }).catch((e: NodeJS.ErrnoException) => {
        throw new UsageError(`cannot write ${flags.out}: ${e.code ?? e.message}`);
      });
      out(`${color.green('wrote')} ${path.relative(ctx.cwd, outFile) || outFile}`);
      for (const n of compose?.stack.notes ?? []) out(`  detected: ${n}`);
      if (db?.guess?.unmapped.length)
        out(color.yellow(`  no column found for: ${db.guess.unmapped.join(', ')}`));
      if (flags.databaseUrl && !chain)
        out(color.yellow('  no known recipe verifies the stored hashes: scan.chain is a marked guess'));
      const checks = (text.match(/CHECK/g) ?? []).length - 1;
      if (checks > 0) out(`  ${checks} line(s) marked CHECK are guesses: read them before the first run`);
      const { validateScenarios } = await import('./validate.ts');
      const [v] = await validateScenarios([outFile]);
      if (v && !v.ok) {
        for (const p of v.problems)
          err(color.yellow(`  validate: ${p.line ? `line ${p.line}: ` : ''}${p.message}`));
        out('  it does not validate yet: fix the lines above (auditchaos validate tells you where)');
      } else out(`next: auditchaos run ${path.relative(ctx.cwd, outFile) || outFile}`);
      ctx.setExitCode(ExitCode.ok);
    });

  async function findChain(
    url: string,
    guess: NonNullable<ReturnType<typeof import('../../init/columns.ts').guessTable>>,
  ): Promise<{ yaml: string[]; note: string } | undefined> {
    if (!guess.mapping.hash || !guess.mapping.prevHash) return undefined;
    const { openSource } = await import('../../scan/open-source.ts');
    const { sampleEntries, findRecipe } = await import('../../init/recipe-guess.ts');
    const source = await openSource(url, { table: guess.table, mapping: guess.mapping, stored: true });
    const sample = await sampleEntries(source, 20).catch(() => []);
    const found = findRecipe(sample);
    if (!found) return undefined;
    return {
      yaml: found.yaml,
      note: `found: ${found.name} verifies the first ${found.verified} stored entries`,
    };
  }
};
