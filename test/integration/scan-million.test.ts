/**
 * A clean log of 1,000,000 reference entries scans with zero findings; the same log with defects
 * planted at known places yields exactly those. Both files are written in one generation pass.
 */

import { once } from 'node:events';
import { createWriteStream } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventIdFor, referenceLines, rehash, toJsonLine } from '../../src/scan/generate.ts';
import { scanLog } from '../../src/scan/scan.ts';
import { jsonlSource } from '../../src/scan/sources/jsonl.ts';
import type { LogEntry } from '../../src/scan/types.ts';

const N = Number(process.env.AUDITCHAOS_SCAN_TEST_N ?? 1_000_000);
let dir: string;
let clean: string;
let defective: string;

/** seq -> what happens to it in the defective copy. */
type Plant = (e: LogEntry, line: string) => string[];
const plants = new Map<number, Plant>([
  [1, (e) => [toJsonLine({ ...e, payload: { edited: true } })]], // edited, not rehashed
  [N / 4, () => []], // deleted
  [N / 2, (_e, line) => [line.slice(0, Math.floor(line.length / 2))]], // truncated write
  [(N / 10) * 9, (e) => [toJsonLine({ ...e, actor: '' })]], // emptied field, not rehashed
  [N, (e) => [toJsonLine(rehash({ ...e, eventId: eventIdFor(10) }))]], // reused event id (rehashed)
]);
const SWAP = (N / 10) * 6; // seq 600000 and 600001 stored in the wrong order

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-scan-1m-'));
  clean = path.join(dir, 'clean.jsonl');
  defective = path.join(dir, 'defective.jsonl');
  const a = createWriteStream(clean);
  const b = createWriteStream(defective);
  let bufA = '';
  let bufB = '';
  let held = '';
  for (const { entry: e, line } of referenceLines({ count: N, payloadBytes: 16 })) {
    bufA += `${line}\n`;
    const plant = plants.get(e.seq);
    const out = plant ? plant(e, line) : [line];
    if (e.seq === SWAP) {
      held = out[0]!;
      continue;
    }
    for (const l of out) bufB += `${l}\n`;
    if (e.seq === SWAP + 1) bufB += `${held}\n`;
    if (bufA.length > 1 << 20) {
      const wa = a.write(bufA);
      const wb = b.write(bufB);
      bufA = '';
      bufB = '';
      // both waits registered before either is awaited: a drain must not pass unseen
      await Promise.all([wa || once(a, 'drain'), wb || once(b, 'drain')]);
    }
  }
  a.end(bufA);
  b.end(bufB);
  await Promise.all([once(a, 'finish'), once(b, 'finish')]);
}, 300_000);

afterAll(async () => {
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('scanning a 1,000,000-entry JSONL log', () => {
  it('finds nothing in the clean log', async () => {
    const r = await scanLog({ source: await jsonlSource(clean) });
    expect(r.entries).toBe(N);
    expect(r.findings).toEqual([]);
    expect(r.verdict.status).toBe('pass');
  }, 300_000);

  it('finds exactly the planted defects, each once, in the defective copy', async () => {
    const r = await scanLog({ source: await jsonlSource(defective) });
    const got = r.findings.map((f) => `${f.kind}@${f.seq ?? `line${f.line}`}`).sort();
    expect(got).toEqual(
      [
        'broken-chain@1', // edited payload
        `broken-chain@${N / 4 + 1}`, // gap: seq N/4 deleted
        `partial@line${N / 2 - 1}`, // truncated line (one line earlier: seq N/4 is gone)
        `broken-chain@${SWAP}`, // swapped pair
        `broken-chain@${(N / 10) * 9}`, // emptied actor: hash no longer matches
        `partial@${(N / 10) * 9}`, // ... and a required field is empty
        `duplicate@${N}`, // event id of seq 10 reused
      ].sort(),
    );
    expect(r.entries).toBe(N - 1);
    expect(r.verdict.status).toBe('fail');
  }, 300_000);
});
