import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../../src/errors.ts';
import { scenarioJsonSchema } from '../../../src/scenario/json-schema.ts';
import { parseScenario } from '../../../src/scenario/load.ts';

const minimal = `version: 1
name: tiny
description: smallest valid scenario
workload:
  rate: 10/s
  duration: 5s
`;

function problemsOf(text: string) {
  try {
    parseScenario(text, 'x.yml');
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems;
    throw e;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('shipped scenarios', () => {
  const dir = path.resolve(import.meta.dirname, '../../../scenarios');
  const files = readdirSync(dir).filter((f) => f.endsWith('.yml'));
  it('there are at least three', () => expect(files.length).toBeGreaterThanOrEqual(3));
  it.each(files)('%s validates and starts with a $schema line', (f) => {
    const text = readFileSync(path.join(dir, f), 'utf8');
    expect(text.split('\n')[0]).toMatch(/^# yaml-language-server: \$schema=/);
    const s = parseScenario(text, f);
    expect(s.name).toBe(f.replace(/\.yml$/, ''));
    expect(s.description.length).toBeGreaterThan(40);
  });
});

describe('defaults', () => {
  it('fills every default of a minimal scenario', () => {
    const s = parseScenario(minimal, 'x.yml');
    expect(s.workload).toMatchObject({
      target: 'http://127.0.0.1:18080',
      writers: 8,
      rate: 10,
      duration: 5000,
      timeout: 2000,
      retry: { attempts: 3, backoff: 100 },
      event: { actor: 'user-{n}', action: 'login', payloadBytes: 256 },
      request: { method: 'POST', path: '/events', ackStatuses: [200, 201] },
      checkpoint: { path: '/checkpoint', every: 1000 },
    });
    expect(s.stack).toMatchObject({ runtime: 'auto', flaws: [], replicas: 1 });
    expect(s.proxies.map((p) => p.name)).toEqual(['api', 'db']);
    expect(s.scan.source).toEqual({ kind: 'postgres', table: 'audit_log' });
    expect(s.scan.mapping.prevHash).toBe('prev_hash');
    expect(s.scan.chain.algorithm).toBe('sha256');
    expect(s.expect).toMatchObject({ missing: 0, brokenChain: 0, duplicates: 0, tamperUndetected: 0 });
    expect(s.report.formats).toEqual(['json', 'md', 'html', 'junit']);
    expect(s.faults).toEqual([]);
  });

  it('fills fault defaults per kind', () => {
    const s = parseScenario(
      `${minimal}faults:\n  - { at: 1s, for: 1s, kind: db-down }\n  - { at: 2s, for: 1s, kind: partition, proxy: api }\n`,
      'x.yml',
    );
    expect(s.faults[0]).toMatchObject({ kind: 'db-down', mode: 'kill', at: 1000, for: 1000 });
    expect(s.faults[1]).toMatchObject({ kind: 'partition', direction: 'both', mode: 'blackhole' });
  });
});

describe('errors, each with line and column', () => {
  it('reports a typo, a bad duration and a missing proxy all at once', () => {
    const problems = problemsOf(`version: 1
name: bad
description: three mistakes
workload:
  rate: 100/s
  duration: 10s
  writerz: 4
faults:
  - { at: 2x, for: 1s, kind: latency, proxy: nope, latency: 100ms }
`);
    expect(problems).toHaveLength(3);
    expect(problems[0]).toMatchObject({ line: 7, col: 3 });
    expect(problems[0]?.message).toMatch(/unknown key "writerz".*did you mean "writers"/);
    expect(problems[1]).toMatchObject({ line: 9, col: 11 });
    expect(problems[1]?.message).toMatch(/"2x" is not a duration/);
    expect(problems[2]?.line).toBe(9);
    expect(problems[2]?.message).toMatch(/proxy "nope", which is not defined; defined proxies: api, db/);
  });

  it('reports YAML syntax errors with a position', () => {
    const problems = problemsOf('version: 1\nname: [unclosed\n');
    expect(problems[0]?.message).toMatch(/^YAML:/);
    expect(problems[0]?.line).toBeGreaterThan(0);
  });

  it('rejects duplicated keys', () => {
    const problems = problemsOf(`${minimal}name: again\n`);
    expect(problems[0]?.message).toMatch(/YAML: .*unique/i);
  });

  it('names the allowed values of an enum', () => {
    const problems = problemsOf(`${minimal}stack: { runtime: kubernetes }\n`);
    expect(problems[0]?.message).toMatch(
      /"kubernetes" is not allowed; allowed: "auto", "compose", "local", "external"/,
    );
    expect(problems[0]?.line).toBe(7);
  });

  it('names an unknown fault kind and the allowed ones', () => {
    const problems = problemsOf(`${minimal}faults:\n  - { at: 1s, for: 1s, kind: meteor }\n`);
    expect(problems[0]?.message).toMatch(/unknown kind; allowed: "latency", "partition"/);
  });

  it('rejects unknown keys inside a fault, with a suggestion', () => {
    const problems = problemsOf(
      `${minimal}faults:\n  - { at: 1s, for: 1s, kind: latency, proxy: db, latncy: 5ms }\n`,
    );
    expect(problems.map((p) => p.message).join('\n')).toMatch(
      /unknown key "latncy" in faults\[0\]; did you mean "latency"/,
    );
  });

  it('reports a missing required key at its parent', () => {
    const problems = problemsOf('version: 1\nname: x\ndescription: d\nworkload:\n  rate: 1/s\n');
    expect(problems[0]?.message).toBe('workload: required key "duration" is missing');
    expect(problems[0]?.line).toBe(5);
  });

  it('refuses a fault window past the end of the workload', () => {
    const problems = problemsOf(`${minimal}faults:\n  - { at: 4s, for: 2s, kind: db-down }\n`);
    expect(problems[0]?.message).toMatch(/ends at 6s, after the workload's duration of 5s/);
  });

  it('counts repeats when fitting a fault window', () => {
    const ok = parseScenario(
      `${minimal}faults:\n  - { at: 0s, for: 1s, every: 2s, count: 3, kind: db-down }\n`,
      'x.yml',
    );
    expect(ok.faults[0]).toMatchObject({ every: 2000, count: 3 });
    const problems = problemsOf(
      `${minimal}faults:\n  - { at: 0s, for: 1s, every: 2s, count: 4, kind: db-down }\n`,
    );
    expect(problems[0]?.message).toMatch(/ends at 7s/);
  });

  it('refuses a tamper probe that is neither api nor sql', () => {
    const problems = problemsOf(`${minimal}tamper:\n  - { via: ssh, statement: rm }\n`);
    expect(problems[0]?.message).toMatch(/unknown via; allowed: "sql", "api"/);
  });

  it('refuses duplicate proxies and ports, and external runtime without URLs', () => {
    const problems = problemsOf(`${minimal}stack: { runtime: external }
proxies:
  - { name: api, listen: 127.0.0.1:1000, upstream: a:1 }
  - { name: api, listen: 127.0.0.1:1000, upstream: b:1 }
`);
    const text = problems.map((p) => p.message).join('\n');
    expect(text).toMatch(/proxy "api" is defined twice/);
    expect(text).toMatch(/port 1000 is already the listen port/);
    expect(text).toMatch(/runtime external needs stack.external/);
  });

  it('command faults: start, heal, timeout 30 s by default, env; allowed on external, where db-down kill is not', () => {
    const ext = `stack:
  runtime: external
  external: { toxiproxy: "http://tp:8474", service: "http://svc:8080", health: { path: /healthz, status: [200, 204] } }
`;
    const s = parseScenario(
      `${minimal}${ext}faults:\n  - { at: 1s, for: 2s, kind: command, start: "kubectl delete pod db-0", heal: "kubectl wait --for=condition=Ready pod/db-0", env: { KUBECONFIG: /k } }\n`,
      'x.yml',
    );
    expect(s.faults[0]).toMatchObject({ kind: 'command', timeout: 30_000, env: { KUBECONFIG: '/k' } });
    expect(s.stack.external?.health).toEqual({ path: '/healthz', status: [200, 204] });
    const problems = problemsOf(
      `${minimal}${ext}faults:\n  - { at: 1s, for: 2s, kind: db-down, mode: kill }\n  - { at: 1s, for: 2s, kind: service-down }\n  - { at: 1s, for: 1s, kind: command, start: x }\n`,
    );
    const text = problems.map((p) => p.message).join('\n');
    expect(text.match(/use a `command` fault/g)).toHaveLength(2);
    expect(text).toMatch(/faults\.2\.heal|heal/);
  });

  it('refuses a non-mapping document', () => {
    expect(problemsOf('- just\n- a list\n')[0]?.message).toMatch(/is a YAML mapping/);
  });

  it('refuses bad rates, flaws and host:port pairs', () => {
    const problems = problemsOf(`version: 1
name: x
description: d
stack: { flaws: [ack-before-comit] }
proxies: [{ name: api, listen: nowhere, upstream: a:1 }]
workload: { rate: fast, duration: 5s }
`);
    const text = problems.map((p) => p.message).join('\n');
    expect(text).toMatch(/"ack-before-comit" is not allowed/);
    expect(text).toMatch(/expected host:port/);
    expect(text).toMatch(/"fast" is not a rate/);
  });
});

describe('JSON Schema', () => {
  it('describes the file as written, with durations as strings and no extra keys', () => {
    const schema = scenarioJsonSchema() as {
      properties: Record<string, { properties?: Record<string, unknown> }>;
      additionalProperties: boolean;
      required: string[];
    };
    expect(schema.additionalProperties).toBe(false);
    expect(schema.required).toEqual(expect.arrayContaining(['version', 'name', 'description', 'workload']));
    expect(JSON.stringify(schema.properties.workload?.properties?.duration)).toMatch(/string/);
  });

  it('matches the committed schema file the scenarios point at', () => {
    const committed = JSON.parse(
      readFileSync(path.resolve(import.meta.dirname, '../../../schema/scenario.schema.json'), 'utf8'),
    );
    expect(committed).toEqual(scenarioJsonSchema());
  });
});
