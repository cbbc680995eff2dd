/**
 * `auditchaos doctor`: what this machine can run, checked without starting anything. Docker engine,
 * compose flavour, the compose stack's images (with the variable that overrides each), PostgreSQL
 * binaries for the local runtime, what clock and packet faults need, and whether the scenario's
 * proxy ports are free.
 */
import net from 'node:net';
import { execa } from 'execa';
import { type EngineAnswers, gatherAutoFacts } from './auto-facts.ts';
import { findLibfaketime } from './clock/faketime.ts';
import { detectCompose } from './compose/compose-cli.ts';
import { stackImages } from './compose/compose-stack.ts';
import { DockerEngine } from './compose/docker-engine.ts';
import { findPostgresBinaries } from './local/postgres.ts';
import { decideAuto } from './select.ts';

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
  engine?: EngineAnswers;
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

  // The same facts `runtime: auto` decides from (auto-facts.ts), so doctor and run agree.
  const facts = await gatherAutoFacts(
    {
      probe: async () => probe,
      imagePresent: (n: string) => engine.imagePresent(n),
      registryAnswers: (n: string, ms?: number) => engine.registryAnswers(n, ms),
    },
    { env, compose: async () => tool !== undefined },
  );
  const images = stackImages(env);
  for (const f of facts.images) {
    if (f.present) checks.push({ name: `image ${f.key}`, status: 'ok', detail: `${f.image} is present` });
    else if (f.pullable)
      checks.push({
        name: `image ${f.key}`,
        status: 'ok',
        detail: `${f.image} is not present; its registry answers, so compose will pull it`,
      });
    else
      checks.push({
        name: `image ${f.key}`,
        status: 'warn',
        detail: `${f.image} is not present and its registry does not answer${f.reason ? ` (${f.reason})` : ''}`,
        hint: `build it offline with scripts/offline-images.sh and set ${f.variable}`,
      });
    if (f.key === 'node')
      checks.push({
        name: 'image auditlog',
        status: 'ok',
        detail: `${images.auditlog} is not built yet: the first compose run builds it from ${images.node}`,
      });
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

  checks.push(clockFaultCheck(env), await packetFaultCheck());

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
  const decided = decideAuto(facts);
  const auto: DoctorReport['auto'] =
    decided.kind === 'compose' || localOk
      ? { kind: decided.kind === 'compose' ? 'compose' : 'local', why: decided.why }
      : {
          kind: undefined,
          why: 'neither Docker with compose and its images nor PostgreSQL binaries are available',
        };
  // compose can start a stack only with its images present or pullable.
  return { checks, runtimes: { compose: composeOk && decided.kind === 'compose', local: localOk }, auto };
}

/** Clock faults need libfaketime (a warning: only scenarios with a clock fault need it). */
function clockFaultCheck(env: NodeJS.ProcessEnv): DoctorCheck {
  try {
    return { name: 'clock faults', status: 'ok', detail: `libfaketime at ${findLibfaketime(env)}` };
  } catch (e) {
    return {
      name: 'clock faults',
      status: 'warn',
      detail: (e as Error).message,
      hint: 'apt-get install faketime libfaketime (only scenarios with a clock fault need it)',
    };
  }
}

/** Packet faults need root and ip/tc/nft/nsenter (a warning: only scenarios with a packet fault need them). */
async function packetFaultCheck(): Promise<DoctorCheck> {
  const missing: string[] = [];
  for (const cmd of ['ip', 'tc', 'nft', 'nsenter', 'ethtool']) {
    const found = await execa('sh', ['-c', `command -v ${cmd}`], { reject: false });
    if (found.exitCode !== 0) missing.push(cmd);
  }
  const root = process.getuid?.() === 0;
  if (root && missing.length === 0)
    return { name: 'packet faults', status: 'ok', detail: 'root, with ip, tc, nft, nsenter and ethtool' };
  return {
    name: 'packet faults',
    status: 'warn',
    detail: [root ? '' : 'not root', missing.length ? `missing ${missing.join(', ')}` : '']
      .filter(Boolean)
      .join('; '),
    hint: 'run as root with apt-get install iproute2 nftables util-linux ethtool (only scenarios with a packet fault need it)',
  };
}

function portFree(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once('error', () => resolve(false));
    srv.listen({ host: '127.0.0.1', port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}
