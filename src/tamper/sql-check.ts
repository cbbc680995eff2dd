/**
 * A SQL tamper probe that is not valid SQL never reached the system under test: its "refusal" would
 * be the parser's, not the log's. The statement is parsed before anything starts (PostgreSQL's own
 * grammar, libpg-query: the server's parser compiled to WebAssembly, no native build, no download),
 * so a typo is exit 2 at validate and at the start of a run, not an unknown run minutes later.
 * Only the grammar is checked: whether the table and columns exist the server tells, at run time.
 */
import { UsageError } from '../errors.ts';
import type { Scenario } from '../scenario/schema.ts';
import { probeName } from './probes.ts';

export async function checkSqlProbes(probes: Scenario['tamper']): Promise<void> {
  const sql = probes.map((p, i) => ({ p, i })).filter(({ p }) => p.via === 'sql');
  if (sql.length === 0) return;
  const { loadModule, parseSync } = await import('libpg-query');
  await loadModule();
  for (const { p, i } of sql) {
    if (p.via !== 'sql') continue;
    try {
      const parsed = parseSync(p.statement);
      if (!parsed.stmts?.length) throw new Error('it holds no statement');
    } catch (e) {
      const err = e as Error & { sqlDetails?: { cursorPosition?: number } };
      const pos = err.sqlDetails?.cursorPosition;
      const where = pos === undefined ? '' : ` at character ${pos + 1}: «${excerpt(p.statement, pos)}»`;
      throw new UsageError(
        `tamper[${i}] (probe "${probeName(p, i)}"): the statement is not valid SQL: ${err.message}${where}`,
        {
          hint: 'a probe the database cannot parse proves nothing about the log; fix tamper[].statement',
          cause: e,
        },
      );
    }
  }
}

function excerpt(text: string, pos: number): string {
  const start = Math.max(0, pos - 10);
  return `${start > 0 ? '…' : ''}${text.slice(start, pos + 20)}${pos + 20 < text.length ? '…' : ''}`;
}
