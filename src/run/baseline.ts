/**
 * The log's head before the workload (entries, last seq, last hash): every entry up to it was
 * there before this run, so it is verified but never this run's `unexpected` or `missing`. Opening
 * the scan source here also checks, once the database answers and before any write, that the
 * table and the mapped columns exist (exit 2) and that the log can be reached (exit 3).
 */
import { existsSync } from 'node:fs';
import pg from 'pg';
import { AuditChaosError, EnvironmentError, UsageError } from '../errors.ts';
import { redactUrl } from '../redact-url.ts';
import { openSource } from '../scan/open-source.ts';
import { isUnreadable } from '../scan/types.ts';
import type { Scenario } from '../scenario/schema.ts';
import type { StackEndpoints } from '../stack/types.ts';
import type { LogBaseline } from './evidence.ts';
import { scanSpec } from './scan-step.ts';

export async function readBaseline(
  scenario: Scenario,
  scenarioDir: string,
  endpoints: StackEndpoints,
): Promise<LogBaseline> {
  const src = scenario.scan.source;
  const spec = scanSpec(scenario, scenarioDir, endpoints);
  if (src.kind === 'jsonl' && !existsSync(spec)) return { entries: 0 };
  let source: Awaited<ReturnType<typeof openSource>>;
  try {
    source = await openSource(spec, {
      mapping: scenario.scan.mapping,
      ...(src.kind === 'postgres' ? { table: src.table } : {}),
    });
  } catch (e) {
    if (e instanceof UsageError)
      throw new UsageError(`scan.source: ${e.message}`, {
        hint: e.hint ?? 'fix scan.source / scan.mapping in the scenario',
        cause: e,
      });
    if (e instanceof AuditChaosError) throw e;
    throw new EnvironmentError(`the log cannot be reached before the workload: ${(e as Error).message}`, {
      hint: 'check scan.source (and stack.external.database) and that the database is up',
      cause: e,
    });
  }
  try {
    if (src.kind === 'postgres') return await postgresHead(spec, src.table, scenario.scan.mapping);
    const head: LogBaseline = { entries: 0 };
    for await (const item of source.entries()) {
      head.entries++;
      if (item.seq !== undefined && (head.lastSeq === undefined || item.seq > head.lastSeq)) {
        head.lastSeq = item.seq;
        head.lastHash = isUnreadable(item) ? undefined : item.hash;
      }
    }
    return head;
  } catch (e) {
    if (e instanceof AuditChaosError) throw e;
    throw new EnvironmentError(`the log could not be read before the workload: ${(e as Error).message}`, {
      cause: e,
    });
  } finally {
    await source.close?.().catch(() => undefined);
  }
}

async function postgresHead(url: string, table: string, mapping: Scenario['scan']['mapping']) {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  try {
    await client.connect();
    const i = table.indexOf('.');
    const from =
      i === -1
        ? client.escapeIdentifier(table)
        : `${client.escapeIdentifier(table.slice(0, i))}.${client.escapeIdentifier(table.slice(i + 1))}`;
    const seq = client.escapeIdentifier(mapping.seq);
    const r = await client.query<{ n: string; last: string | null }>(
      `SELECT count(*)::text AS n, max(${seq})::text AS last FROM ${from}`,
    );
    const row = r.rows[0];
    const head: LogBaseline = { entries: Number(row?.n ?? 0) };
    if (row?.last != null) {
      head.lastSeq = Number(row.last);
      const h = await client
        .query<{ h: string | null }>(
          `SELECT ${client.escapeIdentifier(mapping.hash)}::text AS h FROM ${from} WHERE ${seq} = $1`,
          [row.last],
        )
        .catch(() => undefined); // a table without a hash column has no last hash
      const hash = h?.rows[0]?.h;
      if (hash) head.lastHash = hash.startsWith('\\x') ? hash.slice(2) : hash;
    }
    return head;
  } catch (e) {
    throw new EnvironmentError(
      `${redactUrl(url)}: the log's head could not be read: ${(e as Error).message}`,
      {
        cause: e,
      },
    );
  } finally {
    await client.end().catch(() => undefined);
  }
}
