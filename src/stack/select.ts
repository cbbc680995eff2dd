/**
 * Which runtime a run uses: the one asked for, or for `auto` compose only when Docker answers,
 * compose is installed and every image the stack needs is present or can be pulled (its registry
 * answers); otherwise local. Pure: the facts are gathered by auto-facts.ts.
 */
import type { RuntimeName } from '../scenario/vocabulary.ts';

export interface RuntimeChoice {
  kind: 'compose' | 'local' | 'external';
  why: string;
}

export interface ImageFact {
  key: string;
  image: string;
  /** The environment variable that overrides it. */
  variable: string;
  present: boolean;
  /** When not present: whether the registry answered for it. */
  pullable?: boolean;
  /** Why the registry did not answer. */
  reason?: string;
}

export interface AutoFacts {
  /** The engine that answered; undefined when none did (engineReason says why). */
  engine?: string;
  engineReason?: string;
  compose?: boolean;
  images: ImageFact[];
}

/** Where the runtime asked for came from: `--runtime` or the scenario's `stack.runtime`. */
export type RuntimeSource = 'flag' | 'scenario';

const LOCAL = 'local processes (embedded PostgreSQL, built-in proxy, reference service)';

export function decideAuto(f: AutoFacts): RuntimeChoice {
  if (!f.engine)
    return {
      kind: 'local',
      why: `auto: no Docker engine answered${f.engineReason ? ` (${f.engineReason})` : ''}, so ${LOCAL}`,
    };
  if (f.compose === false)
    return { kind: 'local', why: `auto: ${f.engine} answered but compose is not installed, so ${LOCAL}` };
  const unavailable = f.images.filter((i) => !i.present && !i.pullable);
  if (unavailable.length) {
    const list = unavailable
      .map((i) => `${i.image} (${i.variable})${i.reason ? `: ${i.reason}` : ''}`)
      .join('; ');
    return {
      kind: 'local',
      why: `auto: ${f.engine} answered, but images are neither present nor pullable (no registry answered): ${list}; so ${LOCAL}`,
    };
  }
  const pulled = f.images.filter((i) => !i.present).map((i) => i.image);
  return {
    kind: 'compose',
    why: pulled.length
      ? `auto: ${f.engine} answered, compose is installed, and the registry answers for ${pulled.join(', ')} (compose will pull it)`
      : `auto: ${f.engine} answered, compose is installed, and the images are present`,
  };
}

export async function selectRuntime(
  requested: RuntimeName,
  gather: () => Promise<AutoFacts>,
  source: RuntimeSource = 'scenario',
): Promise<RuntimeChoice> {
  if (requested !== 'auto')
    return {
      kind: requested,
      why:
        source === 'flag'
          ? `--runtime ${requested} was given`
          : `the scenario sets stack.runtime: ${requested}`,
    };
  return decideAuto(await gather());
}
