/**
 * `docker compose` (v2) or `docker-compose` (v1), whichever is present, run under one project
 * name. Compose's own failures are turned into exit-3 errors that name what to do: a port in use,
 * an image that cannot be had, no engine.
 */
import { execa } from 'execa';
import { EnvironmentError } from '../../errors.ts';

export type ComposeFlavour = 'v2' | 'v1';

export interface ComposeTool {
  flavour: ComposeFlavour;
  /** argv prefix: ['docker', 'compose'] or ['docker-compose'] */
  command: string[];
  version: string;
}

/** The variable that names each image of compose/stack.yml, for error hints. */
export const IMAGE_VARIABLES = {
  postgres: 'AUDITCHAOS_POSTGRES_IMAGE',
  toxiproxy: 'AUDITCHAOS_TOXIPROXY_IMAGE',
  node: 'AUDITCHAOS_NODE_IMAGE',
  auditlog: 'AUDITCHAOS_AUDITLOG_IMAGE',
} as const;

/** Finds a compose tool; AUDITCHAOS_COMPOSE ("docker compose" or "docker-compose") forces one. */
export async function detectCompose(env: NodeJS.ProcessEnv = process.env): Promise<ComposeTool | undefined> {
  const forced = env.AUDITCHAOS_COMPOSE?.trim();
  const candidates: string[][] = forced ? [forced.split(/\s+/)] : [['docker', 'compose'], ['docker-compose']];
  for (const command of candidates) {
    const [file, ...args] = command;
    if (!file) continue;
    try {
      const r = await execa(file, [...args, 'version', '--short'], { env, reject: false, timeout: 15_000 });
      const version = r.stdout.trim().replace(/^v/, '');
      if (r.exitCode === 0 && /^\d+\.\d+/.test(version)) {
        return { flavour: version.startsWith('1.') ? 'v1' : 'v2', command, version };
      }
    } catch {
      // not installed
    }
  }
  return undefined;
}

export async function requireCompose(env: NodeJS.ProcessEnv = process.env): Promise<ComposeTool> {
  const tool = await detectCompose(env);
  if (!tool) {
    throw new EnvironmentError('neither `docker compose` (v2) nor `docker-compose` (v1) is installed', {
      hint: 'install the compose plugin or docker-compose (Debian: apt-get install docker-compose), or use `stack.runtime: local`',
    });
  }
  return tool;
}

/** A project name compose accepts in both flavours: lowercase letters, digits, - and _. */
export function projectName(runId: string): string {
  const clean = runId
    .toLowerCase()
    .replace(/[^a-z0-9_-]+/g, '-')
    .replace(/^[-_]+|[-_]+$/g, '');
  return `auditchaos-${clean || 'run'}`;
}

export type ComposeFailure =
  | { kind: 'port-in-use'; port: number | undefined }
  | { kind: 'image'; image: string | undefined }
  | { kind: 'no-engine' }
  | { kind: 'other' };

/** Reads compose's stderr (v1 or v2 wording) and says what kind of failure it is. Pure. */
export function classifyComposeError(stderr: string): ComposeFailure {
  const portMatch =
    /(?:Bind for|listen tcp4?|bind) [^\n]*?:(\d+)(?: failed)?:? [^\n]*(?:port is already allocated|address already in use)/i.exec(
      stderr,
    ) ?? /(?:port is already allocated|address already in use)[^\n]*?:(\d+)/i.exec(stderr);
  if (portMatch || /port is already allocated|address already in use/i.test(stderr)) {
    return { kind: 'port-in-use', port: portMatch?.[1] ? Number(portMatch[1]) : undefined };
  }
  const imagePatterns = [
    /Pulling \S+ \(([^)\s]+)\)\.\.\./, // v1, the line before its pull error
    /pull access denied for ([^\s,]+)/i,
    /manifest for (\S+) not found/i,
    /failed to resolve reference "([^"]+)"/i,
    /No such image: (\S+)/i,
  ];
  const pullFailed =
    /pull access denied|manifest unknown|not found: manifest|repository does not exist|failed to resolve reference|No such image|Get "https:\/\/[^"]*\/v2\/"/i.test(
      stderr,
    );
  if (pullFailed) {
    let image: string | undefined;
    for (const re of imagePatterns) {
      const m = re.exec(stderr);
      if (m?.[1]) {
        image = m[1];
        break;
      }
    }
    return { kind: 'image', image };
  }
  if (
    /Cannot connect to the Docker daemon|Couldn't connect to Docker daemon|docker\.sock.*(?:refused|no such file)/i.test(
      stderr,
    )
  ) {
    return { kind: 'no-engine' };
  }
  return { kind: 'other' };
}

/** The last meaningful lines of compose's output, for an error message. */
export function tail(text: string, lines = 8): string {
  return text
    .split('\n')
    .map((l) => l.trimEnd())
    .filter((l) => l && !/^(Creating|Starting|Recreating|Container|Network|Volume|\s*#)/.test(l.trim()))
    .slice(-lines)
    .join('\n');
}

export interface ComposeProjectOptions {
  tool: ComposeTool;
  project: string;
  files: string[];
  /** Extra environment for variable substitution in the compose file. */
  env: Record<string, string>;
  baseEnv?: NodeJS.ProcessEnv;
}

/** One compose project: the commands the runtime runs, with failures made explicit. */
export class ComposeProject {
  constructor(private readonly opts: ComposeProjectOptions) {}

  get name(): string {
    return this.opts.project;
  }

  async run(args: string[], opts: { signal?: AbortSignal; timeoutMs?: number } = {}) {
    const [file, ...pre] = this.opts.tool.command;
    if (!file) throw new Error('empty compose command');
    const fileArgs = this.opts.files.flatMap((f) => ['-f', f]);
    return execa(file, [...pre, '-p', this.opts.project, ...fileArgs, ...args], {
      env: { ...(this.opts.baseEnv ?? process.env), ...this.opts.env },
      reject: false,
      all: true,
      timeout: opts.timeoutMs ?? 600_000,
      ...(opts.signal ? { cancelSignal: opts.signal } : {}),
    });
  }

  async up(opts: { scale?: Record<string, number>; signal?: AbortSignal } = {}): Promise<void> {
    const scale = Object.entries(opts.scale ?? {})
      .filter(([, n]) => n !== 1)
      .flatMap(([s, n]) => ['--scale', `${s}=${n}`]);
    const r = await this.run(['up', '-d', '--no-color', ...scale], { signal: opts.signal });
    if (opts.signal?.aborted) opts.signal.throwIfAborted();
    if (r.exitCode !== 0) throw this.failure('up', r.all ?? r.stderr);
  }

  async down(timeoutSeconds = 5): Promise<void> {
    const r = await this.run(['down', '--volumes', '--remove-orphans', '--timeout', String(timeoutSeconds)], {
      timeoutMs: 180_000,
    });
    if (r.exitCode !== 0) throw this.failure('down', r.all ?? r.stderr);
  }

  async build(service: string, signal?: AbortSignal): Promise<void> {
    const r = await this.run(['build', service], { signal });
    if (r.exitCode !== 0) throw this.failure(`build ${service}`, r.all ?? r.stderr);
  }

  private failure(what: string, output: string): EnvironmentError {
    const f = classifyComposeError(output);
    const detail = tail(output);
    const label = `${this.opts.tool.command.join(' ')} ${what} (project ${this.opts.project})`;
    if (f.kind === 'port-in-use') {
      return new EnvironmentError(
        `${label} failed: port ${f.port ?? '(see below)'} on 127.0.0.1 is already in use\n${detail}`,
        {
          hint: 'stop what listens there (`ss -ltnp`), run `auditchaos down` for leftovers, or change proxies[].listen',
        },
      );
    }
    if (f.kind === 'image') {
      const name = f.image ?? 'an image';
      return new EnvironmentError(
        `${label} failed: ${name} is not available here and could not be pulled\n${detail}`,
        {
          hint: `build local images with scripts/offline-images.sh and select them with ${Object.values(IMAGE_VARIABLES).join(', ')}`,
        },
      );
    }
    if (f.kind === 'no-engine') {
      return new EnvironmentError(`${label} failed: no Docker engine answers\n${detail}`, {
        hint: 'start Docker (dockerd, Docker Desktop) or use `stack.runtime: local`',
      });
    }
    return new EnvironmentError(`${label} failed\n${detail}`, {
      hint: 'see the compose output above; `auditchaos doctor` checks the Docker setup',
    });
  }
}
