// biome-ignore-all lint/suspicious/noTemplateCurlyInString: ${VAR} is the syntax under test, not a template slip
import { describe, expect, it } from 'vitest';
import { UsageError } from '../../../src/errors.ts';
import { preflight } from '../../../src/run/preflight.ts';
import { scanSpec } from '../../../src/run/scan-step.ts';
import { expandEnvVars, scanSourceUrl } from '../../../src/scan/source-url.ts';
import { parseScenario } from '../../../src/scenario/load.ts';

describe('${VAR} in scan.source.url', () => {
  it('fills in variables from the environment and returns the values to redact', () => {
    const r = expandEnvVars('postgres://ledger:${PW}@${HOST}:5432/ledger', { PW: 's3cret', HOST: 'db' });
    expect(r.url).toBe('postgres://ledger:s3cret@db:5432/ledger');
    expect(r.values).toEqual(['s3cret', 'db']);
  });

  it('takes ${VAR:-default} when unset or empty; a default is not a secret', () => {
    expect(expandEnvVars('x${A:-one}y${B:-two}', { B: '' })).toEqual({ url: 'xoneytwo', values: [] });
    expect(expandEnvVars('x${A:-one}', { A: 'set' })).toEqual({ url: 'xset', values: ['set'] });
  });

  it('an unset variable is a usage error naming it; text without variables is unchanged', () => {
    expect(() => expandEnvVars('postgres://u:${NOPE}@h/db', {})).toThrow(UsageError);
    expect(() => expandEnvVars('postgres://u:${NOPE}@h/db', {})).toThrow(/\$\{NOPE\}, which is not set/);
    expect(expandEnvVars('postgres://u:$x@h/db?a=${', {})).toEqual({
      url: 'postgres://u:$x@h/db?a=${',
      values: [],
    });
  });

  it('a jsonl source has no URL', () => {
    expect(scanSourceUrl({ kind: 'jsonl' })).toBeUndefined();
    expect(scanSourceUrl({ kind: 'postgres' })).toBeUndefined();
  });

  const scenario = (url: string) =>
    parseScenario(
      `version: 1
name: s
description: d
workload: { rate: 1/s, duration: 1s }
scan: { source: { kind: postgres, url: "${url}", table: journal } }
`,
      's.yml',
    );

  it('the run reads the expanded URL; preflight refuses an unset variable before anything starts', async () => {
    const s = scenario('postgres://ledger:${PYL_TEST_PW}@127.0.0.1:1/ledger');
    const ep = { toxiproxyUrl: 'http://x', serviceUrl: 'http://x', proxies: {} };
    expect(scanSpec(s, '.', ep, { PYL_TEST_PW: 'pw' })).toBe('postgres://ledger:pw@127.0.0.1:1/ledger');
    delete process.env.PYL_TEST_PW;
    await expect(preflight(s, '.')).rejects.toThrow(/PYL_TEST_PW/);
    process.env.PYL_TEST_PW = 'pw';
    try {
      await expect(preflight(s, '.')).resolves.toBeUndefined();
    } finally {
      delete process.env.PYL_TEST_PW;
    }
  });
});
