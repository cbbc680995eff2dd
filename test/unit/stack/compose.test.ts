import { describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../../src/errors.ts';
import { parseScenario } from '../../../src/scenario/load.ts';
import { classifyComposeError, projectName } from '../../../src/stack/compose/compose-cli.ts';
import { ComposeStack, planProxies, stackImages } from '../../../src/stack/compose/compose-stack.ts';
import { containerSites, localEngineProblem } from '../../../src/stack/compose/container-net.ts';
import { DockerEngine, demuxDockerLog } from '../../../src/stack/compose/docker-engine.ts';
import { netExec } from '../../../src/stack/netns/net-exec.ts';
import { stackModel } from '../../../src/stack/services.ts';

const scenario = (proxies = '') =>
  parseScenario(
    `version: 1\nname: t\ndescription: t\n${proxies}workload: { rate: 10/s, duration: 5s }\n`,
    't.yml',
  );

describe('classifyComposeError', () => {
  it('finds the port in docker-compose v1 and v2 wordings', () => {
    const v1 =
      'ERROR: for toxiproxy  Cannot start service toxiproxy: driver failed programming external connectivity on endpoint x (01da): Error starting userland proxy: listen tcp4 127.0.0.1:28080: bind: address already in use';
    expect(classifyComposeError(v1)).toEqual({ kind: 'port-in-use', port: 28080 });
    const v2 =
      'Error response from daemon: driver failed programming external connectivity on endpoint p-toxiproxy-1: Bind for 127.0.0.1:18080 failed: port is already allocated';
    expect(classifyComposeError(v2)).toEqual({ kind: 'port-in-use', port: 18080 });
  });

  it('names the image that could not be pulled', () => {
    const v1 =
      'Pulling postgres (nonexistent/img:1)...\nGet "https://registry-1.docker.io/v2/": dial tcp: lookup registry-1.docker.io on 10.255.255.53:53: no such host';
    expect(classifyComposeError(v1)).toEqual({ kind: 'image', image: 'nonexistent/img:1' });
    const v2 =
      ' postgres Error pull access denied for nonexistent/img, repository does not exist or may require docker login';
    expect(classifyComposeError(v2)).toEqual({ kind: 'image', image: 'nonexistent/img' });
  });

  it('recognises a missing engine and leaves the rest alone', () => {
    expect(
      classifyComposeError("Couldn't connect to Docker daemon at http+docker://localhost - is it running?"),
    ).toEqual({
      kind: 'no-engine',
    });
    expect(classifyComposeError('services.auditlog.build Additional property foo is not allowed')).toEqual({
      kind: 'other',
    });
  });
});

describe('projectName', () => {
  it('is a compose-valid name derived from the run id', () => {
    expect(projectName('db-downtime-20261121T230000Z-ab12')).toBe(
      'auditchaos-db-downtime-20261121t230000z-ab12',
    );
    expect(projectName('A B/C')).toBe('auditchaos-a-b-c');
    expect(projectName('***')).toBe('auditchaos-run');
  });
});

describe('planProxies', () => {
  it('listens on all interfaces inside the container and tells api from db', () => {
    const plan = planProxies(scenario().proxies);
    expect(plan).toEqual([
      {
        name: 'api',
        listen: '0.0.0.0:18080',
        upstream: 'auditlog:8080',
        enabled: true,
        port: 18080,
        role: 'api',
      },
      {
        name: 'db',
        listen: '0.0.0.0:15432',
        upstream: 'postgres:5432',
        enabled: true,
        port: 15432,
        role: 'db',
      },
    ]);
  });

  it('marks proxies to other upstreams as other', () => {
    const s = scenario(
      'proxies:\n  - { name: cache, listen: 127.0.0.1:16379, upstream: redis:6379 }\n  - { name: w, listen: 127.0.0.1:18081, upstream: service:8080 }\n',
    );
    // The reference stack: only auditlog and postgres are the service and the database.
    expect(planProxies(s.proxies).map((p) => p.role)).toEqual(['other', 'other']);
  });

  it('marks api and db by the services stack.services names, not by conventional names', () => {
    const s = scenario(
      'proxies:\n  - { name: a, listen: 127.0.0.1:17070, upstream: ledger:7070 }\n  - { name: b, listen: 127.0.0.1:15433, upstream: store:5432 }\n  - { name: c, listen: 127.0.0.1:15434, upstream: postgres:5432 }\n',
    );
    const model = stackModel({ ledger: { role: 'service', port: 7070 }, store: { role: 'database' } });
    expect(planProxies(s.proxies, model).map((p) => p.role)).toEqual(['api', 'db', 'other']);
  });
});

describe('compose environment', () => {
  it('uses the official images unless a variable overrides one', () => {
    expect(stackImages({}).postgres).toMatch(/^postgres:\d+\.\d+/);
    expect(stackImages({}).toxiproxy).toMatch(/^ghcr\.io\/shopify\/toxiproxy:\d/);
    expect(stackImages({ AUDITCHAOS_POSTGRES_IMAGE: 'mine/pg:1' }).postgres).toBe('mine/pg:1');
  });

  it('passes ports, flaws, run id and fresh passwords to compose', () => {
    const s = scenario(
      'stack: { flaws: [ack-before-commit, mutable] }\nproxies:\n  - { name: api, listen: 127.0.0.1:28080, upstream: auditlog:8080 }\n  - { name: db, listen: 127.0.0.1:25432, upstream: postgres:5432 }\n',
    );
    const stack = new ComposeStack({ runId: 'r1', scenario: s, env: {} });
    const env = stack.composeEnv();
    expect(env).toMatchObject({
      AUDITCHAOS_RUN_ID: 'r1',
      AUDITCHAOS_API_PORT: '28080',
      AUDITCHAOS_DB_PROXY_PORT: '25432',
      AUDITCHAOS_FLAWS: 'ack-before-commit,mutable',
    });
    expect(stack.secrets).toContain(env.AUDITCHAOS_WRITER_PASSWORD);
    expect(
      new ComposeStack({ runId: 'r2', scenario: s, env: {} }).composeEnv().AUDITCHAOS_OWNER_PASSWORD,
    ).not.toBe(env.AUDITCHAOS_OWNER_PASSWORD);
  });
});

describe('demuxDockerLog', () => {
  const frame = (stream: number, text: string) => {
    const body = Buffer.from(text);
    const head = Buffer.alloc(8);
    head[0] = stream;
    head.writeUInt32BE(body.length, 4);
    return Buffer.concat([head, body]);
  };
  it('joins stdout and stderr frames in order', () => {
    expect(demuxDockerLog(Buffer.concat([frame(1, 'out\n'), frame(2, 'err\n'), frame(1, 'more\n')]))).toBe(
      'out\nerr\nmore\n',
    );
  });
  it('passes a TTY log through unchanged', () => {
    expect(demuxDockerLog(Buffer.from('plain text log\n'))).toBe('plain text log\n');
  });
});

describe('no Docker engine', () => {
  it('up() fails with exit 3 naming the socket', async () => {
    const env = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };
    const stack = new ComposeStack({
      runId: 'no-engine',
      scenario: scenario(),
      env,
      engine: new DockerEngine(env),
    });
    const err = await stack.up().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as EnvironmentError).exitCode).toBe(3);
    expect((err as Error).message).toContain('no Docker engine answers at unix:///nonexistent/docker.sock');
  });
});

describe('packet and clock faults need the engine on this host', () => {
  const facts = { dockerHost: undefined, platform: 'linux', privileged: true };
  it('an engine over tcp or ssh, a non-Linux host, or no root is an exit-3 error saying why', () => {
    const tcp = localEngineProblem('packet', { ...facts, dockerHost: 'tcp://10.1.2.3:2375' });
    expect(tcp).toBeInstanceOf(EnvironmentError);
    expect(tcp?.exitCode).toBe(3);
    expect(tcp?.message).toMatch(
      /nsenter .*DOCKER_HOST=tcp:\/\/10\.1\.2\.3:2375 names an engine reached over tcp/,
    );
    expect(localEngineProblem('clock', { ...facts, dockerHost: 'ssh://me@box' })?.message).toMatch(
      /bind-mount this host's libfaketime.*over ssh/,
    );
    expect(localEngineProblem('packet', { ...facts, platform: 'darwin' })?.message).toMatch(
      /virtual machine/,
    );
    expect(localEngineProblem('packet', { ...facts, privileged: false })?.message).toMatch(/needs root/);
    // A clock fault needs no root; a local socket is this host.
    expect(localEngineProblem('clock', { ...facts, privileged: false })).toBeUndefined();
    expect(localEngineProblem('packet', { ...facts, dockerHost: 'unix:///run/docker.sock' })).toBeUndefined();
  });

  it('up() with a packet fault and DOCKER_HOST=tcp://... stops before it touches the engine', async () => {
    const s = parseScenario(
      'version: 1\nname: t\ndescription: t\nstack: { runtime: compose }\nworkload: { rate: 10/s, duration: 5s }\nfaults:\n  - { at: 1s, for: 1s, kind: packet, target: postgres, loss: 30% }\n',
      't.yml',
    );
    const env = { DOCKER_HOST: 'tcp://192.0.2.1:2375' };
    const stack = new ComposeStack({ runId: 'remote', scenario: s, env, engine: new DockerEngine(env) });
    const err = await stack.up().catch((e: unknown) => e);
    expect(err).toBeInstanceOf(EnvironmentError);
    expect((err as EnvironmentError).exitCode).toBe(3);
    expect((err as Error).message).toMatch(
      /packet faults on compose .* DOCKER_HOST=tcp:\/\/192\.0\.2\.1:2375/,
    );
  });
});

describe('containerSites', () => {
  it("refuses a process in the host's own namespace, a stopped container and a pid this host does not have", async () => {
    await expect(containerSites(netExec, { name: 'c', pid: process.pid, addresses: [] })).rejects.toThrow(
      /runs in the host's network namespace/,
    );
    await expect(containerSites(netExec, { name: 'c', pid: 0, addresses: [] })).rejects.toThrow(
      /is not running/,
    );
    await expect(containerSites(netExec, { name: 'c', pid: 2 ** 30, addresses: [] })).rejects.toThrow(
      /is not visible on this host/,
    );
  });
});

describe('down after a preflight error', () => {
  it('touches no engine and reports no cleanup problem: nothing was started', async () => {
    const s = parseScenario(
      'version: 1\nname: t\ndescription: t\nstack: { runtime: compose }\nworkload: { rate: 10/s, duration: 5s }\nfaults:\n  - { at: 1s, for: 1s, kind: packet, target: postgres, loss: 30% }\n',
      't.yml',
    );
    const env = { DOCKER_HOST: 'tcp://192.0.2.1:2375' };
    const stack = new ComposeStack({ runId: 'remote-down', scenario: s, env, engine: new DockerEngine(env) });
    await expect(stack.up()).rejects.toThrow(/DOCKER_HOST=tcp/);
    await expect(stack.down()).resolves.toBeUndefined();
  });
});
