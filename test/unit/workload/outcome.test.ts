import { describe, expect, it } from 'vitest';
import { attemptOutcome, backoffMs, opOutcome, shouldRetry } from '../../../src/workload/index.ts';
import { transportErrorOf } from '../../../src/workload/outcome.ts';

const ack = [200, 201];

describe('attempt outcomes (DESIGN.md, Invariants)', () => {
  it.each([
    [{ status: 201 }, 'ok'],
    [{ status: 200 }, 'ok'],
    [{ status: 202 }, 'indeterminate'],
    [{ status: 400 }, 'fail'],
    [{ status: 409 }, 'fail'],
    [{ status: 500 }, 'indeterminate'],
    [{ status: 503 }, 'indeterminate'],
    [{ status: 302 }, 'indeterminate'],
    [{ transportError: 'refused' }, 'fail'],
    [{ transportError: 'unreachable' }, 'fail'],
    [{ transportError: 'timeout' }, 'indeterminate'],
    [{ transportError: 'reset' }, 'indeterminate'],
    [{ transportError: 'aborted' }, 'indeterminate'],
    [{ transportError: 'other' }, 'indeterminate'],
  ] as const)('%j is %s', (r, outcome) => {
    expect(attemptOutcome(r, ack)).toBe(outcome);
  });

  it('honours the scenario ack statuses first (a 409 the scenario calls acknowledged)', () => {
    expect(attemptOutcome({ status: 409 }, [201, 409])).toBe('ok');
    expect(attemptOutcome({ status: 200 }, [201])).toBe('indeterminate');
  });

  it('combines attempts: any ok wins, then any indeterminate, else fail', () => {
    expect(opOutcome(['indeterminate', 'fail', 'ok'])).toBe('ok');
    expect(opOutcome(['fail', 'indeterminate', 'fail'])).toBe('indeterminate');
    expect(opOutcome(['fail', 'fail'])).toBe('fail');
  });
});

describe('retries', () => {
  it('retries what may succeed later, not acks, aborts or plain 4xx', () => {
    expect(shouldRetry({ status: 201 }, 'ok')).toBe(false);
    expect(shouldRetry({ status: 400 }, 'fail')).toBe(false);
    expect(shouldRetry({ status: 429 }, 'fail')).toBe(true);
    expect(shouldRetry({ status: 408 }, 'fail')).toBe(true);
    expect(shouldRetry({ status: 503 }, 'indeterminate')).toBe(true);
    expect(shouldRetry({ transportError: 'refused' }, 'fail')).toBe(true);
    expect(shouldRetry({ transportError: 'timeout' }, 'indeterminate')).toBe(true);
    expect(shouldRetry({ transportError: 'aborted' }, 'indeterminate')).toBe(false);
  });

  it('backs off exponentially from the scenario backoff', () => {
    expect([2, 3, 4].map((k) => backoffMs(100, k))).toEqual([100, 200, 400]);
  });

  it('maps socket error codes', () => {
    expect(transportErrorOf('ECONNREFUSED')).toBe('refused');
    expect(transportErrorOf('UND_ERR_CONNECT_TIMEOUT')).toBe('unreachable');
    expect(transportErrorOf('ECONNRESET')).toBe('reset');
    expect(transportErrorOf('UND_ERR_SOCKET')).toBe('reset');
    expect(transportErrorOf(undefined, 'AbortError')).toBe('aborted');
    expect(transportErrorOf('EWHATEVER')).toBe('other');
  });
});
