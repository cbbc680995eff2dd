import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { gzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { toJsonLine } from '../../../src/scan/generate.ts';
import { batchesOf, fromArray } from '../../../src/scan/sources/array.ts';
import { jsonlSource } from '../../../src/scan/sources/jsonl.ts';
import { splitLines } from '../../../src/scan/sources/lines.ts';
import { recordReader } from '../../../src/scan/sources/record.ts';
import { isUnreadable, type LogSource, type SourceItem } from '../../../src/scan/types.ts';
import { makeLog } from './helpers.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-scan-src-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function all(source: LogSource): Promise<SourceItem[]> {
  const out: SourceItem[] = [];
  for await (const item of source.entries()) out.push(item);
  return out;
}

describe('JSONL source', () => {
  it('reads plain and gzip files identically, entry for entry, with line numbers', async () => {
    const log = makeLog(50);
    const text = `${log.map(toJsonLine).join('\n')}\n`;
    const plain = path.join(dir, 'a.jsonl');
    const gz = path.join(dir, 'a.jsonl.gz');
    await writeFile(plain, text);
    await writeFile(gz, gzipSync(text));
    const a = await all(await jsonlSource(plain));
    const b = await all(await jsonlSource(gz));
    expect(a).toHaveLength(50);
    expect(b).toEqual(a);
    expect(a[0]).toEqual({ ...log[0], line: 1 });
    expect(a[49]).toMatchObject({ seq: 50, line: 50 });
  });

  it('reads an empty file and a one-entry file without a final newline', async () => {
    const empty = path.join(dir, 'empty.jsonl');
    await writeFile(empty, '');
    expect(await all(await jsonlSource(empty))).toEqual([]);
    const one = path.join(dir, 'one.jsonl');
    await writeFile(one, toJsonLine(makeLog(1)[0]!));
    expect(await all(await jsonlSource(one))).toHaveLength(1);
  });

  it('keeps multi-byte characters split across read chunks, accepts CRLF and skips blank lines', async () => {
    const log = makeLog(20).map((e) => ({ ...e, actor: 'ünïcødé 漢字 😀'.repeat(3) }));
    const file = path.join(dir, 'utf8.jsonl');
    await writeFile(file, `${log.map(toJsonLine).join('\r\n')}\r\n\r\n`);
    const items = await all(await jsonlSource(file, { chunkBytes: 7 }));
    expect(items).toHaveLength(20);
    expect(items.every((i) => !isUnreadable(i) && i.actor === log[0]!.actor)).toBe(true);
  });

  it('turns a bad line into an unreadable item with its line number, and goes on', async () => {
    const log = makeLog(3);
    const file = path.join(dir, 'bad.jsonl');
    await writeFile(file, [toJsonLine(log[0]!), '{"seq":2,"event_id":"x",', toJsonLine(log[2]!)].join('\n'));
    const items = await all(await jsonlSource(file));
    expect(items.map((i) => (isUnreadable(i) ? `bad@${i.line}` : `ok@${i.seq}`))).toEqual([
      'ok@1',
      'bad@2',
      'ok@3',
    ]);
  });

  it('says plainly when the file does not exist', async () => {
    await expect(jsonlSource(path.join(dir, 'nope.jsonl'))).rejects.toThrow(/cannot read the log file/);
  });
});

describe('record reader (field mapping)', () => {
  const read = recordReader();
  const e = makeLog(1)[0]!;
  const rec = JSON.parse(toJsonLine(e));

  it('maps the reference field names, and others through a mapping', () => {
    expect(read(rec)).toEqual(e);
    const custom = recordReader({ eventId: 'id', seq: 'n' });
    const { event_id, seq, ...rest } = rec;
    expect(custom({ ...rest, id: event_id, n: String(seq) })).toEqual(e);
  });

  it('marks missing or mistyped fields unreadable, keeps empty strings readable', () => {
    const { actor: _, ...noActor } = rec;
    expect(read(noActor)).toMatchObject({ unreadable: true, seq: 1, reason: 'field actor missing' });
    expect(read({ ...rec, seq: 'x' })).toMatchObject({
      unreadable: true,
      reason: 'field seq is not an integer',
    });
    expect(read({ ...rec, ts: 5 })).toMatchObject({ unreadable: true, reason: 'field ts is not a string' });
    expect(read([1, 2])).toMatchObject({ unreadable: true, reason: 'not a JSON object' });
    expect(read({ ...rec, actor: '' })).toMatchObject({ actor: '' });
  });

  it('reads hashless logs', () => {
    const { hash: _h, prev_hash: _p, ...noHash } = rec;
    expect(recordReader({}, { hashless: true })(noHash)).toMatchObject({ hash: '', prevHash: '' });
  });
});

describe('line splitting and batching', () => {
  it('splits lines across chunks and numbers them', async () => {
    async function* chunks() {
      yield Buffer.from('a\nb');
      yield Buffer.from('c\n\nd');
    }
    const out: string[] = [];
    for await (const b of splitLines(chunks()))
      for (const [i, l] of b.lines.entries()) out.push(`${b.firstLine + i}:${l}`);
    expect(out).toEqual(['1:a', '2:bc', '3:', '4:d']);
  });

  it('fromArray streams items one by one and in batches', async () => {
    const log = makeLog(5000);
    const src = fromArray(log);
    expect((await all(src)).length).toBe(5000);
    let n = 0;
    for await (const b of batchesOf({ describe: 'x', entries: src.entries })) n += b.length;
    expect(n).toBe(5000);
  });
});
