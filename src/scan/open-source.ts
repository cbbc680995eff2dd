/**
 * Turns what a user names (a file path, a postgres:// URL, an http(s):// endpoint) into a LogSource.
 * Shared by `auditchaos scan` and by `run` (from a scenario's scan.source).
 */
import { UsageError } from '../errors.ts';
import { redactUrl } from '../redact-url.ts';
import type { EntryMapping } from '../scenario/schema.ts';
import type { HashRecipe } from './recipe.ts';
import { httpSource } from './sources/http.ts';
import { jsonlSource } from './sources/jsonl.ts';
import { verifyInRefused } from './sources/pg-verify.ts';
import { type PostgresReadMethod, postgresSource } from './sources/postgres.ts';
import type { LogSource } from './types.ts';

export interface OpenSourceOptions {
  table?: string;
  mapping?: Partial<EntryMapping>;
  /** JSONL: the log has no hash fields (the chain check will not run). */
  hashless?: boolean;
  pgMethod?: PostgresReadMethod;
  httpPageSize?: number;
  /** Keep each entry's stored form (LogEntry.stored): pass `recipe.needsStored`. */
  stored?: boolean;
  /**
   * 'database': a PostgreSQL table computes `recipe`'s digests itself (a template recipe;
   * sources/pg-verify.ts); any other source or recipe is a UsageError. Default 'client'.
   */
  verifyIn?: 'client' | 'database';
  recipe?: HashRecipe;
}

export type SourceKind = 'postgres' | 'http' | 'jsonl';

export function sourceKind(spec: string): SourceKind {
  if (/^postgres(ql)?:\/\//i.test(spec)) return 'postgres';
  if (/^https?:\/\//i.test(spec)) return 'http';
  return 'jsonl';
}

export async function openSource(spec: string, opts: OpenSourceOptions = {}): Promise<LogSource> {
  const kind = sourceKind(spec);
  if (opts.verifyIn === 'database' && kind !== 'postgres')
    throw verifyInRefused(
      `the log is ${kind === 'http' ? 'an HTTP endpoint' : 'a file'}; only a PostgreSQL table can verify itself`,
    );
  switch (kind) {
    case 'postgres':
      return postgresSource({
        url: spec,
        ...(opts.table ? { table: opts.table } : {}),
        ...(opts.mapping ? { mapping: opts.mapping } : {}),
        ...(opts.pgMethod ? { method: opts.pgMethod } : {}),
        ...(opts.stored ? { stored: true } : {}),
        ...(opts.verifyIn ? { verifyIn: opts.verifyIn } : {}),
        ...(opts.recipe ? { recipe: opts.recipe } : {}),
      });
    case 'http':
      return httpSource({
        url: spec,
        ...(opts.mapping ? { mapping: opts.mapping } : {}),
        ...(opts.httpPageSize ? { pageSize: opts.httpPageSize } : {}),
        ...(opts.stored ? { stored: true } : {}),
      });
    default:
      return jsonlSource(spec, {
        ...(opts.mapping ? { mapping: opts.mapping } : {}),
        ...(opts.hashless ? { hashless: true } : {}),
        ...(opts.stored ? { stored: true } : {}),
      });
  }
}

/**
 * What a user named must be a source we read, checked before anything is opened: a URL of
 * another scheme (ftp://, s3://) is not a file name, and a postgres:// or http(s):// URL that
 * does not parse is bad input (exit 2), not a crash or an unreachable database.
 */
export function checkSourceSpec(spec: string): void {
  const scheme = /^([a-z][a-z0-9+.-]*):\/\//i.exec(spec)?.[1];
  if (scheme === undefined) return;
  if (!/^(postgres(ql)?|https?)$/i.test(scheme)) {
    throw new UsageError(`unsupported source URL scheme "${scheme}://"`, {
      hint: 'a source is a .jsonl/.ndjson(.gz) file path, a postgres:// URL or an http(s):// URL',
    });
  }
  if (spec.includes('${')) return; // expanded from the environment later
  try {
    new URL(spec);
  } catch (e) {
    throw new UsageError(`"${redactUrl(spec)}" is not a valid URL`, { cause: e });
  }
}
