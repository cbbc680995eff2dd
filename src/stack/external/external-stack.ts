/**
 * The external runtime: attach to a stack that already runs elsewhere (Kubernetes, VMs). Nothing is
 * started or stopped; faults are proxy faults only, through the given Toxiproxy API.
 */
import { Toxiproxy } from 'toxiproxy-node-client';
import { EnvironmentError } from '../../errors.ts';
import type { Scenario } from '../../scenario/schema.ts';
import type { Stack, StackEndpoints } from '../types.ts';

export class ExternalStack implements Stack {
  readonly kind = 'external' as const;
  private ep: StackEndpoints | undefined;

  constructor(
    readonly runId: string,
    private readonly scenario: Scenario,
  ) {}

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
    const missing = this.scenario.proxies.filter((p) => !existing[p.name]).map((p) => p.name);
    if (missing.length) {
      throw new EnvironmentError(
        `the Toxiproxy at ${ext.toxiproxy} has no proxy named ${missing.join(', ')}`,
        {
          hint: 'create them there (toxiproxy-cli create) or rename the scenario proxies to match',
        },
      );
    }
    try {
      const r = await fetch(new URL('/health', ext.service), { signal: AbortSignal.timeout(5000) });
      await r.body?.cancel();
    } catch (e) {
      throw new EnvironmentError(`the service at ${ext.service} does not answer`, { cause: e });
    }
    this.ep = {
      toxiproxyUrl: ext.toxiproxy,
      serviceUrl: ext.service,
      serviceDirectUrl: ext.service,
      databaseUrl: ext.database,
      proxies: Object.fromEntries(
        this.scenario.proxies.map((p) => [
          p.name,
          { listen: existing[p.name]?.listen ?? p.listen, upstream: p.upstream },
        ]),
      ),
    };
    return this.ep;
  }

  endpoints(): StackEndpoints {
    if (!this.ep) throw new Error('stack is not up');
    return this.ep;
  }

  private refuse(what: string): never {
    throw new EnvironmentError(`runtime external cannot ${what}: it starts and stops nothing`, {
      hint: 'use db-down with mode: proxy, or the local or compose runtime',
    });
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
  async detach(): Promise<void> {}
  async down(): Promise<void> {
    // Nothing of ours runs there; the run heals its faults before this.
  }
}
