import { describe, expect, it } from 'vitest';
import { compileBodyTemplate } from '../../../src/workload/index.ts';
import { compileTextTemplate, type PlaceholderValues } from '../../../src/workload/template.ts';

const values: PlaceholderValues = {
  eventId: '0190-abc',
  actor: 'user "7"\\',
  action: 'login',
  payload: '{"data":"xyz"}',
  n: '7',
  op: '12',
};

describe('body templates', () => {
  it('defaults to the reference service body', () => {
    expect(JSON.parse(compileBodyTemplate(undefined)(values))).toEqual({
      event_id: '0190-abc',
      actor: 'user "7"\\',
      action: 'login',
      payload: { data: 'xyz' },
    });
  });

  it('puts the payload object where a whole "{payload}" value stands, and text elsewhere (keys too)', () => {
    const t = compileBodyTemplate({
      id: '{eventId}',
      meta: { who: 'by {actor} (#{n}, op {op})', list: ['{payload}', 'x{payload}'] },
      '{payload}': 1,
    });
    expect(JSON.parse(t(values))).toEqual({
      id: '0190-abc',
      meta: { who: 'by user "7"\\ (#7, op 12)', list: [{ data: 'xyz' }, 'x{"data":"xyz"}'] },
      '{"data":"xyz"}': 1,
    });
  });

  it('leaves a template without placeholders as is', () => {
    expect(compileBodyTemplate({ a: [1, 'b'] })(values)).toBe('{"a":[1,"b"]}');
  });
});

describe('text templates', () => {
  it('URI-encodes values in paths and keeps header values raw', () => {
    expect(compileTextTemplate('/events/{eventId}/{actor}', 'uri')(values)).toBe(
      '/events/0190-abc/user%20%227%22%5C',
    );
    expect(compileTextTemplate('Bearer {actor}', 'raw')(values)).toBe('Bearer user "7"\\');
  });
});

describe('a foreign API: PUT /ledger/{eventId} with its own body (examples/pyledger)', () => {
  it('fills the event id into the path and the fields into the body, the payload as a JSON value', () => {
    const v = { ...values, eventId: '0190f2a1-1111-7aaa-8bbb-123456789abc', actor: 'user-3' };
    expect(compileTextTemplate('/ledger/{eventId}', 'uri')(v)).toBe(
      '/ledger/0190f2a1-1111-7aaa-8bbb-123456789abc',
    );
    const body = compileBodyTemplate({ who: '{actor}', verb: '{action}', body: '{payload}' })(v);
    expect(body).toBe('{"who":"user-3","verb":"login","body":{"data":"xyz"}}');
  });
});
