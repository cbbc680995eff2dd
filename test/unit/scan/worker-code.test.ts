import { statSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { referenceLines, writeJsonl } from '../../../src/scan/generate.ts';
import { ScanWorkerPool } from '../../../src/scan/parallel.ts';
import type { RangeSummary } from '../../../src/scan/range-scan.ts';
import { scanRange } from '../../../src/scan/range-scan.ts';
import { bundledWorkerCode, loaderBootCode } from '../../../src/scan/worker-code.ts';

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-worker-code-'));
  file = path.join(dir, 'log.jsonl');
  const lines = [...referenceLines({ count: 500, payloadBytes: 16 })].map((b) => b.line);
  lines[100] = lines[100]!.replace('"ok":', '"ok2":1,"ok":'); // one broken hash
  await writeJsonl(file, lines);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

async function rangeIn(boot: string): Promise<{ summary: RangeSummary; readyMs: number }> {
  const t = performance.now();
  const pool = new ScanWorkerPool(1, boot);
  try {
    await pool.whenReady();
    const readyMs = performance.now() - t;
    await pool.send(0, { type: 'context', context: {} });
    const job = { file, start: 0, end: statSync(file).size };
    const r = await pool.send<{ summary?: RangeSummary; error?: string }>(0, { type: 'range', job });
    expect(r.error).toBeUndefined();
    return { summary: r.summary!, readyMs };
  } finally {
    await pool.close();
  }
}

describe('the scan workers’ code', () => {
  it('is one bundled script, and it verifies a range as the loader path and this thread do', async () => {
    const b = bundledWorkerCode();
    expect('code' in b ? b.code.length : b.error).toBeGreaterThan(1000);
    const bundled = await rangeIn('code' in b ? b.code : '');
    const loader = await rangeIn(loaderBootCode());
    const here = scanRange({ file, start: 0, end: statSync(file).size }, {});
    const view = (s: RangeSummary) => ({ ...s, fingerprints: [...s.fingerprints] });
    expect(view(bundled.summary)).toEqual(view(here));
    expect(view(loader.summary)).toEqual(view(here));
    expect(here.events.length).toBeGreaterThan(0);
    // the reason for the bundle: a worker that transpiles nothing starts sooner
    expect(bundled.readyMs).toBeLessThan(loader.readyMs);
  });
});
