import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newReferenceLine, parseReferenceLine } from '../../../src/scan/fast-line.ts';
import { referenceLines, toJsonLine, writeJsonl } from '../../../src/scan/generate.ts';
import { lineItemReader } from '../../../src/scan/line-items.ts';
import { scanRange } from '../../../src/scan/range-scan.ts';
import { jcs, referenceHash } from '../../../src/scan/reference-chain.ts';
import { scanLog } from '../../../src/scan/scan.ts';
import { jsonlSource } from '../../../src/scan/sources/jsonl.ts';
import { REFERENCE_MAPPING, recordReader, slowLineItem } from '../../../src/scan/sources/record.ts';
import type { HashedBatch, LogEntry, SourceItem } from '../../../src/scan/types.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-fast-line-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const base = [...referenceLines({ count: 6, payloadBytes: 8 })];
const canonical = base.map((b) => b.line);

/** Lines in and out of the canonical subset; some valid entries, some not, some hash-mismatching. */
const awkward: string[] = [
  ...canonical,
  toJsonLine(base[0]!.entry), // non-canonical key order at the top: fast path, body rebuilt
  canonical[1]!.replace('"payload":{', '"payload":{"zz":1.5e300,'), // keys out of order: slow path
  canonical[1]!.replace('"payload":{', '"payload":{"a":1.5,"b":-0,"c":1e21,"d":100000000000000000000,'),
  canonical[1]!.replace(
    '"payload":{',
    '"payload":{"a":"\\u001f\\n\\"\\\\","b":"\\u000a","c":"\\/","d":"\\u00e9",',
  ),
  canonical[1]!.replace('"payload":{', '"payload":{"a":"é","b":"\\ud800","c":[1,[2,{}],[]],"d":null,'),
  canonical[1]!.replace('"payload":{', '"payload":{"1":true,"10":false,"2":null,'),
  canonical[1]!.replace('"payload":{', '"payload":{"a":1,"a":2,'),
  canonical[2]!.replace('"seq":3', '"seq":"3"'),
  canonical[2]!.replace('"seq":3', '"seq":-0'),
  canonical[2]!.replace('"seq":3', '"seq":3.0'),
  canonical[2]!.replace('"seq":3', '"seq": 3'),
  canonical[2]!.replace('"actor":"user-3"', '"actor":"us\\u0065r-3"'),
  canonical[2]!.replace('"actor":"user-3"', '"actor":"user\\t3"'),
  canonical[2]!.replace('"actor":"user-3"', '"actor":3'),
  canonical[2]!.replace('"actor":"user-3",', ''),
  canonical[2]!.replace('{"action"', '{"extra":1,"action"'),
  canonical[2]!.replace('"payload":{', '"payload":"x","payload":{'),
  canonical[3]!.replace(/"payload":\{[^}]*\}/, '"payload":null'),
  canonical[3]!.replace(/"payload":\{[^}]*\}/, '"payload":""'),
  canonical[3]!.replace(/"payload":\{[^}]*\}/, '"payload":[]'),
  canonical[3]!.replace('"prev_hash":"', '"prev_hash":"zz'),
  `${canonical[4]!} `,
  canonical[4]!.slice(0, -1),
  // non-ASCII text: canonical as it stands (fast path), keys ordered by UTF-16 code units as JCS orders them
  canonical[5]!.replace('"ok":false}', '"ok":false,"é":"Zoë 東京 😀","😀":"\u2028\u007f","｡":[1,"ü"]}'),
  canonical[5]!.replace('"ok":false}', '"ok":false,"｡":1,"😀":2}'), // code point order, not UTF-16: slow path
  canonical[5]!.replace('"actor":"user-6"', '"actor":"Łódź — Kraków"'),
  canonical[5]!.replace('"actor":"user-6"', '"actor":"user\ud83d"'), // a lone surrogate (escaped)
  // payloads not in canonical form (the rest is): only the payload is parsed, unless it is not I-JSON
  canonical[4]!.replace(
    /"payload":\{[^}]*\}/,
    '"payload":{"n": 5, "ip": "10.0.5.0", "ok": true, "data": "x"}',
  ),
  canonical[4]!.replace(/"payload":\{[^}]*\}/, '"payload":{"b": "}{[\\"", "a": [1, {"c": "]"}, -0, 1.50]}'),
  canonical[4]!.replace(/"payload":\{[^}]*\}/, '"payload":{"a": 1, "a": 2}'),
  canonical[4]!.replace(/"payload":\{[^}]*\}/, '"payload":{"b": "\\ud800", "a": 1}'),
  canonical[4]!.replace(/"payload":\{[^}]*\}/, '"payload":{"a": }'),
  canonical[4]!.replace(/"payload":\{[^}]*\}/, '"payload":{"a":1}}'),
  canonical[4]!.replace(/"payload":\{[^}]*\}/, '"payload":1.50'),
  canonical[4]!.replace(/"payload":\{[^}]*\}/, '"payload":[1,2]]'),
  canonical[4]!.replace(/"payload":\{[^}]*\}/, '"payload":{"a":1} '),
  '',
  '   ',
  'null',
  '{}',
];

const strip = (items: SourceItem[]) => items.map((i) => JSON.parse(JSON.stringify(i)) as unknown);

async function collect(file: string, fastPath: boolean, chunkBytes: number) {
  const src = await jsonlSource(file, { fastPath, chunkBytes });
  const items: SourceItem[] = [];
  for await (const b of src.batches!()) items.push(...b);
  const hashed: HashedBatch[] = [];
  if (src.referenceHashedBatches) for await (const b of src.referenceHashedBatches()) hashed.push(b);
  return { items, hashed };
}

describe('the canonical-line fast path', () => {
  it('accepts only lines whose value texts are their own canonical JSON', () => {
    const ref = newReferenceLine();
    for (const l of canonical) expect(parseReferenceLine(l, 0, l.length, ref)).toBe(true);
    const accepted = awkward
      .slice(canonical.length + 1)
      .filter((l) => parseReferenceLine(l, 0, l.length, ref));
    // Accepted among the awkward ones: only those equal to their canonical form after a round trip.
    for (const l of accepted) {
      const rec = JSON.parse(l) as Record<string, unknown>;
      expect(jcs(rec.payload)).toBe(l.slice(l.indexOf('"payload":') + 10, l.indexOf(',"seq"')));
    }
  });

  it('takes non-ASCII text, surrogate pairs included, but never a lone surrogate', () => {
    const ref = newReferenceLine();
    const line = (actor: string) => canonical[2]!.replace('"actor":"user-3"', `"actor":"${actor}"`);
    for (const ok of ['Zoë', '東京', '😀', 'a\u2028b', 'café'])
      expect(parseReferenceLine(line(ok), 0, line(ok).length, ref), ok).toBe(true);
    for (const bad of ['\ud83d', '\ude00', 'x\ude00\ud83d', '\ud83d-x']) {
      const l = line(bad);
      expect(parseReferenceLine(l, 0, l.length, ref), JSON.stringify(bad)).toBe(false);
    }
  });

  it('with loosePayload, takes a payload in any form and only marks it', () => {
    const ref = newReferenceLine();
    const jsonb = canonical[4]!.replace(/"payload":\{[^}]*\}/, '"payload":{"n": 5, "ip": "]", "data": "x"}');
    expect(parseReferenceLine(jsonb, 0, jsonb.length, ref)).toBe(false);
    expect(parseReferenceLine(jsonb, 0, jsonb.length, ref, true)).toBe(true);
    expect(ref.payloadLoose).toBe(true);
    const at = ref.at;
    expect(jsonb.slice(at[10]!, at[11]!)).toBe('{"n": 5, "ip": "]", "data": "x"}');
    expect(parseReferenceLine(canonical[4]!, 0, canonical[4]!.length, ref, true)).toBe(true);
    expect(ref.payloadLoose).toBe(false);
    const spaced = jsonb.replace('"seq":', '"seq": ');
    expect(parseReferenceLine(spaced, 0, spaced.length, ref, true)).toBe(false); // the rest stays strict
  });

  it('reads the same items as JSON.parse, and hashes as referenceHash, on awkward lines and any chunking', async () => {
    const file = path.join(dir, 'awkward.jsonl');
    await writeJsonl(file, awkward);
    const slow = await collect(file, false, 1 << 16);
    expect(slow.hashed).toEqual([]);
    for (const chunkBytes of [1 << 16, 97, 7]) {
      const fast = await collect(file, true, chunkBytes);
      expect(strip(fast.items)).toEqual(strip(slow.items));
      const hashed = fast.hashed.flatMap((b) => b.items.map((item, i) => ({ item, h: b.hashes?.[i] })));
      expect(strip(hashed.map((x) => x.item))).toEqual(strip(slow.items));
      let known = 0;
      for (const { item, h } of hashed) {
        if (h === undefined) continue;
        known++;
        const e = item as LogEntry;
        expect(h).toBe(referenceHash(e.prevHash, e));
      }
      expect(known).toBeGreaterThan(canonical.length);
    }
  });

  it('gives the same findings with and without the fast path on a damaged log', async () => {
    const file = path.join(dir, 'damaged.jsonl');
    const lines = [...referenceLines({ count: 300, payloadBytes: 16 })].map((b) => b.line);
    lines[10] = lines[10]!.replace('"ok":true', '"ok":false'); // content edit
    lines.splice(50, 1); // deletion
    [lines[100], lines[101]] = [lines[101]!, lines[100]!]; // swap
    lines[150] = lines[150]!.replace(/"payload":\{[^}]*\}/, '"payload":{"b":1,"a":2}'); // non-canonical
    lines[200] = '{"seq": 201, broken';
    lines.push(lines[20]!); // duplicate
    await writeJsonl(file, lines);
    const fast = await scanLog({ source: await jsonlSource(file) });
    const slow = await scanLog({ source: await jsonlSource(file, { fastPath: false }) });
    const view = (r: typeof fast) => ({ ...r, durationMs: 0 });
    expect(view(fast)).toEqual(view(slow));
    expect(fast.findings.length).toBeGreaterThanOrEqual(6);
    expect(fast.verdict.status).toBe('fail');
  });

  it('byte mode (range workers) reads the same items and hashes as text mode', () => {
    const read = recordReader(REFERENCE_MAPPING, { hashless: false });
    const slowItem = (t: string, n: number) => slowLineItem(read, t, n);
    // non-ASCII in every field, in a loose payload, and lines long enough to be hashed in place
    const extra = [
      canonical[5]!.replace('"action":"', '"action":"Zürich '),
      canonical[5]!.replace(/"payload":\{[^}]*\}/, '"payload":{"n": 5, "note": "東京 😀"}'),
      canonical[5]!.replace(/"prev_hash":"[0-9a-f]{64}"/, `"prev_hash":"${'A'.repeat(64)}"`),
      canonical[5]!.replace(/"prev_hash":"[0-9a-f]{64}"/, `"prev_hash":"${'0'.repeat(63)}g"`),
    ];
    // (a raw lone surrogate of `awkward` becomes U+FFFD in UTF-8: compare with the text of the bytes)
    const bytes = Buffer.from([...awkward, ...extra, ...canonical].join('\n'), 'utf8');
    const text = bytes.toString('utf8');
    const hashesBy: (string | undefined)[][] = [];
    for (const lazyPayload of [false, true]) {
      const opts = { fast: true, slowItem, lazyPayload };
      const inText: HashedBatch = { items: [], hashes: [] };
      const next = lineItemReader(opts)(inText, text, 0, text.length, 1);
      const inBytes: HashedBatch = { items: [], hashes: [] };
      const copy = Buffer.from(bytes);
      const nextB = lineItemReader(opts)(inBytes, copy.toString('latin1'), 0, copy.length, 1, copy);
      expect(nextB).toBe(next);
      expect(strip(inBytes.items)).toEqual(strip(inText.items));
      expect(inBytes.hashes).toEqual(inText.hashes);
      // ... and the hashes known are the reference hashes
      const known = inBytes.hashes!.filter((h) => h !== undefined).length;
      expect(known).toBeGreaterThan(2 * canonical.length);
      hashesBy.push(inBytes.hashes!);
    }
    // entries keeping their payload as text canonicalize loose payloads otherwise (jsonb-jcs.ts): same hashes
    expect(hashesBy[1]).toEqual(hashesBy[0]);
  });

  it('a range scan gives the one-thread findings on awkward lines, invalid UTF-8 included', async () => {
    const lines = [...referenceLines({ count: 40, payloadBytes: 16 })].map((b) => b.line);
    lines[3] = lines[3]!.replace('"ok":', '"é":"Zoë 東京","ok":'); // non-ASCII, rehash broken
    lines[8] = lines[8]!.replace(/"payload":\{[^}]*\}/, '"payload":{"n": 9, "b": "ü", "a": 1}');
    lines.splice(12, 0, ...awkward.slice(canonical.length));
    const file = path.join(dir, 'bytes.jsonl');
    const parts = lines.map((l) => Buffer.from(`${l}\n`, 'utf8'));
    // an invalid UTF-8 byte inside a string: the block is read as text, U+FFFD and all
    parts.splice(
      30,
      0,
      Buffer.concat([
        Buffer.from(canonical[2]!.slice(0, 30)),
        Buffer.from([0xff]),
        Buffer.from(`${canonical[2]!.slice(30)}\n`),
      ]),
    );
    for (const invalid of [false, true]) {
      await writeFile(file, Buffer.concat(invalid ? parts : parts.filter((_, i) => i !== 30)));
      const one = await scanLog({ source: await jsonlSource(file, { fastPath: false, workers: 0 }) });
      const size = Buffer.concat(invalid ? parts : parts.filter((_, i) => i !== 30)).length;
      const r = scanRange({ file, start: 0, end: size }, {});
      const findings = r.events.flatMap((e) => ('f' in e ? [e.f] : []));
      // the one-thread scan's findings, but for the end-of-scan ones (duplicates, the held entry)
      const inRange = one.findings.filter((f) => f.check !== 'duplicate');
      expect(findings.slice(0, inRange.length - 1)).toEqual(inRange.slice(0, inRange.length - 1));
      expect(r.entries).toBe(one.entries);
      expect(r.unreadable).toBe(one.unreadable);
      expect(findings.length).toBeGreaterThan(10);
    }
  });
});
