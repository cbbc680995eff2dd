/**
 * Schema migration of the reference service, run with a superuser connection. Idempotent and
 * converging: run again with other flaws, it adds or removes exactly what those flaws change
 * (the unique event_id constraint, the immutability triggers, the writer's grants).
 */
import pg from 'pg';
import { EnvironmentError } from '../errors.ts';
import { redactUrl } from '../redact-url.ts';
import type { FlawMode } from './flaws.ts';

export const OWNER_ROLE = 'auditlog_owner';
export const WRITER_ROLE = 'auditlog_writer';
export const DEFAULT_OWNER_PASSWORD = 'auditlog_owner';
export const DEFAULT_WRITER_PASSWORD = 'auditlog_writer';
export const TABLE = 'audit_log';
export const SEQUENCE = 'audit_log_seq';

/** Serializes concurrent migrations of one database (two replicas starting together). */
const MIGRATE_LOCK = 0x61756469; // "audi"

export interface MigrateOptions {
  ownerPassword?: string;
  writerPassword?: string;
  flaws?: FlawMode[];
  /** Bound on connecting and on each statement; default 10 s. */
  timeoutMs?: number;
}

const TRIGGERS = [
  { name: 'audit_log_refuse_update', timing: 'BEFORE UPDATE', level: 'ROW' },
  { name: 'audit_log_refuse_delete', timing: 'BEFORE DELETE', level: 'ROW' },
  { name: 'audit_log_refuse_truncate', timing: 'BEFORE TRUNCATE', level: 'STATEMENT' },
] as const;

export async function migrate(adminUrl: string, opts: MigrateOptions = {}): Promise<void> {
  const flaws = new Set(opts.flaws ?? []);
  const timeoutMs = opts.timeoutMs ?? 10_000;
  await ensureDatabase(adminUrl, timeoutMs);
  const client = new pg.Client({
    connectionString: adminUrl,
    connectionTimeoutMillis: timeoutMs,
    query_timeout: timeoutMs * 3,
    statement_timeout: timeoutMs * 3,
  });
  client.on('error', () => undefined); // a dropped connection surfaces as a failed query below
  try {
    await client.connect();
  } catch (e) {
    throw new EnvironmentError(`cannot connect to ${redactUrl(adminUrl)} to migrate the audit log schema`, {
      hint: 'is PostgreSQL up, and is --admin-url a superuser connection?',
      cause: e,
    });
  }
  const lit = (s: string) => client.escapeLiteral(s);
  try {
    await client.query('SELECT pg_advisory_lock($1)', [MIGRATE_LOCK]);
    for (const [role, pw] of [
      [OWNER_ROLE, opts.ownerPassword ?? DEFAULT_OWNER_PASSWORD],
      [WRITER_ROLE, opts.writerPassword ?? DEFAULT_WRITER_PASSWORD],
    ] as const) {
      // Roles are cluster-wide: another database's migration may create it at the same moment.
      await client.query(`DO $$ BEGIN
        IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = ${lit(role)}) THEN CREATE ROLE ${role} LOGIN; END IF;
      EXCEPTION WHEN duplicate_object OR unique_violation THEN NULL; END $$`);
      await client.query(
        `ALTER ROLE ${role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE PASSWORD ${lit(pw)}`,
      );
    }
    const db = (await client.query<{ db: string }>('SELECT current_database() AS db')).rows[0]!.db;
    await client.query('BEGIN');
    await client.query(
      `GRANT CONNECT ON DATABASE ${client.escapeIdentifier(db)} TO ${OWNER_ROLE}, ${WRITER_ROLE}`,
    );
    await client.query(`GRANT USAGE ON SCHEMA public TO ${OWNER_ROLE}, ${WRITER_ROLE}`);
    await client.query(`CREATE TABLE IF NOT EXISTS ${TABLE} (
      seq bigint PRIMARY KEY,
      event_id text NOT NULL,
      ts timestamptz NOT NULL,
      actor text NOT NULL,
      action text NOT NULL,
      payload jsonb NOT NULL,
      prev_hash text NOT NULL,
      hash text NOT NULL
    )`);
    await client.query(`CREATE SEQUENCE IF NOT EXISTS ${SEQUENCE} OWNED BY ${TABLE}.seq`);
    await client.query(`ALTER TABLE ${TABLE} OWNER TO ${OWNER_ROLE}`); // moves the owned sequence too

    const hasUnique =
      (
        await client.query(
          `SELECT 1 FROM pg_constraint WHERE conrelid = '${TABLE}'::regclass AND conname = 'audit_log_event_id_key'`,
        )
      ).rowCount === 1;
    if (flaws.has('no-idempotency')) {
      if (hasUnique) await client.query(`ALTER TABLE ${TABLE} DROP CONSTRAINT audit_log_event_id_key`);
      await client.query(`CREATE INDEX IF NOT EXISTS audit_log_event_id_idx ON ${TABLE} (event_id)`);
    } else {
      await client.query('DROP INDEX IF EXISTS audit_log_event_id_idx');
      if (!hasUnique) {
        await client.query(`ALTER TABLE ${TABLE} ADD CONSTRAINT audit_log_event_id_key UNIQUE (event_id)`);
      }
    }

    await client.query(`CREATE OR REPLACE FUNCTION audit_log_refuse_change() RETURNS trigger
      LANGUAGE plpgsql AS $$ BEGIN
        RAISE EXCEPTION 'audit_log is append-only: % refused', TG_OP USING ERRCODE = 'insufficient_privilege';
      END $$`);
    const existing = new Set(
      (
        await client.query<{ tgname: string }>(
          `SELECT tgname FROM pg_trigger WHERE tgrelid = '${TABLE}'::regclass AND NOT tgisinternal`,
        )
      ).rows.map((r) => r.tgname),
    );
    for (const t of TRIGGERS) {
      const wanted =
        !flaws.has('mutable') && !(flaws.has('api-delete') && t.name === 'audit_log_refuse_delete');
      if (wanted && !existing.has(t.name)) {
        await client.query(
          `CREATE TRIGGER ${t.name} ${t.timing} ON ${TABLE} FOR EACH ${t.level} EXECUTE FUNCTION audit_log_refuse_change()`,
        );
      } else if (!wanted && existing.has(t.name)) {
        await client.query(`DROP TRIGGER ${t.name} ON ${TABLE}`);
      }
    }

    await client.query(`REVOKE ALL ON ${TABLE} FROM PUBLIC, ${WRITER_ROLE}`);
    await client.query(`REVOKE ALL ON SEQUENCE ${SEQUENCE} FROM PUBLIC, ${WRITER_ROLE}`);
    const writerGrants = ['SELECT', 'INSERT'];
    if (flaws.has('mutable')) writerGrants.push('UPDATE', 'DELETE');
    else if (flaws.has('api-delete')) writerGrants.push('DELETE');
    await client.query(`GRANT ${writerGrants.join(', ')} ON ${TABLE} TO ${WRITER_ROLE}`);
    await client.query(`GRANT USAGE ON SEQUENCE ${SEQUENCE} TO ${WRITER_ROLE}`);
    // unlocked-append takes seq from the sequence: start it after what the log already holds.
    await client.query(
      `SELECT setval('${SEQUENCE}', GREATEST(m, 1), m IS NOT NULL) FROM (SELECT max(seq) AS m FROM ${TABLE}) x`,
    );
    await client.query('COMMIT');
  } catch (e) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw new EnvironmentError(`migrating the audit log schema at ${redactUrl(adminUrl)} failed`, {
      hint: (e as Error).message,
      cause: e,
    });
  } finally {
    await client.end().catch(() => undefined);
  }
}

/** Creates the database named in `adminUrl` when it does not exist (connecting to `postgres`). */
async function ensureDatabase(adminUrl: string, timeoutMs: number): Promise<void> {
  const probe = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: timeoutMs });
  probe.on('error', () => undefined);
  try {
    await probe.connect();
    return;
  } catch (e) {
    if ((e as { code?: string }).code !== '3D000') return; // let migrate() report other failures
  } finally {
    await probe.end().catch(() => undefined);
  }
  const url = new URL(adminUrl);
  const name = decodeURIComponent(url.pathname.replace(/^\//, ''));
  url.pathname = '/postgres';
  const c = new pg.Client({ connectionString: url.toString(), connectionTimeoutMillis: timeoutMs });
  c.on('error', () => undefined);
  try {
    await c.connect();
    await c.query(`CREATE DATABASE ${c.escapeIdentifier(name)}`);
  } catch (e) {
    if ((e as { code?: string }).code !== '42P04') {
      throw new EnvironmentError(`cannot create database "${name}" at ${redactUrl(adminUrl)}`, { cause: e });
    }
  } finally {
    await c.end().catch(() => undefined);
  }
}
