import { describe, expect, it } from 'vitest';
import { causeNotInMessage, EnvironmentError } from '../../../src/errors.ts';

describe('causeNotInMessage', () => {
  it('is undefined when the message already quotes the cause, even the first line of a longer one', () => {
    const cause = new Error('connect ECONNREFUSED 127.0.0.1:5432');
    expect(causeNotInMessage(new EnvironmentError(`database: ${cause.message}`, { cause }))).toBeUndefined();
    const long = new Error('relation "audit_log" does not exist\n');
    expect(
      causeNotInMessage(new EnvironmentError('scan: relation "audit_log" does not exist', { cause: long })),
    ).toBeUndefined();
  });

  it('gives what the cause adds, and nothing without a cause', () => {
    const cause = new Error('first line quoted\nsecond line new');
    expect(causeNotInMessage(new EnvironmentError('x: first line quoted', { cause }))).toBe(
      'second line new',
    );
    expect(
      causeNotInMessage(new EnvironmentError('could not start', { cause: new Error('EADDRINUSE') })),
    ).toBe('EADDRINUSE');
    expect(causeNotInMessage(new Error('plain'))).toBeUndefined();
  });
});
