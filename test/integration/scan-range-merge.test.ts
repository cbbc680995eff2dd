/**
 * Range summaries (src/scan/range-job.ts, summary-file.ts): ranges of one log verified by separate
 * processes of the real binary (`scan --range --summary-out`), merged by `scan merge`, give the
 * result of one scan of the whole log, finding for finding, with the same exit code; bad input
 * (ranges that overlap or leave a gap, another version, another log, recipe or inputs, a file
 * that is not a summary) is exit 2 with a message, never a stack trace.
 */
import { copyFile, mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeJsonl } from '../../src/scan/generate.ts';
import { mergeSource, rangeInputs, summarizeRange } from '../../src/scan/range-job.ts';
import { rangeStats } from '../../src/scan/range-merge.ts';
import { scanLog } from '../../src/scan/scan.ts';
import { jsonlSource } from '../../src/scan/sources/jsonl.ts';
import { decodeSummary, encodeSummary } from '../../src/scan/summary-file.ts';
import { runCli } from '../helpers/cli.ts';
import { checkpointsFor, DAMAGE_KINDS, damagedLines, historyFor } from '../helpers/damaged-log.ts';

let dir: string;
const at = (name: string) => path.join(dir, name);
let lines: string[];
let log: string;
let inputs: string[];

/** The damaged log, with a fork, a link skipping an entry and garbage right where cuts fall. */
function lines4(): string[] {
  const l = damagedLines();
  const fork = JSON.parse(l[11_000]!) as Record<string, unknown>;
  l.splice(11_001, 0, JSON.stringify({ ...fork, event_id: 'forked', hash: 'ee'.repeat(32) }));
  l[13_000] = l[13_000]!.replace(
    /"prev_hash":"[0-9a-f]{64}"/,
    `"prev_hash":${JSON.stringify(JSON.parse(l[12_998]!).hash)}`,
  );
  return l;
}

const noStack = (stderr: string) => expect(stderr).not.toMatch(/^\s+at .+:\d+:\d+\)?$/m);
const sameAsOne = (merged: string, one: string) => {
  const a = JSON.parse(merged) as Record<string, unknown>;
  const b = JSON.parse(one) as Record<string, unknown>;
  a.durationMs = 0;
  b.durationMs = 0;
  expect(a).toEqual(b);
};

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-range-merge-'));
  lines = lines4();
  log = at('damaged.jsonl');
  await writeJsonl(log, lines);
  await writeFile(
    at('history.ndjson'),
    `${historyFor(lines)
      .map((o) => JSON.stringify(o))
      .join('\n')}\n`,
  );
  await writeFile(at('checkpoints.json'), JSON.stringify(checkpointsFor(lines)));
  inputs = ['--history', at('history.ndjson'), '--checkpoints', at('checkpoints.json')];
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('scan --range --summary-out, scan merge', () => {
  it('4 summaries made by 4 processes, merged, equal one scan of the damaged log (findings, counts, verdict, exit code)', async () => {
    const one = await runCli(['scan', log, '--json', ...inputs]);
    expect(one.exitCode).toBe(1);
    const oneResult = JSON.parse(one.stdout) as { counts: Record<string, number> };
    for (const k of DAMAGE_KINDS) expect(oneResult.counts[k]).toBeGreaterThan(0);

    const jobs = await Promise.all(
      [0, 1, 2, 3].map((k) =>
        runCli(['scan', log, '--range', `${k}/4`, '--summary-out', at(`part-${k}.json`), ...inputs]),
      ),
    );
    for (const j of jobs) {
      expect(j.stderr).toBe('');
      expect(j.exitCode).toBe(0);
    }
    // in any order
    const parts = [2, 0, 3, 1].map((k) => at(`part-${k}.json`));
    const merged = await runCli(['scan', 'merge', ...parts, '--json', ...inputs]);
    expect(merged.stderr).toBe('');
    expect(merged.exitCode).toBe(one.exitCode);
    sameAsOne(merged.stdout, one.stdout);

    // byte cuts inside lines, one right on the fork and one on the broken JSON line
    const forkAt = Buffer.byteLength(lines.slice(0, 11_001).join('\n')) + 5;
    const brokenAt = Buffer.byteLength(lines.slice(0, 2000).join('\n')) + 3;
    const cuts = [0, brokenAt, forkAt, forkAt + 4_000];
    const byBytes = await Promise.all(
      cuts.map((c, i) =>
        runCli([
          'scan',
          log,
          '--range',
          `${c}..${cuts[i + 1] ?? ''}`,
          '--summary-out',
          at(`bytes-${i}.json`),
          ...inputs,
          '--json',
        ]),
      ),
    );
    for (const j of byBytes) expect(j.exitCode).toBe(0);
    const ranges = byBytes.map((j) => JSON.parse(j.stdout) as { start: number; end: number });
    expect(ranges[1]!.start).toBeGreaterThan(brokenAt); // snapped to the next line start
    const human = await runCli(['scan', 'merge', ...cuts.map((_, i) => at(`bytes-${i}.json`)), ...inputs]);
    expect(human.exitCode).toBe(1);
    expect(human.stdout).toContain('verdict: FAIL');
    const json = await runCli([
      'scan',
      'merge',
      ...cuts.map((_, i) => at(`bytes-${i}.json`)),
      ...inputs,
      '--json',
    ]);
    sameAsOne(json.stdout, one.stdout);
  }, 120_000);

  it('ranges whose guessed start state is wrong are verified again by the merge; the log is read only when needed', async () => {
    const history = historyFor(lines);
    const checkpoints = checkpointsFor(lines);
    const one = await scanLog({
      source: await jsonlSource(log, { workers: 0 }),
      ledger: history,
      checkpoints,
      maxFindings: 100_000,
    });
    // 40 ranges, each guessing its start state from no line before it: every guess is wrong
    const files = [];
    for (let k = 0; k < 40; k++) {
      const s = summarizeRange({
        file: log,
        range: { part: k, parts: 40 },
        history,
        checkpoints,
        warmLines: 0,
      });
      files.push(decodeSummary(encodeSummary(s), `part ${k}`)); // through the file format
    }
    const before = rangeStats().reruns;
    const merged = await scanLog({
      source: mergeSource(files, {
        names: files.map((_, k) => `part ${k}`),
        inputs: rangeInputs(history, checkpoints).inputs,
      }),
      ledger: history,
      checkpoints,
      maxFindings: 100_000,
    });
    expect(rangeStats().reruns - before).toBeGreaterThan(30);
    expect({ ...merged, durationMs: 0 }).toEqual({ ...one, durationMs: 0 });

    // the merge must re-read the log (repeated event ids): moved away, that is exit 2 with what to do
    for (let k = 0; k < 4; k++) await writeFile(at(`m-${k}.json`), await readFile(at(`part-${k}.json`)));
    const moved = at('moved.jsonl');
    await rename(log, moved);
    try {
      const missing = await runCli([
        'scan',
        'merge',
        ...[0, 1, 2, 3].map((k) => at(`m-${k}.json`)),
        ...inputs,
      ]);
      expect(missing.exitCode).toBe(2);
      expect(missing.stderr).toContain('to confirm repeated event ids');
      expect(missing.stderr).toContain('--source');
      noStack(missing.stderr);
      const found = await runCli([
        'scan',
        'merge',
        ...[0, 1, 2, 3].map((k) => at(`m-${k}.json`)),
        ...inputs,
        '--source',
        moved,
        '--json',
      ]);
      expect(found.exitCode).toBe(1);
      expect((JSON.parse(found.stdout) as { counts: unknown }).counts).toEqual(one.counts);
    } finally {
      await rename(moved, log);
    }
  }, 120_000);

  it('bad input is exit 2 with a message, never a stack trace', async () => {
    const part = (k: number) => at(`part-${k}.json`);
    const text = await readFile(part(1), 'utf8');
    await writeFile(at('v2.json'), text.replace('"version":1', '"version":2'));
    await writeFile(at('recipe.json'), text.replace('"recipe":"reference-v1"', '"recipe":"sha512-v1"'));
    await writeFile(at('half.json'), text.slice(0, text.length / 2));
    await writeFile(at('shape.json'), text.replace('"lines":', '"lines":-'));
    await writeFile(at('other.jsonl'), `${lines.slice(0, 100).join('\n')}\n`);
    const other = await runCli([
      'scan',
      at('other.jsonl'),
      '--range',
      '1/4',
      '--summary-out',
      at('other.json'),
    ]);
    expect(other.exitCode).toBe(0);
    await copyFile(log, at('copy.jsonl'));
    const cases: [string[], RegExp][] = [
      [[part(0), part(1), part(3)], /gap: bytes \d+\.\.\d+ are in none of them/],
      [[part(0), part(1), part(2)], /gap: bytes \d+\.\.\d+ \(the end of the log\)/],
      [[part(1), part(2), part(3)], /gap: bytes 0\.\.\d+/],
      [[part(0), part(1), part(1), part(2), part(3)], /overlap/],
      [[part(0), at('v2.json'), part(2), part(3)], /version 2, this auditchaos reads version 1/],
      [[part(0), at('recipe.json'), part(2), part(3)], /hash recipe "sha512-v1"/],
      [[part(0), at('other.json'), part(2), part(3)], /summaries of different logs/],
      [[part(0), at('half.json'), part(2), part(3)], /not a range summary \(not valid JSON/],
      [[part(0), at('shape.json'), part(2), part(3)], /not a valid range summary: range\.lines/],
      [[part(0), at('nope.json')], /nope\.json: cannot read it \(ENOENT\)/],
      [[at('history.ndjson')], /not a range summary/],
    ];
    for (const [files, message] of cases) {
      const r = await runCli(['scan', 'merge', ...files, ...inputs]);
      expect({ files, code: r.exitCode, stderr: r.stderr }).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(message),
      });
      noStack(r.stderr);
    }
    // other inputs than the range jobs had
    const noHistory = await runCli(['scan', 'merge', part(0), part(1), part(2), part(3)]);
    expect(noHistory.exitCode).toBe(2);
    expect(noHistory.stderr).toMatch(
      /was made with --history and --checkpoints .* but the merge was given neither/,
    );
    // flags that a range job cannot take, a range without a summary, a gzip log, a bad range
    for (const [args, message] of [
      [[log, '--range', '0/4'], /--range needs --summary-out/],
      [[log, '--range', '4/4', '--summary-out', at('x.json')], /expected K\/N with 0 <= K < N/],
      [[log, '--range', 'a..b', '--summary-out', at('x.json')], /expected A\.\.B/],
      [[log, '--range', '0/2', '--summary-out', at('x.json'), '--hashless'], /--hashless cannot be used/],
      [['postgres://127.0.0.1/x', '--range', '0/2', '--summary-out', at('x.json')], /read plain JSONL files/],
      [
        [log, '--summary-out', path.join(dir, 'no-such-dir', 'x.json')],
        /--summary-out .*cannot write it \(ENOENT\)/,
      ],
    ] as [string[], RegExp][]) {
      const r = await runCli(['scan', ...args]);
      expect({ args, code: r.exitCode, stderr: r.stderr }).toMatchObject({
        code: 2,
        stderr: expect.stringMatching(message),
      });
      noStack(r.stderr);
    }
  }, 120_000);
});
