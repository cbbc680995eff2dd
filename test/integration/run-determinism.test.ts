/**
 * `auditchaos run a.yml a.yml --seed N`: two runs in one invocation. The same scenario and seed give
 * the same fault plan and the same workload plan (payloads and their order, the random part of the
 * event ids); the index page and the combined junit.xml cover both runs.
 */
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { XMLParser } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

describe('same scenario, same seed (real binary, local runtime)', () => {
  it('plans the same faults and the same workload twice, and writes one index + junit for both', async () => {
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-det-'));
    const file = path.join(dir, 'tiny.yml');
    await writeFile(
      file,
      `version: 1
name: tiny
description: two seconds of writes with a jittered latency fault, run twice with one seed
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:23080, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:23432, upstream: postgres:5432 }
workload: { writers: 4, rate: 40/s, duration: 2s }
faults:
  - { at: 200ms, for: 300ms, every: 800ms, count: 2, startJitter: 200ms, kind: latency, proxy: db, latency: 5ms }
`,
    );
    const reports = path.join(dir, 'reports');
    const r = await runCli(['run', file, file, '--seed', '7', '--quiet', '--reports-dir', reports], {
      env: { AUDITCHAOS_STATE_DIR: path.join(dir, 'state') },
      timeout: 180_000,
    });
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const runs = (await readdir(reports)).filter((d) => d.startsWith('tiny-')).sort();
    expect(runs).toHaveLength(2);
    const [a, b] = await Promise.all(
      runs.map(async (d) => ({
        report: JSON.parse(await readFile(path.join(reports, d, 'report.json'), 'utf8')),
        history: (await readFile(path.join(reports, d, 'history.ndjson'), 'utf8'))
          .trim()
          .split('\n')
          .map((l) => JSON.parse(l)),
      })),
    );
    if (!a || !b) throw new Error('two runs expected');
    expect(a.report.seed).toBe(7);
    expect(b.report.faults.map((f: { plannedAt: number }) => f.plannedAt)).toEqual(
      a.report.faults.map((f: { plannedAt: number }) => f.plannedAt),
    );
    // The workload plan: the same payloads in the same order, ids equal but for their time field.
    const plan = (h: { planIndex: number; payloadDigest: string; eventId: string }[]) =>
      [...h]
        .sort((x, y) => x.planIndex - y.planIndex)
        .map((o) => `${o.planIndex} ${o.payloadDigest} ${o.eventId.slice(14)}`);
    expect(a.history.length).toBe(80);
    expect(plan(b.history)).toEqual(plan(a.history));
    expect(new Set(a.history.map((o: { eventId: string }) => o.eventId)).size).toBe(80);

    const junit = new XMLParser({ ignoreAttributes: false }).parse(
      await readFile(path.join(reports, 'junit.xml'), 'utf8'),
    );
    const suites = [junit.testsuites.testsuite].flat();
    expect(suites).toHaveLength(2);
    expect(await readFile(path.join(reports, 'index.html'), 'utf8')).toContain(runs[1]);
  }, 200_000);
});
