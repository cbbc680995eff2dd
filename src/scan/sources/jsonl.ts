/**
 * JSONL / NDJSON files, plain or gzip-compressed (recognised by their magic bytes, whatever the
 * name): one entry a line, the line order is the log order. Streamed in chunks; blank lines are
 * skipped, a line that does not parse becomes an UnreadableEntry with its line number.
 */
import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { createGunzip } from 'node:zlib';
import { UsageError } from '../../errors.ts';
import type { EntryMapping } from '../../scenario/schema.ts';
import type { LogSource, SourceItem } from '../types.ts';
import { itemsOf } from './array.ts';
import { splitLines } from './lines.ts';
import { recordReader } from './record.ts';

export interface JsonlSourceOptions {
  mapping?: Partial<EntryMapping>;
  /** The log has no hash fields: the chain check cannot run. */
  hashless?: boolean;
  /** Read chunk size in bytes. */
  chunkBytes?: number;
}

async function isGzip(file: string): Promise<boolean> {
  const fh = await open(file, 'r');
  try {
    const buf = Buffer.alloc(2);
    const { bytesRead } = await fh.read(buf, 0, 2, 0);
    return bytesRead === 2 && buf[0] === 0x1f && buf[1] === 0x8b;
  } finally {
    await fh.close();
  }
}

/** Checks the file exists and is readable before a scan starts (exit 2 with a clear message if not). */
export async function jsonlSource(file: string, opts: JsonlSourceOptions = {}): Promise<LogSource> {
  try {
    const st = await stat(file);
    if (!st.isFile()) throw new Error('not a regular file');
  } catch (e) {
    throw new UsageError(`cannot read the log file ${file}: ${(e as Error).message}`, {
      hint: 'SOURCE is a .jsonl/.ndjson(.gz) file or a postgres:// URL',
      cause: e,
    });
  }
  const gz = await isGzip(file);
  const read = recordReader(opts.mapping, { hashless: opts.hashless ?? false });
  const highWaterMark = opts.chunkBytes ?? 1 << 20;
  async function* batches(signal?: AbortSignal): AsyncIterable<SourceItem[]> {
    const raw = createReadStream(file, { highWaterMark, ...(signal ? { signal } : {}) });
    const stream = gz ? raw.pipe(createGunzip({ chunkSize: highWaterMark })) : raw;
    if (gz) raw.on('error', (e) => stream.destroy(e));
    try {
      for await (const { firstLine, lines } of splitLines(stream as AsyncIterable<Buffer>)) {
        const out: SourceItem[] = [];
        for (let i = 0; i < lines.length; i++) {
          const text = lines[i]!;
          if (text.length === 0 || (text.charCodeAt(0) <= 32 && text.trim() === '')) continue;
          const lineNo = firstLine + i;
          let rec: unknown;
          try {
            rec = JSON.parse(text);
          } catch (e) {
            out.push({
              unreadable: true,
              line: lineNo,
              reason: `not valid JSON (${(e as Error).message})`,
              raw: text.length > 200 ? `${text.slice(0, 200)}...` : text,
            });
            continue;
          }
          out.push(read(rec, lineNo, text));
        }
        if (out.length) yield out;
      }
    } finally {
      stream.destroy();
      raw.destroy();
    }
  }
  const source: LogSource = {
    describe: file,
    ...(opts.hashless ? { notAvailable: { chain: 'the log has no hash fields' } } : {}),
    batches,
    entries: (signal) => itemsOf(batches(signal)),
  };
  return source;
}
