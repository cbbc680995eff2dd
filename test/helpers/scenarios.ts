import path from 'node:path';
import { type LoadedScenario, readScenarioFile } from '../../src/scenario/read.ts';
import type { Scenario } from '../../src/scenario/schema.ts';
import { parseHostPort } from '../../src/scenario/units.ts';
import { REPO_ROOT } from './cli.ts';

/** A shipped scenario, read as `run` reads it. */
export function shipped(name: string): Promise<LoadedScenario> {
  return readScenarioFile(path.join(REPO_ROOT, 'scenarios', `${name}.yml`));
}

/** The same experiment on a shorter clock: durations and fault times scaled, rates kept. */
export function scaled(s: Scenario, factor: number): Scenario {
  const t = (ms: number) => Math.max(1, Math.round(ms * factor));
  return {
    ...s,
    workload: { ...s.workload, duration: t(s.workload.duration) },
    faults: s.faults.map((f) => ({
      ...f,
      at: t(f.at),
      for: t(f.for),
      ...(f.every !== undefined ? { every: t(f.every) } : {}),
      ...(f.startJitter !== undefined ? { startJitter: t(f.startJitter) } : {}),
    })),
  };
}

/** Moves every proxy port (and the workload target) by `offset`, so that runs can go side by side. */
export function shiftedPorts(s: Scenario, offset: number): Scenario {
  const proxies = s.proxies.map((p) => {
    const hp = parseHostPort(p.listen);
    return hp ? { ...p, listen: `${hp.host}:${hp.port + offset}` } : p;
  });
  const target = new URL(s.workload.target);
  target.port = String(Number(target.port) + offset);
  return { ...s, proxies, workload: { ...s.workload, target: target.toString().replace(/\/$/, '') } };
}
