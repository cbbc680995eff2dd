/**
 * The external runtime: attach to a stack that already runs elsewhere (Kubernetes, VMs). It starts
 * and stops no process; it creates the scenario's proxies on the team's Toxiproxy where they are
 * absent (and removes only those on down, also after a crash: they are in the state file), sends
 * the load to `workload.target` as written, and asks the service's health check on
 * `stack.external.service` at `stack.external.health.path`. Faults beyond the network are the
 * team's own commands (`command` faults, src/chaos/command-fault.ts).
 */
import { Toxiproxy } from 'toxiproxy-node-client';
import { EnvironmentError } from '../../errors.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { RunStateFile, stateDir } from '../state.ts';
import type { Stack, StackEndpoints } from '../types.ts';

export interface ExternalStackOptions {
  runId: string;
  scenario: Scenario;
  /** Where the state file goes (default: the user's state directory). */
  stateDir?: string;
  log?: (line: string) => void;
}

export class ExternalStack implements Stack {
  readonly kind = 'external' as const;
  readonly runId: string;
  private readonly scenario: Scenario;
  private readonly log: (line: string) => void;
  private readonly state: RunStateFile;
  private ep: StackEndpoints | undefined;
  /** Names of the proxies this run created (and so may remove). */
  private readonly created: string[] = [];

  constructor(opts: ExternalStackOptions) {
    this.runId = opts.runId;
    this.scenario = opts.scenario;
    this.log = opts.log ?? (() => {});
    this.state = new RunStateFile(opts.runId, 'external', opts.stateDir ?? stateDir());
  }

  async up(): Promise<StackEndpoints> {
    const ext = this.scenario.stack.external;
    if (!ext) throw new EnvironmentError('runtime external needs stack.external URLs');
    const tp = new Toxiproxy(ext.toxiproxy);
    let existing: Record<string, { listen: string; upstream: string }>;
    try {
      existing = await tp.getAll();
    } catch (e) {
      throw new EnvironmentError(`the Toxiproxy API at ${ext.toxiproxy} does not answer`, {
        hint: 'check stack.external.toxiproxy and that it is reachable from here',
        cause: e,
      });
    }
    const proxies: StackEndpoints['proxies'] = {};
    for (const p of this.scenario.proxies) {
      const there = existing[p.name];
      if (there) {
        if (there.upstream !== p.upstream)
          this.log(
            `proxy ${p.name} already exists on ${ext.toxiproxy} with upstream ${there.upstream} (the scenario says ${p.upstream}): used as it is`,
          );
        proxies[p.name] = { listen: there.listen, upstream: there.upstream };
        continue;
      }
      // Written down before it exists: a crash right after the create still gets it removed.
      await this.state.update((s) => {
        s.createdProxies = [...(s.createdProxies ?? []), { toxiproxy: ext.toxiproxy, name: p.name }];
      });
      try {
        const made = await tp.createProxy({ name: p.name, listen: p.listen, upstream: p.upstream });
        this.created.push(p.name);
        proxies[p.name] = { listen: made.listen, upstream: made.upstream };
        this.log(`created proxy ${p.name} (${made.listen} -> ${made.upstream}) on ${ext.toxiproxy}`);
      } catch (e) {
        throw new EnvironmentError(
          `could not create proxy ${p.name} (${p.listen} -> ${p.upstream}) on the Toxiproxy at ${ext.toxiproxy}`,
          {
            hint: 'is the listen address free and reachable on the Toxiproxy host? (a proxy listens where Toxiproxy runs)',
            cause: e,
          },
        );
      }
    }
    const health = ext.health ?? { path: '/health' };
    const healthUrl = new URL(health.path, ext.service);
    try {
      const r = await fetch(healthUrl, { signal: AbortSignal.timeout(5000) });
      await r.body?.cancel();
      const ok = health.status ? health.status.includes(r.status) : r.ok;
      if (!ok)
        this.log(
          `the service's health check ${healthUrl} answered HTTP ${r.status}${health.status ? ` (expected ${health.status.join(' or ')})` : ''}`,
        );
    } catch (e) {
      throw new EnvironmentError(`the service at ${ext.service} does not answer (${healthUrl})`, {
        hint: 'check stack.external.service and stack.external.health.path',
        cause: e,
      });
    }
    this.ep = {
      toxiproxyUrl: ext.toxiproxy,
      // The load goes where the scenario says, as written: through a proxy when it names one.
      serviceUrl: this.scenario.workload.target,
      serviceDirectUrl: ext.service,
      databaseUrl: ext.database,
      healthPath: health.path,
      ...(health.status ? { healthStatus: health.status } : {}),
      proxies,
    };
    return this.ep;
  }

  endpoints(): StackEndpoints {
    if (!this.ep) throw new Error('stack is not up');
    return this.ep;
  }

  private refuse(what: string): never {
    throw new EnvironmentError(`runtime external cannot ${what}: it starts and stops nothing`, {
      hint: 'use a `command` fault with your own start and heal commands, or db-down with mode: proxy',
    });
  }
  fault(target: string, mode: string): Promise<void> {
    this.refuse(`${mode} ${target}`);
  }
  recover(target: string): Promise<void> {
    this.refuse(`recover ${target}`);
  }
  dbFault(): Promise<void> {
    this.refuse('stop, kill or pause the database');
  }
  dbRecover(): Promise<void> {
    this.refuse('recover the database');
  }
  serviceFault(): Promise<void> {
    this.refuse('stop or kill the service');
  }
  serviceRecover(): Promise<void> {
    this.refuse('restart the service');
  }
  async collectLogs(): Promise<string[]> {
    return [];
  }
  async detach(): Promise<void> {
    // Kept up on purpose: `auditchaos down` removes the proxies this run created.
    await this.state.update((s) => {
      s.detached = true;
    });
  }

  /** Removes the proxies this run created; the team's own are left as they were. */
  async down(): Promise<void> {
    const ext = this.scenario.stack.external;
    const errors: string[] = [];
    if (ext) {
      const tp = new Toxiproxy(ext.toxiproxy);
      for (const name of [...this.created]) {
        try {
          await (await tp.getAll())[name]?.remove();
          this.created.splice(this.created.indexOf(name), 1);
        } catch (e) {
          errors.push(`${name}: ${(e as Error).message}`);
        }
      }
    }
    if (errors.length)
      throw new EnvironmentError(`could not remove the proxies this run created: ${errors.join('; ')}`, {
        hint: '`auditchaos down` tries again',
      });
    await this.state.remove();
  }
}
