/**
 * The postmortem story on real parts (issue 14): async-commit under a database SIGKILL on the local
 * runtime (real PostgreSQL, proxy, reference service). Every missing entry carries its ack time and
 * the nearest fault, md groups them under that fault, and the header says what was lost, aloud.
 */
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import type { RunSink } from '../../src/report/events.ts';
import type { Report } from '../../src/report/model.ts';
import { runScenario } from '../../src/run/run-scenario.ts';
import { parseScenario } from '../../src/scenario/load.ts';

const silent: RunSink = { handle() {}, close() {} };
let dir: string;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-story-'));
  process.env.AUDITCHAOS_STATE_DIR = path.join(dir, 'state');
});

describe('findings with their story', () => {
  it('async-commit: each missing entry has its ack time and the nearest fault, grouped under it', async () => {
    const scenario = parseScenario(
      `version: 1
name: story
description: async-commit under a database SIGKILL
stack: { runtime: local, flaws: [async-commit] }
proxies:
  - { name: api, listen: 127.0.0.1:31680, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:31681, upstream: postgres:5432 }
workload: { writers: 8, rate: 300/s, duration: 8s, timeout: 1s }
faults:
  - { at: 3s, for: 2s, kind: db-down, mode: kill }
`,
      'story.yml',
    );
    const r = await runScenario({
      loaded: { file: 'story.yml', dir, scenario },
      runtime: 'local',
      seed: 14,
      reportsRoot: path.join(dir, 'reports'),
      signal: new AbortController().signal,
      sink: silent,
    });
    expect(r.exitCode, r.report.verdict.reasons.join('; ')).toBe(1);
    const json = JSON.parse(await readFile(path.join(r.reportDir, 'report.json'), 'utf8')) as Report;
    const missing = json.findings.filter((f) => f.kind === 'missing');
    expect(missing.length).toBeGreaterThan(0);
    const f1 = json.faults.find((f) => f.id === 'f1');
    for (const f of missing) {
      expect(f.story?.writer.outcome).toBe('ok');
      expect(f.story?.nearest?.id).toBe('f1');
      // acknowledged before the kill (or as it struck): the loss is the kill's
      expect(f.story?.writer.answeredAt).toBeLessThanOrEqual((f1?.endedAt ?? 0) + 1);
      expect(f.story?.text).toMatch(/^sent at \d+\.\d\d s, acked at \d+\.\d\d s, .*f1 db-down kill/);
    }
    expect(json.overview?.subject).toBe('the reference service with flaws async-commit, local runtime');
    expect(json.overview?.sentences[0]).toMatch(
      new RegExp(`^${json.scan?.counts?.missing} acknowledged events? (was|were) lost, .*f1 db-down kill`),
    );
    const md = await readFile(path.join(r.reportDir, 'report.md'), 'utf8');
    expect(md).toMatch(/### near f1 db-down kill/);
    expect(md).toContain(missing[0]?.story?.text);
    expect(md).toContain(`**${json.overview?.sentences[0]}**`);
    const junit = await readFile(path.join(r.reportDir, 'junit.xml'), 'utf8');
    expect(junit).toContain('name="flaws" value="async-commit"');
  }, 120_000);
});
