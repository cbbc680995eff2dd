/** The service's health check as the run asks it: one bounded HTTP request, never through a proxy. */
import type { StackEndpoints } from '../stack/types.ts';
import type { HealthAnswer } from './ports.ts';

const HEALTH_TIMEOUT_MS = 2000;

export function healthTarget(endpoints: StackEndpoints): { url: string; status?: number[] } | null {
  if (endpoints.health === null) return null;
  if (endpoints.health !== undefined) {
    const { url, status } = endpoints.health;
    return status === undefined ? { url } : { url, status: [status] };
  }
  const url = new URL(endpoints.healthPath ?? '/health', endpoints.serviceDirectUrl ?? endpoints.serviceUrl);
  return endpoints.healthStatus
    ? { url: url.toString(), status: endpoints.healthStatus }
    : { url: url.toString() };
}

export async function checkHealth(endpoints: StackEndpoints, signal: AbortSignal): Promise<HealthAnswer> {
  const target = healthTarget(endpoints);
  if (target === null) return { absent: true };
  try {
    const r = await fetch(target.url, {
      signal: AbortSignal.any([signal, AbortSignal.timeout(HEALTH_TIMEOUT_MS)]),
    });
    await r.body?.cancel();
    const ok = target.status === undefined ? r.ok : target.status.includes(r.status);
    return ok ? { ok: true } : { ok: false, detail: `${target.url} answered HTTP ${r.status}` };
  } catch (e) {
    if (signal.aborted) throw signal.reason;
    const err = e as Error & { cause?: { code?: string } };
    return { ok: false, detail: `${target.url}: ${err.cause?.code ?? err.message}` };
  }
}
