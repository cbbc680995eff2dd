/**
 * Issue 13, case 3: inputs are bounded and every flag and path is checked before anything starts,
 * each with a located exit-2 message and no stack trace (real binary).
 */
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

const BASE = `version: 1
name: bounded
description: inputs at and past their bounds
stack: { runtime: local }
workload: { writers: 1, rate: 10/s, duration: 2s }
`;
let dir: string;
let good: string;

async function scenario(name: string, text: string): Promise<string> {
  const f = path.join(dir, `${name}.yml`);
  await writeFile(f, text);
  return f;
}

function expectClean(
  r: { exitCode?: number; stderr: string; stdout: string },
  code: number,
  message: RegExp,
) {
  expect(r.exitCode, r.stderr).toBe(code);
  expect(r.stderr).toMatch(message);
  expect(r.stderr).not.toMatch(/internal error|\n\s+at .*:\d+:\d+/);
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-inputs-'));
  good = await scenario('good', BASE);
});

describe('bounded scenario inputs (validate, issue 13)', () => {
  it.each([
    [
      'YAML alias bomb -> alias count',
      `${BASE}a: &a ["x","x","x","x","x","x","x","x","x"]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]\n`,
      /alias/i,
    ],
    [
      '3000 levels of flow nesting',
      `${BASE}x: ${'['.repeat(3000)}${']'.repeat(3000)}\n`,
      /nesting is deeper than 64/,
    ],
    [
      '300 levels of block nesting',
      `${BASE}x:\n${Array.from({ length: 300 }, (_, i) => `${' '.repeat(i + 1)}k${i}:`).join('\n')} 1\n`,
      /64 levels of nesting/,
    ],
    ['rate 1000000000000/s -> ceiling', BASE.replace('10/s', '1000000000000/s'), /ceiling/],
    ['timeout 0ms', BASE.replace('duration: 2s }', 'duration: 2s, timeout: 0ms }'), /more than 0 ms/],
    [
      'duplicate tamper names',
      `${BASE}tamper:\n  - { via: sql, name: a, statement: "DELETE FROM audit_log" }\n  - { via: sql, name: a, statement: "DELETE FROM audit_log" }\n`,
      /tamper probe "a" is already/,
    ],
  ])('%s: exit 2 with a located message', async (_label, text, message) => {
    const f = await scenario(`case-${Math.random().toString(36).slice(2)}`, text);
    const r = await runCli(['validate', f], { timeout: 20_000 });
    expectClean(r, 2, message);
    expect(r.stderr).toMatch(/\.yml:\d+:\d+/);
  });

  it('a 50 MB scenario file is refused by size without being read', async () => {
    const f = await scenario('huge', `${BASE}# ${'x'.repeat(50 * 1024 * 1024)}\n`);
    const r = await runCli(['validate', f], { timeout: 20_000 });
    expectClean(r, 2, /at most 1000000/);
  });
});

describe('flags and paths checked before anything starts (issue 13)', () => {
  it.each([
    ['--reports-dir /etc/passwd', ['--reports-dir', '/etc/passwd'], /not a folder/],
    ['--out /sys/x', ['--out', '/sys/x'], /kernel filesystem/],
    ['--out /proc/x (must not hang)', ['--out', '/proc/x'], /kernel filesystem/],
    ['--out /etc/passwd/x (ENOTDIR)', ['--out', '/etc/passwd/x'], /\/etc\/passwd is a file/],
    ['--reports-dir under a read-only dir', ['--reports-dir', '/proc/1/x'], /kernel filesystem/],
  ])('run %s: exit 2 before the stack starts', async (_label, flags, message) => {
    const r = await runCli(['run', good, ...flags], { timeout: 20_000 });
    expectClean(r, 2, message);
    expect(r.stdout).not.toMatch(/phase/);
  });

  it.each([
    ['scan --limit -3', ['x.jsonl', '--limit', '-3'], /--limit must be a non-negative integer/],
    ['scan --limit abc', ['x.jsonl', '--limit', 'abc'], /--limit must be a non-negative integer/],
    ['scan "postgres://[::1" (Invalid URL)', ['postgres://[::1'], /is not a valid URL/],
    ['scan ftp://host/log.jsonl', ['ftp://host/log.jsonl'], /unsupported source URL scheme "ftp:\/\/"/],
  ])('%s: exit 2', async (_label, args, message) => {
    const r = await runCli(['scan', ...args], { timeout: 20_000 });
    expectClean(r, 2, message);
  });

  it('scan --help: exit 0 and the exit-code text says what 3 and 4 are', async () => {
    const r = await runCli(['scan', '--help']);
    expect(r.exitCode).toBe(0);
    expect(r.stdout).toMatch(/4 inconclusive \(an HTTP source unreachable/);
  });
});
