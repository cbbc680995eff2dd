/**
 * The compose override auditchaos adds to a team's compose file: Toxiproxy on the project's
 * network (unless the file has a `toxiproxy` service of its own, as compose/stack.yml does), its
 * API and the scenario's proxy ports published on loopback, the ports the harness needs from the
 * service and the database published when the file does not already, and the run's labels on
 * every declared service so that `auditchaos down` finds them; for clock faults, the host's
 * libfaketime and the run's folder of timestamp files mounted into exactly the services whose
 * clock a fault moves, with the environment that preloads it. Pure: compose model in, YAML out.
 */
import { parse, stringify } from 'yaml';
import { faketimeEnv } from '../clock/faketime.ts';
import { REFERENCE_NAMES, type StackModel, TOXIPROXY_API_PORT } from '../services.ts';
import { LABEL_MANAGED, LABEL_ROLE, LABEL_RUN_ID } from './docker-engine.ts';

/** What the override needs to know of one service of the team's compose file. */
export interface ComposeServiceModel {
  /** Container ports the file already publishes (so their host ports are read, not added). */
  publishes: number[];
  /** Networks the service joins; empty: the project's default network. */
  networks: string[];
  /** LD_PRELOAD the file sets on the service, kept in front of libfaketime. */
  ldPreload?: string;
}

/** Where the override mounts libfaketime and the clock folder inside a container. */
export const CONTAINER_LIBFAKETIME = '/opt/auditchaos-faketime/libfaketime.so.1';
export const CONTAINER_CLOCK_DIR = '/opt/auditchaos-clock';
/**
 * An empty file of the clock folder, mounted over the name of the semaphore libfaketime (0.9.10)
 * would make for the container's first process. That process creates /dev/shm/sem.faketime_sem_<pid>
 * owned by its user (mode 0600) and passes its name on in FAKETIME_SHARED; an entrypoint that starts
 * as root and drops to another user with exec (gosu, su-exec: the official postgres image) then
 * runs a process that may not open it, and libfaketime exits. With the name taken, creation fails
 * quietly and every process keeps its clock state to itself, which the timestamp file needs no more.
 */
export const SHM_GUARD_FILE = 'shm-guard';
const GUARDED_SEMAPHORE = '/dev/shm/sem.faketime_sem_1';

function environmentValue(env: unknown, key: string): string | undefined {
  if (Array.isArray(env)) {
    const hit = env.map(String).find((e) => e.startsWith(`${key}=`));
    return hit?.slice(key.length + 1);
  }
  if (env && typeof env === 'object' && key in env) {
    const v = (env as Record<string, unknown>)[key];
    return v === null || v === undefined ? undefined : String(v);
  }
  return undefined;
}

export type ComposeModel = Record<string, ComposeServiceModel>;

/** Reads the parts of a compose file the override depends on. Unset `${VAR}` host parts are fine. */
export function readComposeModel(text: string): ComposeModel {
  const doc = parse(text) as { services?: Record<string, Record<string, unknown> | null> } | null;
  const out: ComposeModel = {};
  for (const [name, svc] of Object.entries(doc?.services ?? {})) {
    const ports = Array.isArray(svc?.ports) ? svc.ports : [];
    const publishes = ports
      .map((p: unknown) => {
        if (typeof p === 'number') return p;
        if (typeof p === 'string') return Number(/(\d+)(?:-\d+)?(?:\/\w+)?$/.exec(p)?.[1]);
        if (p && typeof p === 'object' && 'target' in p) return Number((p as { target: unknown }).target);
        return Number.NaN;
      })
      .filter((n: number) => Number.isInteger(n));
    const nets = svc?.networks;
    const networks = Array.isArray(nets)
      ? nets.map(String)
      : nets && typeof nets === 'object'
        ? Object.keys(nets)
        : [];
    const ldPreload = environmentValue(svc?.environment, 'LD_PRELOAD');
    out[name] = { publishes, networks, ...(ldPreload ? { ldPreload } : {}) };
  }
  return out;
}

/** The override's file name for a project (in the temp dir; `auditchaos down` knows it by this). */
export function overrideFileName(project: string): string {
  return `auditchaos-${project}.override.yml`;
}

export interface OverrideInput {
  model: ComposeModel;
  stack: StackModel;
  runId: string;
  proxyImage: string;
  /** Host ports: the Toxiproxy API, the service (a port or a range for replicas), the database. */
  hostPorts: { toxiproxy: number; service: string; database: number | undefined };
  /** Listen ports of the scenario's proxies, inside the toxiproxy container and on the host. */
  proxyPorts: number[];
  /**
   * Clock faults: the host's libfaketime, the run's folder of timestamp files, and each moved
   * service's file name in it. Only these services are touched.
   */
  clock?: { lib: string; dir: string; files: Record<string, string> };
}

export interface Override {
  yaml: string;
  /** True when the override adds Toxiproxy (the file has no `toxiproxy` service). */
  addsToxiproxy: boolean;
  /** The compose service the harness uses as Toxiproxy. */
  toxiproxyService: string;
}

export function composeOverride(input: OverrideInput): Override {
  const { model, stack } = input;
  const missing = stack.all.map((s) => s.name).filter((n) => !model[n]);
  if (missing.length) {
    throw new Error(
      `stack.services names ${missing.join(', ')}, which the compose file does not define (it has ${Object.keys(model).join(', ') || 'no services'})`,
    );
  }
  const labels = { [LABEL_MANAGED]: 'true', [LABEL_RUN_ID]: input.runId };
  const services: Record<string, Record<string, unknown>> = {};
  const publish = (name: string, port: number, host: string | number | undefined) => {
    const svc = services[name];
    if (svc && host !== undefined && !model[name]?.publishes.includes(port))
      svc.ports = [`127.0.0.1:${host}:${port}`];
  };
  for (const s of stack.all) services[s.name] = { labels: { ...labels, [LABEL_ROLE]: s.role } };
  for (const [name, file] of Object.entries(input.clock?.files ?? {})) {
    const svc = services[name];
    const clock = input.clock;
    if (!svc || !clock) throw new Error(`a clock fault targets ${name}, which stack.services does not name`);
    // The folder, not the file: the harness replaces the file by a rename, which a bind-mounted
    // file would never show (it keeps the old inode).
    svc.volumes = [
      `${clock.lib}:${CONTAINER_LIBFAKETIME}:ro`,
      `${clock.dir}:${CONTAINER_CLOCK_DIR}:ro`,
      `${clock.dir}/${SHM_GUARD_FILE}:${GUARDED_SEMAPHORE}:ro`,
    ];
    const base = model[name]?.ldPreload ? { LD_PRELOAD: model[name]?.ldPreload } : {};
    svc.environment = faketimeEnv(CONTAINER_LIBFAKETIME, `${CONTAINER_CLOCK_DIR}/${file}`, base);
  }
  publish(stack.service.name, stack.service.port, input.hostPorts.service);
  if (stack.database) publish(stack.database.name, stack.database.port, input.hostPorts.database);

  const toxiproxyService = REFERENCE_NAMES.proxy;
  const addsToxiproxy = !model[toxiproxyService];
  if (addsToxiproxy) {
    const networks = [
      ...new Set(
        [stack.service, stack.database]
          .filter((s) => s !== undefined)
          .flatMap((s) => model[s.name]?.networks ?? []),
      ),
    ];
    services[toxiproxyService] = {
      image: input.proxyImage,
      labels: { ...labels, [LABEL_ROLE]: 'toxiproxy' },
      ports: [
        `127.0.0.1:${input.hostPorts.toxiproxy}:${TOXIPROXY_API_PORT}`,
        ...input.proxyPorts.map((p) => `127.0.0.1:${p}:${p}`),
      ],
      ...(networks.length ? { networks } : {}),
    };
  }
  const header =
    `# Generated by auditchaos for run ${input.runId}: added to the team's compose file with -f.\n` +
    '# It adds Toxiproxy (unless the file has its own), publishes what the harness reads, labels the run.\n';
  return { yaml: header + stringify({ services }), addsToxiproxy, toxiproxyService };
}
