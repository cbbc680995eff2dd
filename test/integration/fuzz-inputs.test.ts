/**
 * Issue 13, case 7: a seeded fuzz of broken scenarios and scan inputs. Every case ends in a
 * located bad-input error (ScenarioError/UsageError in process; exit 2 or 3 with a message through
 * the binary), never a stack trace, a crash (exit 70) or a hang. Counts are printed.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScenarioError, UsageError } from '../../src/errors.ts';
import { seededRandom } from '../../src/random.ts';
import { checkSourceSpec } from '../../src/scan/open-source.ts';
import { parseScenario } from '../../src/scenario/load.ts';
import { REPO_ROOT, runCli } from '../helpers/cli.ts';

const SEED = 13;
const BASE = readFileSync(path.join(REPO_ROOT, 'scenarios/quickstart.yml'), 'utf8');
const r = seededRandom(SEED);
const pick = <T>(xs: readonly T[]): T => xs[r() % xs.length] as T;
const JUNK = [
  '-1',
  '0',
  '1e309',
  '1000000000000/s',
  '0ms',
  '-5s',
  'NaN',
  '~',
  'null',
  '[]',
  '{}',
  '"\u001b[8m"',
  '*nope',
  '&a',
  '!!binary x',
  '{ a: [',
  '"unterminated',
  "'",
  '99999999999999999999',
  'true',
  '10/fortnight',
  'ftp://x',
  'postgres://[::1',
  '\t',
  '%',
  '@',
  '`',
  '{{}}',
  'a: b: c',
];
const KEYS = [
  'writers',
  'rate',
  'duration',
  'timeout',
  'at',
  'for',
  'kind',
  'proxy',
  'listen',
  'name',
  'via',
  'statement',
  'count',
  'every',
  'payloadBytes',
  'attempts',
  'version',
  'missing',
  'seed',
  'replicas',
];

/** One broken scenario: a few mutations of the quickstart. */
function mutate(): string {
  let lines = BASE.split('\n');
  const n = 1 + (r() % 3);
  for (let k = 0; k < n; k++) {
    const i = r() % lines.length;
    const line = lines[i] ?? '';
    switch (r() % 10) {
      case 0: // a value replaced by junk
        lines[i] = line.replace(/:\s*[^,}{]+/, `: ${pick(JUNK)}`);
        break;
      case 1: // a known key set to junk somewhere
        lines[i] = line.replace(new RegExp(`${pick(KEYS)}:\\s*[^,}]+`), `${pick(KEYS)}: ${pick(JUNK)}`);
        break;
      case 2: // a line dropped
        lines.splice(i, 1);
        break;
      case 3: // a line duplicated (duplicate keys, duplicate names)
        lines.splice(i, 0, line);
        break;
      case 4: // truncated at a random point
        lines = lines.slice(0, i).concat(line.slice(0, r() % (line.length + 1)));
        break;
      case 5: // an unknown key
        lines.splice(i, 0, `${pick(KEYS)}x${r() % 100}: 1`);
        break;
      case 6: // deep flow nesting
        lines.push(`deep: ${'['.repeat(50 + (r() % 3000))}`);
        break;
      case 7: // an alias bomb
        lines.push(
          'a: &a [x,x,x,x,x,x,x,x,x,x]',
          'b: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a,*a]',
          'c: [*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b,*b]',
        );
        break;
      case 8: // control and odd characters
        lines[i] = `${line}${String.fromCharCode(r() % 32)}${pick(JUNK)}`;
        break;
      default: // the name made invalid (so that every case is broken somewhere)
        break;
    }
  }
  // Always broken: the name is not a scenario name, plus whatever the mutations did.
  return lines.join('\n').replace(/^name: .*$/m, `name: Bad_${pick(JUNK)}`);
}

describe('fuzz: broken inputs give a bad-input error, never a crash (issue 13)', () => {
  it(`seed ${SEED}: 600 broken scenarios in process, 16 through the binary`, async () => {
    const started = Date.now();
    const texts = Array.from({ length: 600 }, mutate);
    let usage = 0;
    for (const [i, text] of texts.entries()) {
      let err: unknown;
      try {
        parseScenario(text, `fuzz-${i}.yml`);
      } catch (e) {
        err = e;
      }
      expect(err, `case ${i} was accepted:\n${text}`).toBeInstanceOf(UsageError);
      if (err instanceof ScenarioError) {
        expect(err.problems.length).toBeGreaterThan(0);
        for (const p of err.problems) expect(p.message.length).toBeGreaterThan(0);
      }
      usage++;
    }
    const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-fuzz-'));
    const sample = texts.filter((_, i) => i % 37 === 0).slice(0, 16);
    const results = [];
    for (let i = 0; i < sample.length; i += 4) {
      results.push(
        ...(await Promise.all(
          sample.slice(i, i + 4).map(async (t, j) => {
            const f = path.join(dir, `s${i + j}.yml`);
            await writeFile(f, t);
            return runCli(['validate', f], { timeout: 20_000 });
          }),
        )),
      );
    }
    for (const res of results) {
      expect([2, 3], res.stderr).toContain(res.exitCode);
      expect(res.stderr).toMatch(/\S/);
      expect(res.stderr).not.toMatch(/internal error|\n\s+at .*:\d+:\d+/);
    }
    console.log(
      `fuzz scenarios (seed ${SEED}): ${texts.length} tried in process, ${usage} clean bad-input errors; ${results.length} through the binary, all exit 2/3, ${Date.now() - started} ms`,
    );
  }, 60_000);

  it(`seed ${SEED}: 400 scan sources in process, 12 scan command lines through the binary`, async () => {
    const schemes = ['ftp', 's3', 'file', 'gopher', 'postgres', 'postgresql', 'http', 'https', 'HTTP', 'x-y'];
    const tails = [
      '[::1',
      'host:99999999/db',
      '',
      '%zz',
      'user:pw@[bad',
      'a b',
      '::::',
      'h/p?q#f',
      '[fe80::1%eth0',
    ];
    let tried = 0;
    let refused = 0;
    for (let i = 0; i < 400; i++) {
      const spec = `${pick(schemes)}://${pick(tails)}${pick(['', '/x', '\u0000', '${X}'])}`;
      tried++;
      try {
        checkSourceSpec(spec);
      } catch (e) {
        expect(e, spec).toBeInstanceOf(UsageError);
        refused++;
      }
    }
    const cases = [
      ['ftp://host/a.jsonl'],
      ['s3://bucket/k'],
      ['postgres://[::1'],
      ['http://[::1'],
      ['/nonexistent/x.jsonl'],
      ['x.jsonl', '--limit', '-3'],
      ['x.jsonl', '--limit', 'abc'],
      ['x.jsonl', '--map', 'nope'],
      ['x.jsonl', '--pg-method', 'telepathy'],
      ['x.jsonl', '--scenario', '/nonexistent.yml'],
      [tmpdir()],
      ['x.jsonl', '--bogus-flag'],
    ];
    const results = await Promise.all(cases.map((c) => runCli(['scan', ...c], { timeout: 20_000 })));
    for (const [i, res] of results.entries()) {
      expect([2, 3], `${cases[i]?.join(' ')}: ${res.stderr}`).toContain(res.exitCode);
      expect(res.stderr).toMatch(/\S/);
      expect(res.stderr).not.toMatch(/internal error|\n\s+at .*:\d+:\d+/);
    }
    console.log(
      `fuzz scan inputs (seed ${SEED}): ${tried} sources tried in process (${refused} refused as bad input, the rest well-formed), ${cases.length} command lines through the binary, all exit 2/3`,
    );
  }, 60_000);
});
