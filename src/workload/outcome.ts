/**
 * Outcome rules (DESIGN.md, "Invariants"): an attempt is acknowledged when its status is one of
 * the scenario's ack statuses; a definite failure on a 4xx or when the request never left
 * (connection refused, host unknown); indeterminate otherwise (timeout, reset, 5xx, anything
 * unexpected): the service may or may not have stored it.
 */
import type { OpOutcome } from '../scan/types.ts';

/** Why an attempt got no HTTP status. `refused` and `unreachable` mean nothing was sent. */
export type TransportError = 'refused' | 'unreachable' | 'timeout' | 'reset' | 'aborted' | 'other';

export interface AttemptResult {
  status?: number;
  transportError?: TransportError;
}

export function attemptOutcome(r: AttemptResult, ackStatuses: readonly number[]): OpOutcome {
  if (r.status !== undefined) {
    if (ackStatuses.includes(r.status)) return 'ok';
    if (r.status >= 400 && r.status < 500) return 'fail';
    return 'indeterminate';
  }
  return r.transportError === 'refused' || r.transportError === 'unreachable' ? 'fail' : 'indeterminate';
}

/** ok if any attempt was acknowledged; else indeterminate if any was; else fail. */
export function opOutcome(attempts: readonly OpOutcome[]): OpOutcome {
  if (attempts.includes('ok')) return 'ok';
  if (attempts.includes('indeterminate')) return 'indeterminate';
  return 'fail';
}

/**
 * Worth another attempt with the same event id? Not after an ack, nor after a 4xx the service
 * will repeat (a bad request stays bad), except 408 and 429 which ask to come back later.
 */
export function shouldRetry(r: AttemptResult, outcome: OpOutcome): boolean {
  if (outcome === 'ok' || r.transportError === 'aborted') return false;
  if (r.status !== undefined && r.status >= 400 && r.status < 500)
    return r.status === 408 || r.status === 429;
  return true;
}

/** Delay before attempt `next` (2, 3, ...): exponential from the scenario's backoff. */
export function backoffMs(baseMs: number, next: number): number {
  return baseMs * 2 ** Math.max(0, next - 2);
}

/** Node/undici error codes mapped to our vocabulary. */
export function transportErrorOf(code: string | undefined, name?: string): TransportError {
  switch (code) {
    case 'ECONNREFUSED':
      return 'refused';
    case 'ENOTFOUND':
    case 'EAI_AGAIN':
    case 'EHOSTUNREACH':
    case 'ENETUNREACH':
    case 'EADDRNOTAVAIL':
    case 'UND_ERR_CONNECT_TIMEOUT': // the TCP handshake never completed: nothing was sent
      return 'unreachable';
    case 'ECONNRESET':
    case 'EPIPE':
    case 'UND_ERR_SOCKET':
    case 'UND_ERR_CLOSED':
      return 'reset';
    case 'UND_ERR_HEADERS_TIMEOUT':
    case 'UND_ERR_BODY_TIMEOUT':
    case 'ETIMEDOUT':
      return 'timeout';
    default:
      return name === 'AbortError' || code === 'UND_ERR_ABORTED' || code === 'ABORT_ERR'
        ? 'aborted'
        : 'other';
  }
}
