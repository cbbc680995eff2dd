import { describe, expect, it } from 'vitest';
import { ScenarioError } from '../../../src/errors.ts';
import { parseScenario } from '../../../src/scenario/load.ts';
import { stackModel } from '../../../src/stack/services.ts';

const base = (stack: string, faults = '') => `version: 1
name: foreign
description: a team's own stack
stack:
  runtime: compose
  compose: ./compose.yml
${stack}
proxies:
  - { name: api, listen: 127.0.0.1:17070, upstream: ledger:7070 }
  - { name: db, listen: 127.0.0.1:15433, upstream: store:5432 }
workload: { rate: 10/s, duration: 10s }
${faults}`;

const ledgerStore = `  services:
    ledger: { role: service, port: 7070, health: { path: /healthz, status: [200] } }
    store: { role: database, port: 5432 }
    cache: { role: other }`;

function problems(text: string) {
  try {
    parseScenario(text, 'x.yml');
  } catch (e) {
    if (e instanceof ScenarioError) return e.problems.map((p) => `${p.message} @${p.line}`);
    throw e;
  }
  throw new Error('expected the scenario to be rejected');
}

describe('stack.services', () => {
  it('parses roles, ports, health and down faults on named services', () => {
    const s = parseScenario(
      base(
        ledgerStore,
        `faults:
  - { kind: down, target: store, at: 1s, for: 2s }
  - { kind: down, target: cache, mode: pause, at: 4s, for: 1s }
  - { kind: down, target: ledger, mode: restart, at: 6s, for: 2s, replica: 0 }`,
      ),
      'x.yml',
    );
    const m = stackModel(s.stack.services);
    expect(m.service).toMatchObject({
      name: 'ledger',
      port: 7070,
      health: { path: '/healthz', status: [200] },
    });
    expect(m.database).toMatchObject({ name: 'store', port: 5432 });
    expect(m.all.map((x) => x.name)).toEqual(['ledger', 'store', 'cache']);
    expect(s.faults.map((f) => (f.kind === 'down' ? `${f.target}:${f.mode}` : f.kind))).toEqual([
      'store:kill',
      'cache:pause',
      'ledger:restart',
    ]);
  });

  it('absent means the reference stack: auditlog on 8080 with /health, postgres on 5432', () => {
    const m = stackModel(undefined);
    expect(m).toMatchObject({
      reference: true,
      service: { name: 'auditlog', port: 8080, health: { path: '/health' } },
      database: { name: 'postgres', port: 5432 },
    });
  });

  it('health may be the compose healthcheck; port and health have defaults', () => {
    const s = parseScenario(base(`  services:\n    app: { role: service, health: compose }`), 'x.yml');
    const m = stackModel(s.stack.services);
    expect(m.service).toMatchObject({ name: 'app', port: 8080, health: 'compose' });
    expect(m.database).toBeUndefined();
  });

  it('needs exactly one service role and at most one database, with located messages', () => {
    const none = problems(base(`  services:\n    store: { role: database }`));
    expect(none.join('\n')).toMatch(
      /stack\.services: no service has role: service; mark the audit-log service among store @\d+/,
    );
    const two = problems(
      base(
        `  services:\n    a: { role: service }\n    b: { role: service }\n    c: { role: database }\n    d: { role: database }`,
      ),
    );
    expect(two.join('\n')).toMatch(
      /stack\.services\.b\.role: exactly one service may have role: service, but a and b do @9/,
    );
    expect(two.join('\n')).toMatch(
      /stack\.services\.d\.role: at most one service may have role: database, but c and d do @11/,
    );
  });

  it('a down fault must name a declared service; replica only on the service role', () => {
    const p = problems(
      base(
        ledgerStore,
        `faults:
  - { kind: down, target: postgres, at: 1s, for: 1s }
  - { kind: down, target: store, replica: 0, at: 3s, for: 1s }`,
      ),
    );
    expect(p.join('\n')).toContain(
      'faults[0].target: fault targets "postgres", which is not a service of this stack; declared: ledger, store, cache',
    );
    expect(p.join('\n')).toContain(
      'faults[1].replica: replica applies to the role: service service (ledger) only',
    );
  });

  it('without stack.services a down fault names the reference services', () => {
    const ok = parseScenario(
      base('', 'faults:\n  - { kind: down, target: auditlog, mode: stop, at: 1s, for: 1s }'),
      'x.yml',
    );
    expect(ok.faults[0]).toMatchObject({ kind: 'down', target: 'auditlog', mode: 'stop' });
    const p = problems(base('', 'faults:\n  - { kind: down, target: ledger, at: 1s, for: 1s }'));
    expect(p.join('\n')).toContain('declared: auditlog, postgres (declare others in stack.services)');
  });

  it('on the local runtime a down fault names auditlog or postgres', () => {
    const text = base(ledgerStore, 'faults:\n  - { kind: down, target: ledger, at: 1s, for: 1s }').replace(
      'runtime: compose',
      'runtime: local',
    );
    expect(problems(text).join('\n')).toContain('the local runtime runs: auditlog, postgres');
  });

  it('an unknown mode or role is refused', () => {
    expect(problems(base(`  services:\n    a: { role: app }`)).join('\n')).toMatch(/role/);
    expect(
      problems(
        base(ledgerStore, 'faults:\n  - { kind: down, target: store, mode: nuke, at: 1s, for: 1s }'),
      ).join('\n'),
    ).toMatch(/mode/);
  });
});
