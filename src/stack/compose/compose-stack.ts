/**
 * The compose runtime: the scenario's compose file run with `docker compose` or `docker-compose`
 * under a project named after the run id, every container labelled with it. Faults on containers
 * go through the Docker engine (stop, kill, pause and their undo); the Toxiproxy proxies are
 * created through its API once it answers. down() removes the project's containers, networks and
 * volumes, then checks by label that nothing is left.
 */
import { chmod, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { EnvironmentError } from '../../errors.ts';
import type { PacketOptions } from '../../scenario/packet-options.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { parseHostPort } from '../../scenario/units.ts';
import { OWNER_ROLE } from '../../service/migrate.ts';
import { readHttpDateClock, readPostgresClock } from '../clock/clock-control.ts';
import { clockFaultTargets, FileClockControl } from '../clock/file-clock.ts';
import { newPassword } from '../credentials.ts';
import { freePort, portFree } from '../local/free-port.ts';
import type { PacketSite } from '../netns/packet-backend.ts';
import { PacketFaults, packetFaultsOf } from '../netns/packet-link.ts';
import { hasNetAdmin } from '../netns/veth-link.ts';
import { type NamedService, type StackModel, stackModel, TOXIPROXY_API_PORT } from '../services.ts';
import { RunStateFile } from '../state.ts';
import {
  DB_NAME,
  type DbFaultMode,
  type DownMode,
  type ServiceFaultMode,
  type Stack,
  type StackEndpoints,
} from '../types.ts';
import {
  ComposeProject,
  type ComposeTool,
  IMAGE_VARIABLES,
  projectName,
  requireCompose,
} from './compose-cli.ts';
import { containerSites, localEngineProblem } from './container-net.ts';
import { type ContainerInfo, DockerEngine, type Selector } from './docker-engine.ts';
import { composeOverride, overrideFileName, readComposeModel, SHM_GUARD_FILE } from './override.ts';

/** compose/stack.yml of this repository: the default when a scenario names none. */
export const DEFAULT_COMPOSE_FILE = path.resolve(import.meta.dirname, '../../../compose/stack.yml');

export const DEFAULT_IMAGES = {
  postgres: 'postgres:15.14-bookworm',
  toxiproxy: 'ghcr.io/shopify/toxiproxy:2.9.0',
  node: 'node:20.18.1-bookworm-slim',
  auditlog: 'auditchaos/auditlog:dev',
} as const;

/** The built-in proxy's image (scripts/offline-images.sh builds it), where Toxiproxy's cannot be had. */
export const BUILTIN_PROXY_IMAGE = 'auditchaos/proxy:dev';

/**
 * The proxy image the override adds: AUDITCHAOS_TOXIPROXY_IMAGE, else the built-in proxy when
 * AUDITCHAOS_PROXY=builtin, else the real Toxiproxy image.
 */
export function proxyImage(env: NodeJS.ProcessEnv = process.env): { image: string; fallback?: string } {
  const builtin = env.AUDITCHAOS_BUILTIN_PROXY_IMAGE || BUILTIN_PROXY_IMAGE;
  if (env[IMAGE_VARIABLES.toxiproxy]) return { image: env[IMAGE_VARIABLES.toxiproxy] as string };
  if (env.AUDITCHAOS_PROXY === 'builtin') return { image: builtin };
  return { image: DEFAULT_IMAGES.toxiproxy, fallback: builtin };
}

export interface ComposeStackOptions {
  runId: string;
  /** `faults`: the packet and clock faults the stack prepares for (none when absent). */
  scenario: Pick<Scenario, 'proxies' | 'stack'> & Partial<Pick<Scenario, 'faults'>>;
  /** Absolute path of the compose file; DEFAULT_COMPOSE_FILE when absent. */
  composeFile?: string;
  /** Environment for compose's variable substitution (image overrides); process.env by default. */
  env?: NodeJS.ProcessEnv;
  log?: (line: string) => void;
  stateDir?: string;
  /** How long up() waits for everything to be healthy. */
  healthTimeoutMs?: number;
  /** How long up() may spend pulling one missing image. */
  pullTimeoutMs?: number;
  engine?: DockerEngine;
  tool?: ComposeTool;
}

/** The images compose/stack.yml will use under this environment. */
export function stackImages(
  env: NodeJS.ProcessEnv = process.env,
): Record<keyof typeof DEFAULT_IMAGES, string> {
  return {
    postgres: env[IMAGE_VARIABLES.postgres] || DEFAULT_IMAGES.postgres,
    toxiproxy: env[IMAGE_VARIABLES.toxiproxy] || DEFAULT_IMAGES.toxiproxy,
    node: env[IMAGE_VARIABLES.node] || DEFAULT_IMAGES.node,
    auditlog: env[IMAGE_VARIABLES.auditlog] || DEFAULT_IMAGES.auditlog,
  };
}

interface PlannedProxy {
  name: string;
  /** inside the toxiproxy container */
  listen: string;
  upstream: string;
  enabled: boolean;
  port: number;
  role: 'api' | 'db' | 'other';
}

/** Where each scenario proxy listens inside the toxiproxy container, and which are api / db. Pure. */
export function planProxies(
  proxies: Scenario['proxies'],
  model: StackModel = stackModel(undefined),
): PlannedProxy[] {
  let api = false;
  let db = false;
  return proxies.map((p) => {
    const listen = parseHostPort(p.listen);
    const up = parseHostPort(p.upstream);
    if (!listen || !up)
      throw new EnvironmentError(`proxy ${p.name}: bad address ${p.listen} -> ${p.upstream}`);
    let role: PlannedProxy['role'] = 'other';
    if (!api && up.host === model.service.name) {
      role = 'api';
      api = true;
    } else if (!db && up.host === model.database?.name) {
      role = 'db';
      db = true;
    }
    // Published ports reach the container's network interface, never its loopback.
    return {
      name: p.name,
      listen: `0.0.0.0:${listen.port}`,
      upstream: p.upstream,
      enabled: p.enabled,
      port: listen.port,
      role,
    };
  });
}

export class ComposeStack implements Stack {
  readonly kind = 'compose' as const;
  readonly runId: string;
  readonly project: string;
  readonly composeFile: string;
  private readonly opts: ComposeStackOptions;
  private readonly env: NodeJS.ProcessEnv;
  private readonly engine: DockerEngine;
  private readonly state: RunStateFile;
  private readonly log: (line: string) => void;
  private readonly proxies: PlannedProxy[];
  readonly model: StackModel;
  private overrideFile: string | undefined;
  private toxiproxyService = 'toxiproxy';
  private compose: ComposeProject | undefined;
  private ep: StackEndpoints | undefined;
  private readonly postgresPassword = newPassword('pg');
  private readonly ownerPassword = newPassword('owner');
  private readonly writerPassword = newPassword('writer');
  /** Packet faults: entered in the target containers' namespaces (only when the scenario has them). */
  private readonly packets: PacketFaults | undefined;
  /** Clock faults: the moved services run under libfaketime (only when the scenario has one). */
  clock: FileClockControl | undefined;
  private clockDir: string | undefined;

  constructor(opts: ComposeStackOptions) {
    this.opts = opts;
    this.runId = opts.runId;
    this.project = projectName(opts.runId);
    this.composeFile = opts.composeFile ?? DEFAULT_COMPOSE_FILE;
    this.env = opts.env ?? process.env;
    this.engine = opts.engine ?? new DockerEngine(this.env);
    this.log = opts.log ?? (() => {});
    this.state = new RunStateFile(opts.runId, 'compose', opts.stateDir);
    this.model = stackModel(opts.scenario.stack.services);
    this.proxies = planProxies(opts.scenario.proxies, this.model);
    if (packetFaultsOf(opts.scenario.faults ?? []).length)
      this.packets = new PacketFaults(opts.runId, 'compose', opts.stateDir);
  }

  /** Passwords generated for this run, for redaction in reports and logs. */
  get secrets(): string[] {
    return [this.postgresPassword, this.ownerPassword, this.writerPassword];
  }

  get selector(): Selector {
    return { runId: this.runId, project: this.project };
  }

  /** Host ports picked before start: Docker gives a restarted container a new ephemeral port. */
  private hostPorts: { postgres: number; toxiproxy: number; service: number[] } | undefined;

  private servicePortRange(): string {
    const service = this.hostPorts?.service ?? [];
    return service.length === 1 ? String(service[0]) : `${Math.min(...service)}-${Math.max(...service)}`;
  }

  /** Variables for compose/stack.yml: run id, ports, passwords, flaws, image choices. */
  composeEnv(): Record<string, string> {
    const hp = this.hostPorts;
    const ports: Record<string, string> = hp
      ? {
          AUDITCHAOS_POSTGRES_PORT: String(hp.postgres),
          AUDITCHAOS_TOXIPROXY_PORT: String(hp.toxiproxy),
          AUDITCHAOS_SERVICE_PORTS: this.servicePortRange(),
        }
      : {};
    const images = stackImages(this.env);
    const api = this.proxies.find((p) => p.role === 'api');
    const db = this.proxies.find((p) => p.role === 'db');
    return {
      AUDITCHAOS_RUN_ID: this.runId,
      AUDITCHAOS_POSTGRES_IMAGE: images.postgres,
      AUDITCHAOS_TOXIPROXY_IMAGE: images.toxiproxy,
      AUDITCHAOS_NODE_IMAGE: images.node,
      AUDITCHAOS_AUDITLOG_IMAGE: images.auditlog,
      AUDITCHAOS_API_PORT: String(api?.port ?? 18080),
      AUDITCHAOS_DB_PROXY_PORT: String(db?.port ?? 15432),
      AUDITCHAOS_POSTGRES_PASSWORD: this.postgresPassword,
      AUDITCHAOS_OWNER_PASSWORD: this.ownerPassword,
      AUDITCHAOS_WRITER_PASSWORD: this.writerPassword,
      AUDITCHAOS_FLAWS: this.opts.scenario.stack.flaws.join(','),
      ...ports,
    };
  }

  async up(signal?: AbortSignal): Promise<StackEndpoints> {
    await this.preflightHostFaults();
    await this.engine.requireEngine();
    const tool = this.opts.tool ?? (await requireCompose(this.env));
    this.hostPorts = {
      postgres: await freePort(),
      toxiproxy: await freePort(),
      service: await freePortRange(this.opts.scenario.stack.replicas),
    };
    this.log(
      `compose: ${tool.command.join(' ')} ${tool.version}, project ${this.project}, ${this.composeFile}`,
    );
    await this.preflightPorts();
    const image = await this.preflightImages(signal);
    await this.prepareClock();
    const files = [this.composeFile, await this.writeOverride(image)];
    this.compose = new ComposeProject({
      tool,
      project: this.project,
      files,
      env: this.composeEnv(),
      baseEnv: this.env,
    });
    // Written before anything starts, so that `auditchaos down` can sweep after a crash.
    await this.state.update((s) => {
      s.composeProject = this.project;
      s.composeFiles = files;
    });
    signal?.throwIfAborted();

    const started = Date.now();
    this.log('compose: up -d');
    await this.compose.up({
      scale: { [this.model.service.name]: this.opts.scenario.stack.replicas },
      signal,
    });
    const deadline = started + (this.opts.healthTimeoutMs ?? 120_000);
    this.log(`compose: containers started after ${Date.now() - started} ms`);

    const db = this.model.database;
    const database = db ? await this.requireOne(db.name) : undefined;
    if (database) {
      await this.waitHealthy(database, deadline, signal);
      this.log(`compose: ${database.service} healthy after ${Date.now() - started} ms`);
    }

    const toxiproxy = await this.requireOne(this.toxiproxyService);
    const toxiPort = await this.publishedPort(toxiproxy, TOXIPROXY_API_PORT);
    const toxiproxyUrl = `http://127.0.0.1:${toxiPort}`;
    await this.waitHttp(toxiproxy, `${toxiproxyUrl}/version`, deadline, signal);
    await this.populate(toxiproxyUrl);
    this.log(`compose: ${this.proxies.length} proxies created after ${Date.now() - started} ms`);

    const services = await this.serviceContainers();
    if (services.length === 0)
      throw new EnvironmentError(
        `compose project ${this.project} has no ${this.model.service.name} container`,
      );
    const direct: string[] = [];
    for (const s of services) direct.push(await this.waitService(s, deadline, signal));
    this.log(`compose: healthy after ${Date.now() - started} ms`);
    this.setClockReaders(database, direct[0] as string);

    const toxiStatus = await this.engine.status(toxiproxy.id);
    const api = this.proxies.find((p) => p.role === 'api');
    const hostListen = (p: PlannedProxy) =>
      toxiStatus.ports[`${p.port}/tcp`]
        ? `127.0.0.1:${toxiStatus.ports[`${p.port}/tcp`]}`
        : `${toxiproxy.service}:${p.port}`;
    const health = this.model.service.health;
    this.ep = {
      toxiproxyUrl,
      serviceUrl:
        api && toxiStatus.ports[`${api.port}/tcp`] ? `http://${hostListen(api)}` : (direct[0] as string),
      serviceDirectUrl: direct[0] as string,
      ...(database && this.model.reference ? { databaseUrl: await this.ownerUrl(database) } : {}),
      ...(health === 'compose'
        ? { health: null }
        : { healthPath: health.path, ...(health.status ? { healthStatus: health.status } : {}) }),
      proxies: Object.fromEntries(
        this.proxies.map((p) => [p.name, { listen: hostListen(p), upstream: p.upstream }]),
      ),
    };
    return this.ep;
  }

  endpoints(): StackEndpoints {
    if (!this.ep) throw new Error('stack is not up');
    return this.ep;
  }

  /** Owner role URL of the reference database, through its published port. */
  private async ownerUrl(c: ContainerInfo): Promise<string> {
    const port = await this.publishedPort(c, this.model.database?.port ?? 5432);
    return `postgres://${OWNER_ROLE}:${encodeURIComponent(this.ownerPassword)}@127.0.0.1:${port}/${DB_NAME}`;
  }

  /** Superuser URL of the reference database (postgres role), reached through its published port. */
  async adminDatabaseUrl(): Promise<string> {
    const db = this.requireDatabase();
    const pg = await this.requireOne(db.name);
    return `postgres://postgres:${encodeURIComponent(this.postgresPassword)}@127.0.0.1:${await this.publishedPort(pg, db.port)}/${DB_NAME}`;
  }

  private requireDatabase(): NamedService & { port: number } {
    const db = this.model.database;
    if (!db) {
      throw new EnvironmentError('stack.services declares no role: database service', {
        hint: 'mark the database service with role: database, or use `down` faults with its name',
      });
    }
    return db;
  }

  /** Containers of the named compose service (one replica, or all), oldest replica first. */
  private async targets(target: string, replica?: number): Promise<ContainerInfo[]> {
    const all = (await this.engine.containers(this.selector))
      .filter((c) => c.service === target)
      .sort((x, y) => x.number - y.number);
    if (all.length === 0) {
      throw new EnvironmentError(`compose project ${this.project} has no ${target} container`, {
        hint: `faults name a service of ${this.composeFile} declared in stack.services`,
      });
    }
    if (replica === undefined) return all;
    const c = all[replica];
    if (!c)
      throw new EnvironmentError(`there is no ${target} replica ${replica} (the stack has ${all.length})`);
    return [c];
  }

  async fault(target: string, mode: DownMode, replica?: number): Promise<void> {
    const cs = await this.targets(target, replica);
    await Promise.all(
      cs.map(async (c) => {
        if (mode === 'kill') await this.engine.kill(c.id, 'SIGKILL');
        else if (mode === 'stop') await this.engine.stop(c.id, 10);
        else if (mode === 'pause') await this.engine.pause(c.id);
        else {
          await this.engine.stop(c.id, 10);
          await this.engine.start(c.id);
        }
      }),
    );
  }

  async recover(target: string, mode: DownMode, replica?: number): Promise<void> {
    const cs = await this.targets(target, replica);
    const deadline = Date.now() + (this.opts.healthTimeoutMs ?? 120_000);
    for (const c of cs) {
      if (mode === 'pause') await this.engine.unpause(c.id);
      else if (mode !== 'restart') await this.engine.start(c.id);
    }
    if (mode === 'pause') return;
    for (const c of cs) {
      if (target === this.model.service.name) await this.waitService(c, deadline);
      else await this.waitHealthy(c, deadline);
    }
    // A compose file may publish an ephemeral port, which a restart changes.
    if (!this.ep) return;
    if (target === this.model.database?.name && this.model.reference && cs[0])
      this.ep.databaseUrl = await this.ownerUrl(cs[0]);
    const first = (await this.serviceContainers())[0];
    if (target === this.model.service.name && first)
      this.ep.serviceDirectUrl = `http://127.0.0.1:${await this.publishedPort(first, this.model.service.port)}`;
  }

  dbFault(mode: DbFaultMode): Promise<void> {
    return this.fault(this.requireDatabase().name, mode);
  }

  dbRecover(mode: DbFaultMode): Promise<void> {
    return this.recover(this.requireDatabase().name, mode);
  }

  serviceFault(mode: ServiceFaultMode, replica?: number): Promise<void> {
    return this.fault(this.model.service.name, mode, replica);
  }

  serviceRecover(mode: ServiceFaultMode, replica?: number): Promise<void> {
    return this.recover(this.model.service.name, mode, replica);
  }

  /**
   * Packet and clock faults reach into the containers from this host (nsenter, bind mounts): an
   * engine elsewhere, or no root for packet faults, is an exit-3 error before anything starts, as
   * is a packet option this kernel cannot do.
   */
  private async preflightHostFaults(): Promise<void> {
    const faults = this.opts.scenario.faults ?? [];
    const facts = { dockerHost: this.env.DOCKER_HOST, platform: process.platform, privileged: hasNetAdmin() };
    const problem =
      (this.packets ? localEngineProblem('packet', facts) : undefined) ??
      (clockFaultTargets(faults).length ? localEngineProblem('clock', facts) : undefined);
    if (problem) throw problem;
    if (this.packets) {
      const backend = await this.packets.check(packetFaultsOf(faults));
      this.log(`compose: packet faults through ${backend}, in the target containers' network namespaces`);
    }
  }

  /** Clock faults: a folder of the run's own with a timestamp file per moved service, at +0. */
  private async prepareClock(): Promise<void> {
    const faults = this.opts.scenario.faults ?? [];
    if (clockFaultTargets(faults).length === 0) return;
    const dir = path.join(tmpdir(), `auditchaos-${this.project}-clock`);
    // Named in the state before it exists: `auditchaos down` resets and removes it after a crash.
    await this.state.update((s) => s.dirs.push(dir));
    this.clockDir = dir;
    const clock = await FileClockControl.prepare(dir, faults, {
      runs: this.model.all.map((s) => s.name),
      runtime: 'compose',
    });
    if (!clock) return;
    await chmod(dir, 0o755); // read inside the containers by their own users (postgres, node)
    await writeFile(path.join(dir, SHM_GUARD_FILE), '', { mode: 0o444 });
    this.clock = clock;
    await this.state.update((s) => {
      s.clockFiles = [...clock.files.values()];
    });
  }

  /** How each moved clock is read back: the service's Date header, the reference database's clock_timestamp(). */
  private setClockReaders(database: ContainerInfo | undefined, serviceUrl: string): void {
    const clock = this.clock;
    if (!clock) return;
    const svc = this.model.service;
    if (clock.targets.includes(svc.name)) {
      const p = svc.health === 'compose' ? '/' : svc.health.path;
      clock.setReader(svc.name, () => readHttpDateClock(`${this.ep?.serviceDirectUrl ?? serviceUrl}${p}`));
    }
    const db = this.model.database;
    if (db && database && this.model.reference && clock.targets.includes(db.name))
      clock.setReader(db.name, async () =>
        readPostgresClock(await this.adminDatabaseUrl()).catch(() => undefined),
      );
  }

  /**
   * A packet fault on every interface of the target's containers (each replica), entered from
   * the host by the container's pid; nftables acts on the host end of each veth pair.
   */
  async packetFault(target: string, options: PacketOptions, faultId: string) {
    const packets = this.packets;
    if (!packets)
      throw new EnvironmentError(`packet fault ${faultId}: this stack was not prepared for packet faults`);
    const sites: PacketSite[] = [];
    for (const c of await this.targets(target)) {
      const proc = await this.engine.process(c.id);
      sites.push(...(await containerSites(packets.exec, { name: c.name, ...proc })));
    }
    return packets.apply(target, options, faultId, sites);
  }

  /** Waits until a service container answers its health check; returns its direct URL. */
  private async waitService(c: ContainerInfo, deadline: number, signal?: AbortSignal): Promise<string> {
    const { port, health } = this.model.service;
    if (health === 'compose') await this.waitHealthy(c, deadline, signal);
    const url = `http://127.0.0.1:${await this.publishedPort(c, port)}`;
    if (health !== 'compose') await this.waitHttp(c, `${url}${health.path}`, deadline, signal, health.status);
    return url;
  }

  /** The override file for this run: Toxiproxy, published ports, labels (override.ts). */
  private async writeOverride(image: string): Promise<string> {
    const model = readComposeModel(await readFile(this.composeFile, 'utf8'));
    let override: ReturnType<typeof composeOverride>;
    try {
      override = composeOverride({
        model,
        stack: this.model,
        runId: this.runId,
        proxyImage: image,
        hostPorts: {
          toxiproxy: this.hostPorts?.toxiproxy ?? 0,
          service: this.servicePortRange(),
          database: this.hostPorts?.postgres,
        },
        proxyPorts: this.proxies.map((p) => p.port),
        ...(this.clock && this.clockDir
          ? {
              clock: {
                lib: this.clock.lib,
                dir: this.clockDir,
                files: Object.fromEntries([...this.clock.files].map(([t, f]) => [t, path.basename(f)])),
              },
            }
          : {}),
      });
    } catch (e) {
      throw new EnvironmentError(`${this.composeFile}: ${(e as Error).message}`, {
        hint: 'stack.services names compose services of this file',
      });
    }
    this.toxiproxyService = override.toxiproxyService;
    const file = path.join(tmpdir(), overrideFileName(this.project));
    await writeFile(file, override.yaml);
    this.overrideFile = file;
    if (override.addsToxiproxy) this.log(`compose: adds ${image} as ${override.toxiproxyService} (${file})`);
    return file;
  }

  async collectLogs(dir: string): Promise<string[]> {
    await mkdir(dir, { recursive: true });
    const out: string[] = [];
    for (const c of await this.engine.containers(this.selector)) {
      const file = path.join(dir, `${c.service || c.name}-${c.number}.log`);
      try {
        await writeFile(file, await this.engine.logs(c.id));
        out.push(file);
      } catch (e) {
        this.log(`compose: could not read the logs of ${c.name}: ${(e as Error).message}`);
      }
    }
    return out;
  }

  async down(): Promise<void> {
    const problems: string[] = [];
    let composeFailure: string | undefined;
    // Clocks back to true time first: a container that outlives a failed down keeps a true clock.
    await this.clock?.resetAll();
    if (this.compose) {
      try {
        await this.compose.down();
      } catch (e) {
        composeFailure = (e as Error).message;
        this.log(`compose: down failed, removing the project by label instead: ${composeFailure}`);
      }
    }
    // By label too: what compose down missed (a failed `up`, an edited compose file). Only what
    // is still there afterwards makes the cleanup incomplete. An up() that stopped before compose
    // ran (a preflight's exit 3: no engine, a remote one, a taken port) made nothing in Docker.
    if (this.compose) {
      try {
        await this.engine.sweep(this.selector);
        const left = await this.engine.leftovers(this.selector);
        const names = [...left.containers, ...left.networks, ...left.volumes];
        if (names.length) problems.push(`still present: ${names.join(', ')}`);
      } catch (e) {
        problems.push((e as Error).message);
      }
    }
    if (problems.length && composeFailure) problems.push(composeFailure);
    this.ep = undefined;
    if (this.clockDir) {
      const dir = this.clockDir;
      await rm(dir, { recursive: true, force: true }).catch((e: Error) =>
        problems.push(`could not remove ${dir}: ${e.message}`),
      );
    }
    if (problems.length) {
      throw new EnvironmentError(
        `cleanup of compose project ${this.project} was incomplete: ${problems.join('; ')}`,
        {
          hint: 'run `auditchaos down` to sweep what is left',
        },
      );
    }
    await this.state.remove();
    if (this.overrideFile) await rm(this.overrideFile, { force: true });
  }

  private async preflightPorts(): Promise<void> {
    for (const p of this.proxies) {
      if (!(await portFree(p.port))) {
        throw new EnvironmentError(
          `port ${p.port} on 127.0.0.1 is already in use (needed by the ${p.name} proxy)`,
          {
            hint: 'stop what listens there (`ss -ltnp`), run `auditchaos down` for leftovers of earlier runs, or change proxies[].listen',
          },
        );
      }
    }
  }

  /**
   * Every image the reference stack needs is present, or pulled now; otherwise an error naming it
   * and its variable. For a team's file compose decides, except for the proxy image the override
   * adds: Toxiproxy's, or the built-in proxy's where that cannot be had. Returns the proxy image.
   */
  private async preflightImages(signal?: AbortSignal): Promise<string> {
    const images = stackImages(this.env);
    const needed: (keyof typeof IMAGE_VARIABLES)[] = [];
    const reference = path.resolve(this.composeFile) === DEFAULT_COMPOSE_FILE;
    if (reference) {
      needed.push('postgres', 'toxiproxy');
      if (!(await this.engine.imagePresent(images.auditlog))) needed.push('node');
    }
    for (const key of needed) await this.ensureImage(images[key], IMAGE_VARIABLES[key], signal);
    if (needed.includes('node')) this.log(`compose: building ${images.auditlog} from ${images.node}`);
    if (reference) return images.toxiproxy;
    const choice = proxyImage(this.env);
    if (choice.fallback && !(await this.engine.imagePresent(choice.image))) {
      try {
        await this.ensureImage(choice.image, IMAGE_VARIABLES.toxiproxy, signal);
      } catch (e) {
        if (!(await this.engine.imagePresent(choice.fallback))) throw e;
        this.log(`compose: ${choice.image} cannot be had here, using the built-in proxy ${choice.fallback}`);
        return choice.fallback;
      }
    } else await this.ensureImage(choice.image, IMAGE_VARIABLES.toxiproxy, signal);
    return choice.image;
  }

  private async ensureImage(image: string, variable: string, signal?: AbortSignal): Promise<void> {
    if (await this.engine.imagePresent(image)) return;
    signal?.throwIfAborted();
    this.log(`compose: pulling ${image}`);
    try {
      await this.engine.pull(image, this.opts.pullTimeoutMs ?? 300_000);
    } catch (e) {
      throw new EnvironmentError(
        `image ${image} is not available: it is not on this host and pulling it failed (${(e as Error).message})`,
        {
          hint: `build local images with scripts/offline-images.sh and select them with ${variable}=<image> (AUDITCHAOS_PROXY=builtin for the built-in proxy)`,
          cause: e,
        },
      );
    }
  }

  private async serviceContainers(): Promise<ContainerInfo[]> {
    const all = await this.engine.containers(this.selector);
    return all.filter((c) => c.service === this.model.service.name).sort((x, y) => x.number - y.number);
  }

  private async requireOne(service: string): Promise<ContainerInfo> {
    const c = (await this.engine.containers(this.selector)).find((x) => x.service === service);
    if (!c) {
      throw new EnvironmentError(`compose project ${this.project} has no ${service} container`, {
        hint: `stack.services names the services of ${this.composeFile}`,
      });
    }
    return c;
  }

  private async publishedPort(c: ContainerInfo, containerPort: number): Promise<number> {
    const st = await this.engine.status(c.id);
    if (!st.running && !st.paused) throw await this.died(c, `exited with code ${st.exitCode}`);
    const port = st.ports[`${containerPort}/tcp`];
    if (!port) {
      throw new EnvironmentError(`${c.service} does not publish port ${containerPort} on 127.0.0.1`, {
        hint: `add "127.0.0.1::${containerPort}" to its ports in ${this.composeFile}`,
      });
    }
    return port;
  }

  private async waitHealthy(c: ContainerInfo, deadline: number, signal?: AbortSignal): Promise<void> {
    for (;;) {
      signal?.throwIfAborted();
      const st = await this.engine.status(c.id);
      if (st.running && (st.health === 'healthy' || st.health === undefined)) return;
      if (!st.running && !st.paused && st.state !== 'created' && st.state !== 'restarting') {
        throw await this.died(c, `exited with code ${st.exitCode}`);
      }
      if (Date.now() > deadline)
        throw await this.died(c, `is not healthy (${st.health ?? st.state}) in time`);
      await sleep(250);
    }
  }

  private async waitHttp(
    c: ContainerInfo,
    url: string,
    deadline: number,
    signal?: AbortSignal,
    statuses?: number[],
  ): Promise<void> {
    let last = '';
    for (;;) {
      signal?.throwIfAborted();
      try {
        const r = await fetchWithTimeout(url, {}, 2000);
        await r.body?.cancel();
        if (statuses ? statuses.includes(r.status) : r.ok) return;
        last = `HTTP ${r.status}`;
      } catch (e) {
        last = (e as Error).message;
      }
      const st = await this.engine.status(c.id);
      if (!st.running && !st.paused) throw await this.died(c, `exited with code ${st.exitCode}`);
      if (Date.now() > deadline) throw await this.died(c, `did not answer ${url} in time (${last})`);
      await sleep(250);
    }
  }

  private async died(c: ContainerInfo, what: string): Promise<EnvironmentError> {
    let logs = '';
    try {
      logs = (await this.engine.logs(c.id)).trimEnd().split('\n').slice(-15).join('\n');
    } catch {
      // the container may be gone
    }
    return new EnvironmentError(
      `${c.service} (${c.name}) ${what}${logs ? `; its last log lines:\n${logs}` : ''}`,
      {
        hint: 'the full logs are in the report folder; `auditchaos doctor` checks the Docker setup',
      },
    );
  }

  private async populate(toxiproxyUrl: string): Promise<void> {
    const body = this.proxies.map((p) => ({
      name: p.name,
      listen: p.listen,
      upstream: p.upstream,
      enabled: p.enabled,
    }));
    const r = await fetchWithTimeout(
      `${toxiproxyUrl}/populate`,
      { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) },
      10_000,
    );
    if (!r.ok) {
      throw new EnvironmentError(
        `could not create the proxies through ${toxiproxyUrl}: HTTP ${r.status} ${await r.text()}`,
        {
          hint: 'check proxies[] in the scenario: listen ports must be free inside the toxiproxy container',
        },
      );
    }
    await r.body?.cancel().catch(() => undefined);
  }
}

/** `n` consecutive free loopback ports (a range compose can hand to scaled replicas). */
async function freePortRange(n: number): Promise<number[]> {
  if (n === 1) return [await freePort()];
  for (let attempt = 0; attempt < 50; attempt++) {
    const start = 20_000 + Math.floor(Math.random() * 30_000);
    const ports = Array.from({ length: n }, (_, i) => start + i);
    if ((await Promise.all(ports.map((p) => portFree(p)))).every(Boolean)) return ports;
  }
  throw new EnvironmentError(
    `could not find ${n} consecutive free ports on 127.0.0.1 for the service replicas`,
  );
}

/**
 * fetch with a ref'd timer: AbortSignal.timeout's timer is unref'd, and a request stuck on a
 * connection that docker-proxy accepted before the container listens then let Node exit
 * silently in the middle of up() (seen here with Node 20 and docker-proxy).
 */
async function fetchWithTimeout(url: string, init: RequestInit, ms: number): Promise<Response> {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`no answer from ${url} within ${ms} ms`)), ms);
  try {
    return await fetch(url, { ...init, signal: ac.signal });
  } finally {
    clearTimeout(timer);
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}
