/** Opens the log source a scenario's scan section names. */

import { httpSource } from '../scan/sources/http.ts';
import { jsonlSource } from '../scan/sources/jsonl.ts';
import { postgresSource } from '../scan/sources/postgres.ts';
import type { LogSource } from '../scan/types.ts';
import type { EntryMapping } from '../scenario/schema.ts';

export type SourceSpec =
  | { kind: 'postgres'; url: string; table: string; mapping: EntryMapping }
  | { kind: 'http'; url: string; path: string; mapping: EntryMapping }
  | { kind: 'jsonl'; path: string; mapping: EntryMapping };

export async function openLogSource(spec: SourceSpec): Promise<LogSource> {
  switch (spec.kind) {
    case 'jsonl':
      return jsonlSource(spec.path, { mapping: spec.mapping });
    case 'postgres':
      return postgresSource({ url: spec.url, table: spec.table, mapping: spec.mapping });
    case 'http':
      return httpSource({ url: new URL(spec.path, spec.url).toString(), mapping: spec.mapping });
  }
}
