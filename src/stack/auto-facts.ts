/**
 * What `runtime: auto` decides from, asked of the Docker engine without starting anything: does an
 * engine answer, is compose installed, and is each image the compose stack needs present or, if
 * not, does its registry answer (so that compose can pull it)? Shared by `run` and `doctor`.
 */
import { IMAGE_VARIABLES } from './compose/compose-cli.ts';
import { stackImages } from './compose/compose-stack.ts';
import type { EngineProbe } from './compose/docker-engine.ts';
import type { AutoFacts, ImageFact } from './select.ts';

/** The part of DockerEngine this needs (tests pass fakes). */
export interface EngineAnswers {
  probe(timeoutMs?: number): Promise<EngineProbe>;
  imagePresent(name: string): Promise<boolean>;
  registryAnswers(name: string, timeoutMs?: number): Promise<string | undefined>;
}

export async function gatherAutoFacts(
  engine: EngineAnswers,
  opts: { env?: NodeJS.ProcessEnv; compose: () => Promise<boolean>; probeMs?: number; registryMs?: number },
): Promise<AutoFacts> {
  const probe = await engine.probe(opts.probeMs ?? 1500);
  if (!probe.ok) return { engineReason: `${probe.reason ?? 'no answer'} at ${probe.socket}`, images: [] };
  const facts: AutoFacts = { engine: `Docker ${probe.version ?? '?'} at ${probe.socket}`, images: [] };
  facts.compose = await opts.compose();
  const images = stackImages(opts.env ?? process.env);
  const present = (name: string) => engine.imagePresent(name).catch(() => false);
  const auditlogPresent = await present(images.auditlog);
  // The service image is built from the node image when it is not there yet.
  const keys: (keyof typeof IMAGE_VARIABLES)[] = [
    'postgres',
    'toxiproxy',
    auditlogPresent ? 'auditlog' : 'node',
  ];
  for (const key of keys) {
    const image = images[key];
    const fact: ImageFact = {
      key,
      image,
      variable: IMAGE_VARIABLES[key],
      present: key === 'auditlog' ? auditlogPresent : await present(image),
    };
    if (!fact.present) {
      const reason = await engine.registryAnswers(image, opts.registryMs ?? 3000);
      fact.pullable = reason === undefined;
      if (reason !== undefined) fact.reason = reason;
    }
    facts.images.push(fact);
  }
  return facts;
}
