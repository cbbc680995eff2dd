import { describe, expect, it } from 'vitest';
import {
  compare,
  parseComparison,
  parseDuration,
  parseHostPort,
  parseRate,
} from '../../../src/scenario/units.ts';

describe('parseDuration', () => {
  it.each([
    ['500ms', 500],
    ['8s', 8000],
    ['2m', 120_000],
    ['1m30s', 90_000],
    ['1h', 3_600_000],
    ['1.5s', 1500],
    ['0', 0],
  ])('%s -> %d ms', (text, ms) => expect(parseDuration(text)).toBe(ms));
  it.each(['', '8', '8 seconds', '2x', '-1s', 's', '1s2'])('rejects %j', (text) =>
    expect(parseDuration(text)).toBeUndefined(),
  );
});

describe('parseRate', () => {
  it('reads per second and per minute', () => {
    expect(parseRate('400/s')).toBe(400);
    expect(parseRate('1200/m')).toBe(20);
    expect(parseRate('400')).toBeUndefined();
    expect(parseRate('fast')).toBeUndefined();
  });
});

describe('parseHostPort', () => {
  it('reads names, IPv4 and bracketed IPv6', () => {
    expect(parseHostPort('postgres:5432')).toEqual({ host: 'postgres', port: 5432 });
    expect(parseHostPort('0.0.0.0:18080')).toEqual({ host: '0.0.0.0', port: 18080 });
    expect(parseHostPort('[::1]:80')).toEqual({ host: '::1', port: 80 });
    expect(parseHostPort('postgres')).toBeUndefined();
    expect(parseHostPort('h:70000')).toBeUndefined();
  });
});

describe('comparisons', () => {
  it('parses and applies thresholds', () => {
    const c = parseComparison('>= 70%');
    expect(c).toEqual({ op: '>=', value: 70, unit: '%' });
    expect(compare(70, c!)).toBe(true);
    expect(compare(69.9, c!)).toBe(false);
    expect(parseComparison('< 2s')).toEqual({ op: '<', value: 2000, unit: 'ms' });
    expect(parseComparison('lots')).toBeUndefined();
  });
});
