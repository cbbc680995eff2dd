/** Which runtime a run uses: the scenario's choice, or for `auto` compose when a Docker engine answers. */
import type { RuntimeName } from '../scenario/vocabulary.ts';

export interface RuntimeChoice {
  kind: 'compose' | 'local' | 'external';
  why: string;
}

/** `dockerAnswers` resolves to a description of the engine, or undefined when none answers. */
export async function selectRuntime(
  requested: RuntimeName,
  dockerAnswers: () => Promise<string | undefined>,
): Promise<RuntimeChoice> {
  if (requested !== 'auto')
    return { kind: requested, why: `the scenario (or --runtime) asks for ${requested}` };
  const engine = await dockerAnswers();
  return engine
    ? { kind: 'compose', why: `auto: a Docker engine answered (${engine})` }
    : {
        kind: 'local',
        why: 'auto: no Docker engine answered, so local processes (embedded PostgreSQL, built-in proxy)',
      };
}
