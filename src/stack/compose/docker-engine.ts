/**
 * The Docker engine as the compose runtime needs it, in our own vocabulary: find a run's
 * containers by label, stop/kill/pause/start them, read health and published ports, copy logs,
 * check and pull images, and sweep a run's containers, networks and volumes. dockerode stays
 * inside this file.
 */
import Docker from 'dockerode';
import { EnvironmentError } from '../../errors.ts';

export const LABEL_MANAGED = 'io.auditchaos.managed';
export const LABEL_RUN_ID = 'io.auditchaos.run-id';
export const LABEL_ROLE = 'io.auditchaos.role';
export const LABEL_PROJECT = 'com.docker.compose.project';
export const LABEL_SERVICE = 'com.docker.compose.service';
export const LABEL_NUMBER = 'com.docker.compose.container-number';

export interface ContainerInfo {
  id: string;
  name: string;
  /** Compose service name (`postgres`, `auditlog`, ...). */
  service: string;
  /** 1-based replica number that compose gave it. */
  number: number;
  /** `running`, `exited`, `paused`, `created`, ... */
  state: string;
  labels: Record<string, string>;
}

export interface ContainerStatus {
  state: string;
  running: boolean;
  paused: boolean;
  exitCode: number;
  /** `healthy`, `unhealthy`, `starting`, or undefined when the container has no healthcheck. */
  health: string | undefined;
  /** container port ("5432/tcp") -> host port on 127.0.0.1 */
  ports: Record<string, number>;
}

/** Which resources belong to a run: by our run-id label or by compose project name (user stacks). */
export type Selector = { runId: string; project: string } | { all: true };

export interface SweepResult {
  containers: string[];
  networks: string[];
  volumes: string[];
}

export interface EngineProbe {
  ok: boolean;
  /** Engine version when it answers. */
  version?: string;
  apiVersion?: string;
  /** Why not, when it does not. */
  reason?: string;
  socket: string;
}

export function dockerSocketDescription(env: NodeJS.ProcessEnv = process.env): string {
  return env.DOCKER_HOST || '/var/run/docker.sock';
}

/** Demultiplexes a non-TTY container log (8-byte frame headers) into one text. */
export function demuxDockerLog(buf: Buffer): string {
  const parts: Buffer[] = [];
  let i = 0;
  while (i + 8 <= buf.length) {
    const kind = buf[i];
    const size = buf.readUInt32BE(i + 4);
    if (
      (kind !== 0 && kind !== 1 && kind !== 2) ||
      buf[i + 1] !== 0 ||
      buf[i + 2] !== 0 ||
      buf[i + 3] !== 0
    ) {
      // not framed (a TTY container): the bytes are the log
      return buf.toString('utf8');
    }
    parts.push(buf.subarray(i + 8, i + 8 + size));
    i += 8 + size;
  }
  if (i < buf.length && parts.length === 0) return buf.toString('utf8');
  return Buffer.concat(parts).toString('utf8');
}

export class DockerEngine {
  private readonly docker: Docker;
  readonly socket: string;

  constructor(env: NodeJS.ProcessEnv = process.env) {
    this.docker = new Docker(dockerOptions(env));
    this.socket = dockerSocketDescription(env);
  }

  async probe(timeoutMs = 3000): Promise<EngineProbe> {
    try {
      const v = await withTimeout(this.docker.version(), timeoutMs, 'the Docker engine did not answer');
      return { ok: true, version: v.Version, apiVersion: v.ApiVersion, socket: this.socket };
    } catch (e) {
      return { ok: false, reason: (e as Error).message, socket: this.socket };
    }
  }

  /** Throws the exit-3 error a user can act on when no engine answers. */
  async requireEngine(): Promise<EngineProbe> {
    const p = await this.probe();
    if (!p.ok) {
      throw new EnvironmentError(`no Docker engine answers at ${p.socket}: ${p.reason}`, {
        hint: 'start Docker (dockerd, Docker Desktop), check DOCKER_HOST, or use `stack.runtime: local`',
      });
    }
    return p;
  }

  async imagePresent(name: string): Promise<boolean> {
    try {
      await this.docker.getImage(name).inspect();
      return true;
    } catch (e) {
      if ((e as { statusCode?: number }).statusCode === 404) return false;
      throw e;
    }
  }

  /**
   * Whether the image's registry answers for it, asked through the engine (its proxy and mirror
   * settings apply) without pulling: undefined when it does, else the reason.
   */
  async registryAnswers(name: string, timeoutMs = 3000): Promise<string | undefined> {
    try {
      await withTimeout(
        this.docker.getImage(name).distribution(),
        timeoutMs,
        `the registry did not answer within ${Math.round(timeoutMs / 1000)} s`,
      );
      return undefined;
    } catch (e) {
      return (e as Error).message.split('\n')[0];
    }
  }

  /** Pulls an image; rejects with the engine's reason (no registry, unknown image, timeout). */
  async pull(name: string, timeoutMs: number): Promise<void> {
    const work = (async () => {
      const stream = await this.docker.pull(name);
      await new Promise<void>((resolve, reject) => {
        this.docker.modem.followProgress(stream, (err: Error | null, output: { error?: string }[]) => {
          const failed = output?.find((o) => o.error);
          if (err) reject(err);
          else if (failed) reject(new Error(failed.error));
          else resolve();
        });
      });
    })();
    await withTimeout(work, timeoutMs, `pulling ${name} took longer than ${Math.round(timeoutMs / 1000)} s`);
  }

  async containers(sel: Selector): Promise<ContainerInfo[]> {
    const seen = new Map<string, ContainerInfo>();
    for (const label of selectorLabels(sel)) {
      const list = await this.docker.listContainers({ all: true, filters: { label: [label] } });
      for (const c of list) {
        const labels = c.Labels ?? {};
        seen.set(c.Id, {
          id: c.Id,
          name: (c.Names?.[0] ?? c.Id).replace(/^\//, ''),
          service: labels[LABEL_SERVICE] ?? '',
          number: Number(labels[LABEL_NUMBER] ?? '1'),
          state: c.State,
          labels,
        });
      }
    }
    return [...seen.values()].sort((a, b) => a.service.localeCompare(b.service) || a.number - b.number);
  }

  async status(id: string): Promise<ContainerStatus> {
    const info = await this.docker.getContainer(id).inspect();
    const ports: Record<string, number> = {};
    for (const [port, bindings] of Object.entries(info.NetworkSettings?.Ports ?? {})) {
      const b = bindings?.find((x) => x.HostIp === '127.0.0.1' || x.HostIp === '0.0.0.0') ?? bindings?.[0];
      if (b?.HostPort) ports[port] = Number(b.HostPort);
    }
    return {
      state: info.State.Status,
      running: info.State.Running,
      paused: info.State.Paused,
      exitCode: info.State.ExitCode,
      health: (info.State as { Health?: { Status?: string } }).Health?.Status,
      ports,
    };
  }

  /** The container's main process on the engine's host (0: not running) and its network addresses. */
  async process(id: string): Promise<{ pid: number; addresses: string[] }> {
    const info = await this.docker.getContainer(id).inspect();
    const nets = Object.values(info.NetworkSettings?.Networks ?? {});
    return {
      pid: info.State.Pid ?? 0,
      addresses: nets.flatMap((n) => [n.IPAddress, n.GlobalIPv6Address].filter((a): a is string => !!a)),
    };
  }

  stop(id: string, graceSeconds = 10): Promise<unknown> {
    return ignoreNotModified(this.docker.getContainer(id).stop({ t: graceSeconds }));
  }
  kill(id: string, signal = 'SIGKILL'): Promise<unknown> {
    return this.docker.getContainer(id).kill({ signal });
  }
  pause(id: string): Promise<unknown> {
    return this.docker.getContainer(id).pause();
  }
  unpause(id: string): Promise<unknown> {
    return this.docker.getContainer(id).unpause();
  }
  start(id: string): Promise<unknown> {
    return ignoreNotModified(this.docker.getContainer(id).start());
  }

  async logs(id: string): Promise<string> {
    const buf = (await this.docker
      .getContainer(id)
      .logs({ stdout: true, stderr: true, timestamps: true, follow: false })) as unknown as Buffer;
    return demuxDockerLog(Buffer.isBuffer(buf) ? buf : Buffer.from(String(buf)));
  }

  /** Removes a run's containers (with anonymous volumes), then its networks and named volumes. */
  async sweep(sel: Selector): Promise<SweepResult> {
    const out: SweepResult = { containers: [], networks: [], volumes: [] };
    for (const c of await this.containers(sel)) {
      try {
        await this.docker.getContainer(c.id).remove({ force: true, v: true });
        out.containers.push(c.name);
      } catch (e) {
        if ((e as { statusCode?: number }).statusCode !== 404) throw e;
      }
    }
    for (const label of selectorLabels(sel)) {
      for (const n of await this.docker.listNetworks({ filters: { label: [label] } })) {
        try {
          await this.docker.getNetwork(n.Id).remove();
          out.networks.push(n.Name);
        } catch (e) {
          if ((e as { statusCode?: number }).statusCode !== 404) throw e;
        }
      }
      const vols = await this.docker.listVolumes({ filters: { label: [label] } });
      for (const v of vols.Volumes ?? []) {
        try {
          await this.docker.getVolume(v.Name).remove();
          out.volumes.push(v.Name);
        } catch (e) {
          if ((e as { statusCode?: number }).statusCode !== 404) throw e;
        }
      }
    }
    return out;
  }

  /** Everything a selector still finds: empty after a clean down. */
  async leftovers(sel: Selector): Promise<SweepResult> {
    const out: SweepResult = { containers: [], networks: [], volumes: [] };
    out.containers = (await this.containers(sel)).map((c) => c.name);
    for (const label of selectorLabels(sel)) {
      for (const n of await this.docker.listNetworks({ filters: { label: [label] } }))
        out.networks.push(n.Name);
      const vols = await this.docker.listVolumes({ filters: { label: [label] } });
      for (const v of vols.Volumes ?? []) out.volumes.push(v.Name);
    }
    out.networks = [...new Set(out.networks)];
    out.volumes = [...new Set(out.volumes)];
    return out;
  }

  /** Distinct run ids of every auditchaos-labelled container, network and volume. */
  async labelledRunIds(): Promise<string[]> {
    const ids = new Set<string>();
    const filter = { label: [`${LABEL_MANAGED}=true`] };
    for (const c of await this.docker.listContainers({ all: true, filters: filter })) {
      const id = c.Labels?.[LABEL_RUN_ID];
      if (id) ids.add(id);
    }
    for (const n of await this.docker.listNetworks({ filters: filter })) {
      const id = n.Labels?.[LABEL_RUN_ID];
      if (id) ids.add(id);
    }
    const vols = await this.docker.listVolumes({ filters: filter });
    for (const v of vols.Volumes ?? []) {
      const id = v.Labels?.[LABEL_RUN_ID];
      if (id) ids.add(id);
    }
    return [...ids].sort();
  }
}

/** Options for the engine named by env.DOCKER_HOST; docker-modem's defaults (which read process.env) otherwise. */
function dockerOptions(env: NodeJS.ProcessEnv): Docker.DockerOptions | undefined {
  const host = env.DOCKER_HOST;
  if (!host || env === process.env) return undefined;
  if (host.startsWith('unix://')) return { socketPath: host.slice('unix://'.length) };
  const m = /^(?:tcp|http):\/\/([^:/]+):(\d+)/.exec(host);
  if (m?.[1] && m[2]) return { host: m[1], port: Number(m[2]), protocol: 'http' };
  return undefined;
}

function selectorLabels(sel: Selector): string[] {
  if ('all' in sel) return [`${LABEL_MANAGED}=true`];
  return [`${LABEL_RUN_ID}=${sel.runId}`, `${LABEL_PROJECT}=${sel.project}`];
}

async function ignoreNotModified(p: Promise<unknown>): Promise<unknown> {
  try {
    return await p;
  } catch (e) {
    // 304: already stopped / already started
    if ((e as { statusCode?: number }).statusCode === 304) return undefined;
    throw e;
  }
}

function withTimeout<T>(p: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(message)), ms);
  });
  return Promise.race([p, timeout]).finally(() => clearTimeout(timer));
}
