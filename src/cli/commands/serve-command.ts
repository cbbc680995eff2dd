import { ExitCode, UsageError } from '../../errors.ts';
import { DURATION_HINT, HOSTPORT_HINT, parseDuration, parseHostPort } from '../../scenario/units.ts';
import { FLAW_MODES } from '../../scenario/vocabulary.ts';
import {
  DEFAULT_OWNER_PASSWORD,
  DEFAULT_WRITER_PASSWORD,
  FLAW_DESCRIPTIONS,
  parseFlaws,
  startService,
} from '../../service/index.ts';
import { lateVisibleDelay } from '../../service/late-visible.ts';
import type { RegisterCommand } from '../context.ts';

interface ServeFlags {
  listen: string;
  databaseUrl?: string;
  adminUrl?: string;
  flaws?: string;
  signingKey?: string;
  dbTimeout: string;
  ownerPassword?: string;
  writerPassword?: string;
}

export const registerServe: RegisterCommand = (program, ctx) => {
  const flawHelp = FLAW_MODES.map((f) => `  ${f.padEnd(18)} ${FLAW_DESCRIPTIONS[f]}`).join('\n');
  program
    .command('serve')
    .description('run the reference audit-log service (HTTP over PostgreSQL)')
    .option('--listen <host:port>', 'address to listen on', '127.0.0.1:8080')
    .option('--database-url <url>', 'the writer role connection (env DATABASE_URL)')
    .option(
      '--admin-url <url>',
      'a superuser connection to migrate the schema at start (env ADMIN_DATABASE_URL)',
    )
    .option('--flaws <a,b>', 'flaw modes to switch on, for detection drills (env AUDITLOG_FLAWS)')
    .option(
      '--signing-key <path>',
      'Ed25519 PKCS8 PEM for checkpoints, created if absent (env AUDITLOG_SIGNING_KEY)',
    )
    .option('--db-timeout <duration>', 'bound on every database operation (503 beyond it)', '2s')
    .option(
      '--owner-password <pw>',
      `password set for auditlog_owner at migration (env AUDITLOG_OWNER_PASSWORD)`,
    )
    .option(
      '--writer-password <pw>',
      `password set for auditlog_writer at migration (env AUDITLOG_WRITER_PASSWORD)`,
    )
    .addHelpText(
      'after',
      `\nFlaw modes (all off by default):\n${flawHelp}\n\nExample:\n  $ auditchaos serve --listen 127.0.0.1:8080 --database-url postgres://auditlog_writer:PW@127.0.0.1:5432/auditlog --admin-url postgres://postgres:PW@127.0.0.1:5432/auditlog\n`,
    )
    .action(async (flags: ServeFlags) => {
      const env = ctx.env;
      const listen = parseHostPort(flags.listen);
      if (!listen) throw new UsageError(`--listen ${flags.listen} is not ${HOSTPORT_HINT}`);
      const dbTimeoutMs = parseDuration(flags.dbTimeout);
      if (dbTimeoutMs === undefined || dbTimeoutMs <= 0) {
        throw new UsageError(`--db-timeout ${flags.dbTimeout} is not ${DURATION_HINT} (above 0)`);
      }
      const databaseUrl = flags.databaseUrl ?? env.DATABASE_URL;
      if (!databaseUrl) {
        throw new UsageError('no database: give --database-url or set DATABASE_URL', {
          hint: 'e.g. --database-url postgres://auditlog_writer:auditlog_writer@127.0.0.1:5432/auditlog',
        });
      }
      const flaws = parseFlaws(flags.flaws ?? env.AUDITLOG_FLAWS);
      const { out } = ctx.output;
      const service = await startService({
        host: listen.host,
        port: listen.port,
        databaseUrl,
        adminUrl: flags.adminUrl ?? env.ADMIN_DATABASE_URL,
        flaws,
        signingKeyPath: flags.signingKey ?? env.AUDITLOG_SIGNING_KEY,
        dbTimeoutMs,
        ...(env.AUDITLOG_HEALTH_PATH ? { healthPath: env.AUDITLOG_HEALTH_PATH } : {}),
        lateVisibleMs: lateVisibleDelay(env.AUDITLOG_LATE_VISIBLE_MS),
        ownerPassword: flags.ownerPassword ?? env.AUDITLOG_OWNER_PASSWORD ?? DEFAULT_OWNER_PASSWORD,
        writerPassword: flags.writerPassword ?? env.AUDITLOG_WRITER_PASSWORD ?? DEFAULT_WRITER_PASSWORD,
        signal: ctx.signal,
        log: out,
        onFatal: (reason) => fatal(reason),
      });
      let fatal: (reason: string) => void = () => undefined;
      const crashed = await new Promise<string | undefined>((resolve) => {
        fatal = resolve;
        if (ctx.signal.aborted) resolve(undefined);
        else ctx.signal.addEventListener('abort', () => resolve(undefined), { once: true });
      });
      await service.close();
      if (crashed !== undefined) {
        // The flaw under test: a service that dies on a database error and stays dead.
        ctx.output.err(`auditlog crashed (crash-on-db-error): ${crashed}`);
        ctx.setExitCode(ExitCode.environment);
        return;
      }
      out('auditlog stopped');
    });
};
