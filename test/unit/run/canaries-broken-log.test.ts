/**
 * Canaries on a log broken everywhere (the CI failure of 2026-12-02: 0/5 caught under load): the
 * sample's own findings outnumber the findings cap, so a canary's finding came after the cut and a
 * working check was called blind. The canary check must see every finding.
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { scanStep } from '../../../src/run/scan-step.ts';
import { referenceEntries } from '../../../src/scan/generate.ts';
import { parseScenario } from '../../../src/scenario/load.ts';

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-canary-broken-'));
});
afterAll(() => rm(dir, { recursive: true, force: true }));

describe('canaries on a log with more findings than the cap', () => {
  it('are 5/5 when every link of 3000 entries is broken', async () => {
    const lines: string[] = [];
    for (const e of referenceEntries({ count: 3000 })) {
      // every entry links to a hash nobody has: 3000 broken-chain findings, past the 1000 cap
      lines.push(
        JSON.stringify({
          ...e,
          prev_hash: 'ab'.repeat(32),
          event_id: e.eventId,
          prevHash: undefined,
          eventId: undefined,
        }),
      );
    }
    await writeFile(path.join(dir, 'log.jsonl'), `${lines.join('\n')}\n`);
    const scenario = parseScenario(
      `version: 1
name: broken
description: broken everywhere
workload: { rate: 1/s, duration: 1s }
scan: { source: { kind: jsonl, path: log.jsonl } }
`,
      'broken.yml',
    );
    const r = await scanStep({
      scenario,
      scenarioDir: dir,
      endpoints: { proxies: {} } as never,
      ledger: [],
      seed: 3,
    });
    expect(r.counts?.['broken-chain'] ?? 0).toBeGreaterThan(1000);
    expect(r.canaries?.results.map((c) => [c.name, c.caught])).toEqual([
      ['edited payload', true],
      ['deleted entry', true],
      ['reordered pair', true],
      ['truncated entry', true],
      ['reused event id', true],
    ]);
  });
});
