/**
 * The bundled CLI (src/cli/load.mjs): bin/auditchaos.js runs an esbuild bundle of the sources kept
 * in node_modules/.cache/auditchaos-cli, rebuilt when a source changes, and the tsx path when asked
 * (AUDITCHAOS_NO_BUNDLE=1). Both must behave alike: same output and exit code for the same
 * command, paths relative to a source file (the compose file, the worker entries) still found, and
 * a hash recipe module written in TypeScript still loaded.
 */
import { createHash } from 'node:crypto';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { writeJsonl } from '../../src/scan/generate.ts';
import { REPO_ROOT, runCli } from '../helpers/cli.ts';
import { damagedLines } from '../helpers/damaged-log.ts';

let dir: string;
const tsxEnv = { AUDITCHAOS_NO_BUNDLE: '1' };
const withoutTime = (json: string) => ({ ...(JSON.parse(json) as Record<string, unknown>), durationMs: 0 });

/** A log hashed as sha256(prev | seq | event id), hex; genesis ''. */
function simpleLog(n: number, damageAt: number): string[] {
  const lines: string[] = [];
  let prev = '';
  for (let seq = 1; seq <= n; seq++) {
    const eventId = `ev-${seq}`;
    const hash = createHash('sha256').update(`${prev}|${seq}|${eventId}`).digest('hex');
    const e = {
      seq,
      event_id: eventId,
      ts: `2026-11-21T12:00:${String(seq % 60).padStart(2, '0')}.000000Z`,
      actor: 'a',
      action: 'x',
      payload: { n: seq },
      prev_hash: prev,
      hash: seq === damageAt ? 'ab'.repeat(32) : hash,
    };
    lines.push(JSON.stringify(e));
    prev = hash;
  }
  return lines;
}

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-bundle-'));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe('the bundled CLI', () => {
  it('is kept in node_modules/.cache and says the same as the tsx path, exit code and JSON, on a damaged log', async () => {
    const log = path.join(dir, 'damaged.jsonl');
    await writeJsonl(log, damagedLines());
    const bundled = await runCli(['scan', log, '--json']);
    const viaTsx = await runCli(['scan', log, '--json'], { env: tsxEnv });
    expect(bundled.exitCode).toBe(1);
    expect(viaTsx.exitCode).toBe(1);
    expect(withoutTime(bundled.stdout)).toEqual(withoutTime(viaTsx.stdout));
    const pointer = JSON.parse(
      await readFile(path.join(REPO_ROOT, 'node_modules/.cache/auditchaos-cli/current.json'), 'utf8'),
    ) as { dir: string; inputs: Record<string, unknown> };
    expect(Object.keys(pointer.inputs)).toContain(path.join(REPO_ROOT, 'src/cli/main.ts'));
    await stat(path.join(REPO_ROOT, 'node_modules/.cache/auditchaos-cli', pointer.dir, 'main.js'));
  });

  it('validate and a bad command: same output and exit codes on both paths', async () => {
    for (const args of [['validate', path.join(REPO_ROOT, 'scenarios/quickstart.yml')], ['nope']]) {
      const a = await runCli(args);
      const b = await runCli(args, { env: tsxEnv });
      expect(a.exitCode).toBe(b.exitCode);
      expect(a.stdout).toBe(b.stdout);
      expect(a.stderr).toBe(b.stderr);
    }
  });

  it('loads a hash recipe module written in TypeScript: clean log exit 0, one changed digest exit 1', async () => {
    const recipe = path.join(dir, 'recipe.mts'); // .mts: ESM in a folder with no package.json
    await writeFile(
      recipe,
      `import { createHash } from 'node:crypto';
interface Entry { seq: number; eventId: string }
export const genesis: string = '';
export function hash(prevHash: string, e: Entry): string {
  return createHash('sha256').update(\`\${prevHash}|\${e.seq}|\${e.eventId}\`).digest('hex');
}
`,
    );
    const clean = path.join(dir, 'clean.jsonl');
    const bad = path.join(dir, 'bad.jsonl');
    await writeJsonl(clean, simpleLog(50, 0));
    await writeJsonl(bad, simpleLog(50, 20));
    const ok = await runCli(['scan', clean, '--chain-module', recipe, '--json']);
    expect(ok.stderr).toBe('');
    expect(ok.exitCode).toBe(0);
    const broken = await runCli(['scan', bad, '--chain-module', recipe, '--json']);
    expect(broken.exitCode).toBe(1);
    const findings = (JSON.parse(broken.stdout) as { findings: { kind: string; seq?: number }[] }).findings;
    expect(findings.map((f) => `${f.kind}@${f.seq}`)).toContain('broken-chain@20');
  });
});
