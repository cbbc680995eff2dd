/**
 * Turns what a user names (a file path, a postgres:// URL, an http(s):// endpoint) into a LogSource.
 * Shared by `auditchaos scan` and by `run` (from a scenario's scan.source).
 */
import type { EntryMapping } from '../scenario/schema.ts';
import { httpSource } from './sources/http.ts';
import { jsonlSource } from './sources/jsonl.ts';
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
}

export type SourceKind = 'postgres' | 'http' | 'jsonl';

export function sourceKind(spec: string): SourceKind {
  if (/^postgres(ql)?:\/\//i.test(spec)) return 'postgres';
  if (/^https?:\/\//i.test(spec)) return 'http';
  return 'jsonl';
}

export async function openSource(spec: string, opts: OpenSourceOptions = {}): Promise<LogSource> {
  switch (sourceKind(spec)) {
    case 'postgres':
      return postgresSource({
        url: spec,
        ...(opts.table ? { table: opts.table } : {}),
        ...(opts.mapping ? { mapping: opts.mapping } : {}),
        ...(opts.pgMethod ? { method: opts.pgMethod } : {}),
        ...(opts.stored ? { stored: true } : {}),
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
