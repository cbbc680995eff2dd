/**
 * Configuration errors are exit 2, found before any write (issue 11): a missing chain module, a
 * module without the export, a mapping to a column the table does not have. Through the binary.
 */
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { runCli } from '../helpers/cli.ts';

let dir: string;
let env: Record<string, string>;

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-config-'));
  env = { AUDITCHAOS_STATE_DIR: path.join(dir, 'state') };
  await writeFile(path.join(dir, 'no-export.mjs'), 'export const genesis = "00";\n');
});

async function scenario(name: string, scan: string, port: number): Promise<string> {
  const file = path.join(dir, `${name}.yml`);
  await writeFile(
    file,
    `version: 1
name: ${name}
description: a configuration error
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:${port}, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:${port + 1}, upstream: postgres:5432 }
workload: { rate: 20/s, duration: 2s }
${scan}
`,
  );
  return file;
}

describe('configuration checked up front', () => {
  for (const [name, chain, pattern] of [
    [
      'missing-module',
      'scan: { chain: { module: ./nope.mjs } }',
      /the hash recipe module .*nope\.mjs does not exist/,
    ],
    ['no-export', 'scan: { chain: { module: ./no-export.mjs } }', /no-export\.mjs exports no hash/],
  ] as const) {
    it(`${name}: validate and run exit 2 naming the file, and run starts nothing`, async () => {
      const file = await scenario(name, chain, 31500);
      const v = await runCli(['validate', file], { env });
      expect(v.exitCode).toBe(2);
      expect(v.stderr).toMatch(pattern);
      const reports = path.join(dir, `reports-${name}`);
      const r = await runCli(['run', file, '--reports-dir', reports], { env });
      expect(r.exitCode, r.stderr).toBe(2);
      expect(r.stderr).toMatch(pattern);
      expect(r.stderr).not.toMatch(/\n\s+at /); // no stack trace
      expect(r.stdout).not.toMatch(/phase workload/);
      expect(await readdir(reports).catch(() => [])).toEqual([]);
    });
  }

  it('a mapping to a column the table lacks: exit 2 once the database answers, before the workload', async () => {
    const file = await scenario('missing-column', 'scan: { mapping: { actor: who } }', 31510);
    const r = await runCli(['run', file, '--reports-dir', path.join(dir, 'reports-col')], { env });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(2);
    expect(`${r.stdout}\n${r.stderr}`).toMatch(/no column for actor \(who\)/);
    expect(r.stdout).not.toMatch(/phase workload/);
  });
});
