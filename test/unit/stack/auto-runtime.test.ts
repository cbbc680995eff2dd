/**
 * `runtime: auto` with fake Docker answers: compose only when an engine answers, compose is
 * installed and every image the stack needs is present or its registry answers; else local, with
 * the reason. `doctor` reports the same decision and never says "compose will pull" when no
 * registry answers.
 */
import { describe, expect, it } from 'vitest';
import { type EngineAnswers, gatherAutoFacts } from '../../../src/stack/auto-facts.ts';
import { runDoctor } from '../../../src/stack/doctor.ts';
import { selectRuntime } from '../../../src/stack/select.ts';

const ENV = {}; // default image names

function fakeEngine(o: { up?: boolean; present?: string[]; registry?: boolean }): EngineAnswers & {
  asked: string[];
} {
  const asked: string[] = [];
  return {
    asked,
    probe: async () =>
      o.up === false
        ? { ok: false, reason: 'connect ENOENT /var/run/docker.sock', socket: 'unix:///var/run/docker.sock' }
        : { ok: true, version: '26.1.5', apiVersion: '1.45', socket: 'unix:///var/run/docker.sock' },
    imagePresent: async (n) => (o.present ?? []).includes(n),
    registryAnswers: async (n) => {
      asked.push(n);
      return o.registry
        ? undefined
        : 'Get "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io: no such host';
    },
  };
}

const ALL = ['postgres:15.14-bookworm', 'ghcr.io/shopify/toxiproxy:2.9.0', 'auditchaos/auditlog:dev'];
const auto = (engine: EngineAnswers, compose = true) =>
  selectRuntime('auto', () => gatherAutoFacts(engine, { env: ENV, compose: async () => compose }));

describe('runtime: auto', () => {
  it('compose when the images are present (no registry asked)', async () => {
    const engine = fakeEngine({ present: ALL });
    const c = await auto(engine);
    expect(c).toEqual({
      kind: 'compose',
      why: 'auto: Docker 26.1.5 at unix:///var/run/docker.sock answered, compose is installed, and the images are present',
    });
    expect(engine.asked).toEqual([]);
  });

  it('compose when an image is missing but its registry answers, saying it will be pulled', async () => {
    const engine = fakeEngine({ present: ['auditchaos/auditlog:dev'], registry: true });
    const c = await auto(engine);
    expect(c.kind).toBe('compose');
    expect(c.why).toMatch(
      /registry answers for postgres:15\.14-bookworm, ghcr\.io\/shopify\/toxiproxy:2\.9\.0 \(compose will pull it\)/,
    );
  });

  it('local when images are missing and no registry answers, naming them, their variables and why', async () => {
    const engine = fakeEngine({ present: ['postgres:15.14-bookworm'] });
    const c = await auto(engine);
    expect(c.kind).toBe('local');
    expect(c.why).toContain(
      'ghcr.io/shopify/toxiproxy:2.9.0 (AUDITCHAOS_TOXIPROXY_IMAGE): Get "https://registry-1.docker.io/v2/"',
    );
    // The service image is not built yet: it needs the node image, which is missing too.
    expect(c.why).toContain('node:20.18.1-bookworm-slim (AUDITCHAOS_NODE_IMAGE)');
    expect(c.why).toMatch(/so local processes/);
    expect(engine.asked).toEqual(['ghcr.io/shopify/toxiproxy:2.9.0', 'node:20.18.1-bookworm-slim']);
  });

  it('local when no engine answers, or compose is not installed', async () => {
    const none = await auto(fakeEngine({ up: false }));
    expect(none.kind).toBe('local');
    expect(none.why).toMatch(/^auto: no Docker engine answered \(connect ENOENT/);
    const noCompose = await auto(fakeEngine({ present: ALL }), false);
    expect(noCompose).toMatchObject({ kind: 'local' });
    expect(noCompose.why).toMatch(/compose is not installed/);
  });

  it('a runtime asked for says where it was asked, without nested parentheses', async () => {
    const never = async () => {
      throw new Error('not asked');
    };
    expect((await selectRuntime('local', never)).why).toBe('the scenario sets stack.runtime: local');
    expect((await selectRuntime('compose', never, 'flag')).why).toBe('--runtime compose was given');
  });

  it('doctor: no registry means no "compose will pull", a warning with the offline hint, and auto local', async () => {
    const report = await runDoctor({ env: { ...process.env }, engine: fakeEngine({ present: [] }) });
    const tox = report.checks.find((c) => c.name === 'image toxiproxy');
    expect(tox).toMatchObject({ status: 'warn' });
    expect(tox?.detail).toMatch(/is not present and its registry does not answer \(Get/);
    expect(tox?.hint).toMatch(/scripts\/offline-images\.sh and set AUDITCHAOS_TOXIPROXY_IMAGE/);
    expect(report.checks.map((c) => c.detail).join('\n')).not.toMatch(/will (try to )?pull/);
    expect(report.runtimes.compose).toBe(false);
    // Which reason auto gives depends on this machine (is a compose installed?); never "pull".
    expect(report.auto.why).toMatch(/neither present nor pullable|neither Docker|compose is not installed/);

    const pull = await runDoctor({
      env: { ...process.env },
      engine: fakeEngine({ present: [], registry: true }),
    });
    expect(pull.checks.find((c) => c.name === 'image postgres')?.detail).toMatch(
      /its registry answers, so compose will pull it/,
    );
  });
});
