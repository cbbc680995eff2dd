/**
 * What is allowed but probably wrong in a scenario: `validate` prints these as warnings, never as
 * errors. Pure.
 */
import type { Scenario } from './schema.ts';
import { parseHostPort } from './units.ts';

const ANY = new Set(['0.0.0.0', '::', '']);
const LOOPBACK = new Set(['127.0.0.1', 'localhost', '::1']);

function sameAddress(targetHost: string, targetPort: number, listen: string): boolean {
  const l = parseHostPort(listen);
  if (!l || l.port !== targetPort) return false;
  if (l.host === targetHost || ANY.has(l.host)) return true;
  return LOOPBACK.has(l.host) && LOOPBACK.has(targetHost);
}

/** The workload's target is not a proxy's listen address: its load goes around every proxy. */
export function targetWarning(s: Scenario): string | undefined {
  let url: URL;
  try {
    url = new URL(s.workload.target);
  } catch {
    return undefined;
  }
  const host = url.hostname.replace(/^\[|\]$/g, '');
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : 80;
  if (s.proxies.some((p) => sameAddress(host, port, p.listen))) return undefined;
  const listens = s.proxies.map((p) => `${p.name} ${p.listen}`).join(', ') || 'none defined';
  return (
    `workload.target ${s.workload.target} is not the listen address of any proxy (${listens}): ` +
    'where the load is sent as written (runtime external), it goes around the proxies and proxy faults hit nothing'
  );
}

export function scenarioWarnings(s: Scenario): string[] {
  return [targetWarning(s)].filter((w): w is string => w !== undefined);
}
