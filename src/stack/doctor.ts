/**
 * `auditchaos doctor`: what this machine can run, checked without starting anything. Docker engine,
 * compose flavour, the compose stack's images (with the variable that overrides each), PostgreSQL
 * binaries for the local runtime, and whether the scenario's proxy ports are free.
 */
import net from 'node:net';
import { detectCompose, IMAGE_VARIABLES } from './compose/compose-cli.ts';
import { stackImages } from './compose/compose-stack.ts';
import { DockerEngine } from './compose/docker-engine.ts';
import { findPostgresBinaries } from './local/postgres.ts';

export type CheckStatus = 'ok' | 'warn' | 'fail';

export interface DoctorCheck {
  /** e.g. "docker engine", "image postgres" */
  name: string;
  status: CheckStatus;
  detail: string;
  hint?: string;
}

export interface DoctorReport {
  checks: DoctorCheck[];
  /** Which runtimes can start a stack here. */
  runtimes: { compose: boolean; local: boolean };
  /** What `stack.runtime: auto` would pick, and why. */
  auto: { kind: 'compose' | 'local' | undefined; why: string };
}

export interface DoctorOptions {
  env?: NodeJS.ProcessEnv;
  /** Loopback ports the stack needs (the scenario's proxy listen ports). */
  ports?: number[];
  engine?: DockerEngine;
}

export async function runDoctor(opts: DoctorOptions = {}): Promise<DoctorReport> {
  const env = opts.env ?? process.env;
  const engine = opts.engine ?? new DockerEngine(env);
  const checks: DoctorCheck[] = [];

  const probe = await engine.probe(3000);
  checks.push(
    probe.ok
      ? {
          name: 'docker engine',
          status: 'ok',
          detail: `Docker ${probe.version} (API ${probe.apiVersion}) at ${probe.socket}`,
        }
      : {
          name: 'docker engine',
          status: 'warn',
          detail: `no engine answers at ${probe.socket}: ${probe.reason}`,
          hint: 'start dockerd / Docker Desktop for the compose runtime; the local runtime needs no Docker',
        },
  );

  const tool = await detectCompose(env);
  checks.push(
    tool
      ? {
          name: 'compose',
          status: 'ok',
          detail: `${tool.command.join(' ')} ${tool.version} (${tool.flavour})`,
        }
      : {
          name: 'compose',
          status: 'warn',
          detail: 'neither `docker compose` nor `docker-compose` is installed',
          hint: 'install the compose plugin, or docker-compose (Debian: apt-get install docker-compose)',
        },
  );

  let imagesOk = probe.ok;
  if (probe.ok) {
    const images = stackImages(env);
    const auditlogPresent = await engine.imagePresent(images.auditlog).catch(() => false);
    const keys: (keyof typeof IMAGE_VARIABLES)[] = ['postgres', 'toxiproxy', 'auditlog'];
    if (!auditlogPresent) keys.push('node');
    for (const key of keys) {
      const image = images[key];
      const present =
        key === 'auditlog' ? auditlogPresent : await engine.imagePresent(image).catch(() => false);
      if (present) {
        checks.push({ name: `image ${key}`, status: 'ok', detail: `${image} is present` });
      } else if (key === 'auditlog') {
        checks.push({
          name: `image ${key}`,
          status: 'ok',
          detail: `${image} is not built yet: the first compose run builds it from ${images.node}`,
        });
      } else {
        imagesOk = false;
        checks.push({
          name: `image ${key}`,
          status: 'warn',
          detail: `${image} is not present: compose will try to pull it`,
          hint: `without a registry, build it with scripts/offline-images.sh and set ${IMAGE_VARIABLES[key]}`,
        });
      }
    }
  }

  let localOk = false;
  for (const source of ['embedded', 'system'] as const) {
    try {
      const bin = await findPostgresBinaries(source);
      localOk = true;
      checks.push({ name: `postgres (${source})`, status: 'ok', detail: bin.postgres });
    } catch (e) {
      checks.push({
        name: `postgres (${source})`,
        status: 'warn',
        detail: (e as Error).message,
        hint:
          source === 'embedded'
            ? 'run `npm ci` (its postinstall restores the library links)'
            : 'apt-get install postgresql',
      });
    }
  }

  for (const port of opts.ports ?? []) {
    const free = await portFree(port);
    checks.push(
      free
        ? { name: `port ${port}`, status: 'ok', detail: `127.0.0.1:${port} is free` }
        : {
            name: `port ${port}`,
            status: 'fail',
            detail: `127.0.0.1:${port} is in use`,
            hint: 'stop what listens there (`ss -ltnp`), run `auditchaos down`, or change proxies[].listen',
          },
    );
  }

  const composeOk = probe.ok && tool !== undefined;
  const auto: DoctorReport['auto'] = composeOk
    ? {
        kind: 'compose',
        why: imagesOk
          ? 'a Docker engine answers and compose is installed'
          : 'a Docker engine answers and compose is installed (but some images are missing: see above)',
      }
    : localOk
      ? { kind: 'local', why: probe.ok ? 'compose is not installed' : 'no Docker engine answers' }
      : { kind: undefined, why: 'neither Docker with compose nor PostgreSQL binaries are available' };
  return { checks, runtimes: { compose: composeOk, local: localOk }, auto };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
