/**
 * Network faults through the Toxiproxy HTTP API (the official Toxiproxy or the built-in proxy),
 * using toxiproxy-node-client. Each apply returns the heal that undoes exactly what it did.
 */
import { type Toxic, Toxiproxy } from 'toxiproxy-node-client';
import { EnvironmentError } from '../errors.ts';

export type Stream = 'upstream' | 'downstream';
export type Direction = Stream | 'both';

export interface ToxicSpec {
  type: string;
  attributes: Record<string, number>;
  direction: Direction;
  toxicity?: number;
}

export type Heal = () => Promise<void>;

export interface NetworkFaults {
  addToxics(proxy: string, name: string, spec: ToxicSpec): Promise<Heal>;
  disableProxy(proxy: string): Promise<Heal>;
  /** Every proxy enabled, every toxic removed. */
  reset(): Promise<void>;
}

export function streamsOf(direction: Direction): Stream[] {
  return direction === 'both' ? ['upstream', 'downstream'] : [direction];
}

export class ToxiproxyFaults implements NetworkFaults {
  private readonly client: Toxiproxy;
  constructor(readonly apiUrl: string) {
    this.client = new Toxiproxy(apiUrl);
  }

  private async proxy(name: string) {
    try {
      return await this.client.get(name);
    } catch (e) {
      throw new EnvironmentError(`Toxiproxy at ${this.apiUrl} has no proxy "${name}"`, {
        hint: 'check the scenario proxies and that the proxy server is running',
        cause: e,
      });
    }
  }

  async addToxics(proxyName: string, name: string, spec: ToxicSpec): Promise<Heal> {
    const proxy = await this.proxy(proxyName);
    const added: Toxic<unknown>[] = [];
    try {
      for (const stream of streamsOf(spec.direction)) {
        added.push(
          await proxy.addToxic({
            name: `${name}_${stream}`,
            type: spec.type as never,
            stream,
            toxicity: spec.toxicity ?? 1,
            attributes: spec.attributes,
          }),
        );
      }
    } catch (e) {
      await Promise.allSettled(added.map((t) => t.remove()));
      throw new EnvironmentError(`could not add ${spec.type} toxic to proxy "${proxyName}"`, { cause: e });
    }
    return async () => {
      await Promise.all(added.map((t) => t.remove()));
    };
  }

  async disableProxy(proxyName: string): Promise<Heal> {
    const proxy = await this.proxy(proxyName);
    await proxy.update({ enabled: false, listen: proxy.listen, upstream: proxy.upstream });
    return async () => {
      const p = await this.proxy(proxyName);
      await p.update({ enabled: true, listen: p.listen, upstream: p.upstream });
    };
  }

  async reset(): Promise<void> {
    await this.client.reset();
  }
}
