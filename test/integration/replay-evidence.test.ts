/**
 * Replayable evidence: a failing run on the local runtime (real PostgreSQL, proxy, reference
 * service with the truncate-payload and async-commit flaws, the database SIGKILLed mid-run) leaves
 * log.jsonl.gz, history.ndjson and checkpoints.json in its report folder, and a plain
 * `auditchaos scan` of them (the built CLI, a child process) finds what the run found, kind by kind.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { gunzipSync } from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RunSink } from '../../src/report/events.ts';
import { runScenario } from '../../src/run/run-scenario.ts';
import { parseScenario } from '../../src/scenario/load.ts';

const exec = promisify(execFile);
const BIN = path.resolve(import.meta.dirname, '../../bin/auditchaos.js');
const silent: RunSink = { handle() {}, close() {} };
let dir: string;
const stateBefore = process.env.AUDITCHAOS_STATE_DIR;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-replay-'));
  process.env.AUDITCHAOS_STATE_DIR = path.join(dir, 'state');
});
afterAll(() => {
  if (stateBefore === undefined) delete process.env.AUDITCHAOS_STATE_DIR;
  else process.env.AUDITCHAOS_STATE_DIR = stateBefore;
});

describe('the report folder replays the run', () => {
  it('scan of log.jsonl.gz with the history and checkpoints reproduces the finding counts', async () => {
    const scenario = parseScenario(
      `version: 1
name: replay
description: replayable evidence
stack: { runtime: local, flaws: [truncate-payload, async-commit] }
proxies:
  - { name: api, listen: 127.0.0.1:32530, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:32531, upstream: postgres:5432 }
workload:
  writers: 4
  rate: 40/s
  duration: 6s
  timeout: 1s
  event: { payloadBytes: 300 }
  checkpoint: { every: 500ms }
faults:
  - { at: 2s, for: 2s, kind: db-down, mode: kill }
expect: { missing: 0, partial: 0 }
`,
      'replay.yml',
    );
    const r = await runScenario({
      loaded: { file: 'replay.yml', dir, scenario },
      runtime: 'local',
      seed: 14,
      reportsRoot: path.join(dir, 'reports'),
      signal: new AbortController().signal,
      sink: silent,
    });
    expect(r.report.verdict.status, r.report.verdict.reasons.join('; ')).toBe('fail');
    expect(r.report.files).toEqual(
      expect.arrayContaining(['log.jsonl.gz', 'history.ndjson', 'checkpoints.json']),
    );
    const counts = r.report.scan?.counts;
    expect(counts?.partial).toBeGreaterThan(0);

    const lines = gunzipSync(await readFile(path.join(r.reportDir, 'log.jsonl.gz')))
      .toString('utf8')
      .trimEnd()
      .split('\n');
    expect(lines.length).toBe(r.report.scan?.entries);
    expect(Object.keys(JSON.parse(lines[0] as string))).toEqual([
      'seq',
      'event_id',
      'ts',
      'actor',
      'action',
      'payload',
      'prev_hash',
      'hash',
    ]);

    const f = (name: string) => path.join(r.reportDir, name);
    const replay = await exec(
      process.execPath,
      [
        BIN,
        'scan',
        f('log.jsonl.gz'),
        '--history',
        f('history.ndjson'),
        '--checkpoints',
        f('checkpoints.json'),
        '--json',
      ],
      { maxBuffer: 64 << 20 },
    ).catch((e: { code?: number; stdout?: string; stderr?: string }) => {
      // A scan with violations exits 1; anything else is the replay failing.
      expect(e.code, e.stderr).toBe(1);
      return { stdout: e.stdout ?? '' };
    });
    const scanned = JSON.parse(replay.stdout) as {
      counts: Record<string, number>;
      entries: number;
      checksRun: { name: string; ran: boolean }[];
    };
    console.log('run counts', JSON.stringify(counts), 'replay counts', JSON.stringify(scanned.counts));
    expect(scanned.entries).toBe(r.report.scan?.entries);
    expect(
      scanned.checksRun.every((c) => c.ran),
      JSON.stringify(scanned.checksRun),
    ).toBe(true);
    expect(scanned.counts).toEqual(counts);
  }, 120_000);
});
