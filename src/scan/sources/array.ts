/** A LogSource over entries already in memory: the run command's copy, the canaries, unit tests. */
import type { LogSource, SourceItem } from '../types.ts';

export function fromArray(items: readonly SourceItem[], describe = 'in-memory log'): LogSource {
  const BATCH = 4096;
  return {
    describe,
    inMemory: true,
    async *entries(signal) {
      for (const item of items) {
        signal?.throwIfAborted();
        yield item;
      }
    },
    async *batches(signal) {
      for (let i = 0; i < items.length; i += BATCH) {
        signal?.throwIfAborted();
        yield items.slice(i, i + BATCH);
      }
    },
  };
}

/** Batches of a source: its own when it has them, else its items grouped. */
export async function* batchesOf(source: LogSource, signal?: AbortSignal): AsyncIterable<SourceItem[]> {
  if (source.batches) {
    yield* source.batches(signal);
    return;
  }
  let batch: SourceItem[] = [];
  try {
    for await (const item of source.entries(signal)) {
      batch.push(item);
      if (batch.length >= 1024) {
        yield batch;
        batch = [];
      }
    }
  } catch (e) {
    if (batch.length) yield batch; // what was read before the failure still counts
    throw e;
  }
  if (batch.length) yield batch;
}

/** Items of a batched source, one at a time (for LogSource.entries()). */
export async function* itemsOf(batches: AsyncIterable<SourceItem[]>): AsyncIterable<SourceItem> {
  for await (const batch of batches) yield* batch;
}
