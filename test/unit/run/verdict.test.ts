import { describe, expect, it } from 'vitest';
import { evaluate, type VerdictInput } from '../../../src/run/verdict.ts';
import { emptyCounts } from '../../../src/scan/scan.ts';
import type { Finding } from '../../../src/scan/types.ts';
import { parseScenario } from '../../../src/scenario/load.ts';
import { attributeTamper } from '../../../src/tamper/attribute.ts';
import type { TamperRecord } from '../../../src/tamper/probes.ts';

const expectBlock = parseScenario(
  `version: 1
name: v
description: d
workload: { rate: 10/s, duration: 5s }
expect: { availability: ">= 90%", latency: { p99: "< 100ms" } }
`,
  'x.yml',
).expect;

const counts = (over: Partial<Record<Finding['kind'], number>> = {}) => ({ ...emptyCounts(), ...over });

const base: VerdictInput = {
  expect: expectBlock,
  counts: counts(),
  scanned: true,
  ops: { attempted: 100, ok: 95 },
  latency: { p50: 5, p99: 50, max: 80 },
  canaries: { planted: 5, caught: 5, missed: [] },
  tamper: [],
  checksNotRun: [],
};

const finding = (kind: Finding['kind'], seq?: number, eventId?: string): Finding => ({
  kind,
  severity: 'violation',
  message: kind,
  check: 'x',
  seq,
  eventId,
});

describe('evaluate', () => {
  it('passes when everything holds', () => {
    const r = evaluate(base);
    expect(r.verdict.status).toBe('pass');
    expect(r.thresholds.every((t) => t.pass)).toBe(true);
    expect(r.thresholds.map((t) => t.name)).toContain('latency.p99');
  });

  it('fails on a finding over its limit, a threshold, or a missed canary', () => {
    expect(evaluate({ ...base, counts: counts({ missing: 1 }) }).verdict.status).toBe('fail');
    expect(evaluate({ ...base, ops: { attempted: 100, ok: 80 } }).verdict.reasons[0]).toMatch(/availability/);
    expect(evaluate({ ...base, latency: { p50: 5, p99: 150, max: 200 } }).verdict.status).toBe('fail');
    expect(
      evaluate({ ...base, canaries: { planted: 5, caught: 4, missed: ['reorder'] } }).verdict.status,
    ).toBe('fail');
  });

  it('an unmeasurable threshold is missing evidence, not a violation', () => {
    const r = evaluate({ ...base, ops: { attempted: 0, ok: 0 }, latency: undefined });
    expect(r.verdict.status).toBe('unknown');
    expect(r.verdict.reasons.join('\n')).toMatch(/availability could not be measured: nothing attempted/);
    expect(r.verdict.reasons.join('\n')).toMatch(/latency.p99 could not be measured: no samples/);
  });

  it('is unknown, never pass, without evidence', () => {
    expect(
      evaluate({
        ...base,
        ops: { attempted: 10, ok: 0 },
        expect: { ...expectBlock, availability: undefined },
      }).verdict.status,
    ).toBe('unknown');
    expect(evaluate({ ...base, scanError: 'connection refused' }).verdict.status).toBe('unknown');
    expect(evaluate({ ...base, runError: 'port 18080 is in use' }).verdict.reasons[0]).toBe(
      'the run stopped before its end: port 18080 is in use',
    );
    expect(
      evaluate({ ...base, checksNotRun: [{ name: 'chain', reason: 'no hash column' }] }).verdict.status,
    ).toBe('unknown');
    expect(evaluate({ ...base, canaries: { planted: 0, caught: 0, missed: [] } }).verdict.status).toBe(
      'unknown',
    );
    expect(evaluate({ ...base, interrupted: true }).verdict.status).toBe('unknown');
  });

  it('judges tamper probes against what each expects', () => {
    const probe = (over: Partial<TamperRecord>): TamperRecord => ({
      name: 'p',
      via: 'sql',
      request: 'UPDATE',
      outcome: 'accepted',
      detail: '',
      affected: { changed: [5], removed: [], added: [], eventIds: [] },
      expect: 'detected',
      ...over,
    });
    expect(evaluate({ ...base, tamper: [probe({ detection: 'detected' })] }).verdict.status).toBe('pass');
    expect(
      evaluate({ ...base, tamper: [probe({ expect: 'refused', detection: 'detected' })] }).verdict.status,
    ).toBe('fail');
    expect(evaluate({ ...base, tamper: [probe({ outcome: 'refused' })] }).verdict.status).toBe('pass');
    // A probe that could not be carried out proves nothing either way: unknown, never fail or pass.
    const broken = evaluate({ ...base, tamper: [probe({ outcome: 'error', detail: 'syntax error' })] });
    expect(broken.verdict.status).toBe('unknown');
    expect(broken.verdict.reasons.join('\n')).toMatch(/could not be carried out: syntax error/);
  });
});

describe('attributeTamper', () => {
  const rec = (
    affected: TamperRecord['affected'],
    outcome: TamperRecord['outcome'] = 'accepted',
  ): TamperRecord => ({
    name: 'edit',
    via: 'sql',
    request: 'x',
    outcome,
    detail: '',
    affected,
    expect: 'detected',
  });

  it('folds the findings a probe explains into one tamper-detected warning, leaves the rest', () => {
    const probes = [rec({ changed: [5], removed: [], added: [], eventIds: ['e5'] })];
    const { findings } = attributeTamper(probes, [finding('broken-chain', 5), finding('broken-chain', 40)]);
    expect(findings.map((f) => [f.kind, f.seq])).toEqual([
      ['broken-chain', 40],
      ['tamper-detected', 5],
    ]);
    expect(probes[0]?.detection).toBe('detected');
  });

  it('a deletion is explained by the gap after it and the missing event', () => {
    const probes = [rec({ changed: [], removed: [7], added: [], eventIds: ['e7'] })];
    const { findings } = attributeTamper(probes, [
      finding('broken-chain', 8),
      finding('missing', undefined, 'e7'),
    ]);
    expect(findings.map((f) => f.kind)).toEqual(['tamper-detected']);
  });

  it('a rollback at a row the probe changed or removed is the probe noticed (a checkpoint had seen it); elsewhere it stays', () => {
    const probes = [
      rec({ changed: [], removed: [7], added: [], eventIds: ['e7'] }),
      rec({ changed: [5], removed: [], added: [], eventIds: ['e5'] }),
    ];
    const { findings } = attributeTamper(probes, [
      finding('rollback', 5),
      finding('rollback', 7),
      finding('broken-chain', 8),
      finding('rollback', 40),
    ]);
    expect(findings.map((f) => [f.kind, f.seq])).toEqual([
      ['rollback', 40],
      ['tamper-detected', 7],
      ['tamper-detected', 5],
    ]);
    expect(probes.map((p) => p.detection)).toEqual(['detected', 'detected']);
  });

  it('an unnoticed change is tamper-undetected', () => {
    const probes = [rec({ changed: [3], removed: [], added: [], eventIds: [] })];
    const { findings } = attributeTamper(probes, []);
    expect(findings[0]?.kind).toBe('tamper-undetected');
    expect(findings[0]?.severity).toBe('violation');
  });

  it('an appended correction with a valid chain is no finding at all', () => {
    const probes = [rec({ changed: [], removed: [], added: [101], eventIds: ['c1'] }, 'appended')];
    const { findings } = attributeTamper(probes, [finding('unexpected', 101, 'c1')]);
    expect(findings).toEqual([]);
    expect(probes[0]?.detection).toBeUndefined();
  });
});
