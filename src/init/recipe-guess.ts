/**
 * `auditchaos init` finds the hash recipe instead of guessing it when the log already holds
 * entries: it tries the reference recipe and the common template shapes (field orders, separators,
 * prev as bytes or hex, before or after, SHA-256/384/512) on the first stored entries and keeps the
 * one under which every one of them verifies. None verifying is said plainly; the starter then
 * carries a marked guess.
 */
import { type HashRecipe, referenceRecipe, templateRecipe } from '../scan/recipe.ts';
import { isUnreadable, type LogEntry, type LogSource } from '../scan/types.ts';

export interface RecipeFound {
  /** The scan.chain lines to write. */
  yaml: string[];
  name: string;
  verified: number;
}

const FIELD_SETS = [
  ['seq', 'eventId', 'actor', 'action', 'payload'],
  ['seq', 'eventId', 'ts', 'actor', 'action', 'payload'],
  ['eventId', 'actor', 'action', 'payload'],
  ['eventId', 'ts', 'actor', 'action', 'payload'],
  ['seq', 'eventId', 'actor', 'action', 'payload', 'ts'],
  ['seq', 'actor', 'action', 'payload'],
] as const;
const SEPARATORS = ['|', ',', ':', ';', '\n', '\t', ''];

interface Candidate {
  recipe: HashRecipe;
  yaml: string[];
}

function* candidates(): Generator<Candidate> {
  yield { recipe: referenceRecipe(), yaml: ['{}   # the reference recipe (JCS of the entry)'] };
  for (const algorithm of ['sha256', 'sha512', 'sha384'] as const) {
    for (const fields of FIELD_SETS) {
      for (const sep of SEPARATORS) {
        const template = fields.map((f) => `{${f}}`).join(sep);
        for (const prev of ['bytes', 'hex'] as const) {
          for (const order of ['prev-first', 'prev-last'] as const) {
            yield {
              recipe: templateRecipe({ template, algorithm, prev, order }),
              yaml: [
                `template: ${JSON.stringify(template)}`,
                `prev: ${prev}`,
                `order: ${order}`,
                `algorithm: ${algorithm}`,
              ],
            };
          }
        }
      }
    }
  }
}

/** The first stored entries that carry a hash, at most `n`. */
export async function sampleEntries(source: LogSource, n = 20): Promise<LogEntry[]> {
  const out: LogEntry[] = [];
  const stop = new AbortController();
  try {
    for await (const item of source.entries(stop.signal)) {
      if (!isUnreadable(item) && item.hash) out.push(item);
      if (out.length >= n) break;
    }
  } finally {
    stop.abort();
    await source.close?.();
  }
  return out;
}

/** The recipe under which every sampled entry's stored hash is recomputed from its stored fields. */
export function findRecipe(entries: readonly LogEntry[]): RecipeFound | undefined {
  if (entries.length === 0) return undefined;
  for (const c of candidates()) {
    let ok = true;
    for (const e of entries) {
      let h: string;
      try {
        h = c.recipe.hash(e.prevHash, e);
      } catch {
        ok = false;
        break;
      }
      if (h.toLowerCase() !== e.hash.toLowerCase()) {
        ok = false;
        break;
      }
    }
    if (ok) return { yaml: c.yaml, name: c.recipe.name, verified: entries.length };
  }
  return undefined;
}
