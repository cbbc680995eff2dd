import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect, it } from 'vitest';
import { runDoctor } from '../../src/stack/doctor.ts';
import { REPO_ROOT, runCli } from '../helpers/cli.ts';

const noDocker = { DOCKER_HOST: 'unix:///nonexistent/docker.sock', PATH: process.env.PATH ?? '' };

it('`doctor` without a Docker engine: compose is not usable (exit 3), local is, and auto picks local', async () => {
  const r = await runCli(['doctor', '--json', '--runtime', 'compose'], { env: noDocker });
  const report = JSON.parse(r.stdout) as {
    ok: boolean;
    checks: { name: string; status: string; detail: string }[];
    runtimes: { compose: boolean; local: boolean };
    auto: { kind?: string };
  };
  expect(report.checks.find((c) => c.name === 'docker engine')).toMatchObject({
    status: 'warn',
    detail: expect.stringContaining('no engine answers at unix:///nonexistent/docker.sock'),
  });
  expect(report.runtimes).toEqual({ compose: false, local: true });
  expect(report.auto.kind).toBe('local');
  expect(report.ok).toBe(false);
  expect(r.exitCode).toBe(3);
});

it("`doctor --scenario` fails with exit 3 when one of the scenario's proxy ports is taken", async () => {
  const squatter = net.createServer();
  await new Promise<void>((r) => squatter.listen(0, '127.0.0.1', () => r()));
  const port = (squatter.address() as net.AddressInfo).port;
  const dir = await mkdtemp(path.join(tmpdir(), 'auditchaos-doctor-'));
  try {
    const file = path.join(dir, 's.yml');
    const text = await readFile(path.join(REPO_ROOT, 'scenarios/quickstart.yml'), 'utf8');
    await writeFile(file, text.replaceAll('127.0.0.1:18080', `127.0.0.1:${port}`));
    const r = await runCli(['doctor', '--runtime', 'local', '--scenario', file], { env: noDocker });
    expect(r.stdout).toMatch(new RegExp(`FAIL\\s+port ${port}\\s+127\\.0\\.0\\.1:${port} is in use`));
    expect(r.stdout).toMatch(/ok\s+port 15432|FAIL\s+port 15432/);
    expect(r.exitCode).toBe(3);
    // and the same check passes once the port is free
    await new Promise((r) => squatter.close(r));
    const again = await runDoctor({ env: noDocker, ports: [port] });
    expect(again.checks.find((c) => c.name === `port ${port}`)?.status).toBe('ok');
  } finally {
    if (squatter.listening) squatter.close();
    await rm(dir, { recursive: true, force: true });
  }
});
