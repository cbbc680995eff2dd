/** Opens the log source a scenario's scan section names. */
import { UsageError } from '../errors.ts';
import { jsonlSource } from '../scan/sources/jsonl.ts';
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
    default:
      throw new UsageError(`scan source ${spec.kind}: pending`);
  }
}
