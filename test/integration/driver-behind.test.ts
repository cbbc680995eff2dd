/**
 * A run at a rate the load driver cannot reach: 5000/s with one writer against a real HTTP server
 * on a real socket (the toy event server answers every write 5 ms later). The driver sends what one
 * writer can, the rest is `not-sent`, and the run says the driver fell behind: verdict unknown,
 * exit 4, availability not judged (it was 52% and a pass before).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ExitCode } from '../../src/errors.ts';
import { renderHtml, renderMarkdown } from '../../src/report/index.ts';
import { runScenario } from '../../src/run/run-scenario.ts';
import { runWorkload } from '../../src/workload/index.ts';
import { ENDPOINTS, fakePorts, fakeScenario, reportsRoot, silentSink } from '../helpers/fake-run.ts';
import { startToyServer, type ToyServer } from '../helpers/toy-event-server.ts';

let toy: ToyServer;
beforeAll(async () => {
  toy = await startToyServer({ mode: { kind: 'delay', ms: 5 }, port: 32510 });
});
afterAll(async () => {
  await toy?.close();
});

describe('a run at a rate the driver cannot reach', () => {
  it('says the driver fell behind; availability and latency are unknown, exit 4', async () => {
    const endpoints = { ...ENDPOINTS, serviceUrl: toy.url };
    const { ports } = fakePorts({ runWorkload }, { up: async () => endpoints, endpoints: () => endpoints });
    const loaded = fakeScenario(`expect: { availability: ">= 50%", latency: { p99: "< 10s" } }`);
    loaded.scenario.workload = {
      ...loaded.scenario.workload,
      rate: 5000,
      duration: 1000,
      writers: 1,
      checkpoint: false,
    };
    const out = await runScenario({
      loaded,
      reportsRoot: reportsRoot(),
      signal: new AbortController().signal,
      sink: silentSink,
      ports,
    });
    const r = out.report;
    // Measured, for the record: what one writer got out at 5 ms a reply.
    console.log('driver', JSON.stringify(r.driver), 'ops', JSON.stringify(r.ops));
    expect(r.driver?.fellBehind).toBe(true);
    expect(r.driver?.notSent).toBeGreaterThan(2500);
    expect(r.driver?.reason).toMatch(/^the load driver fell behind: \d+ of 5000 requests/);
    expect(r.ops.attempted + (r.driver?.notSent ?? 0)).toBe(5000);
    expect(r.ops.fail).toBe(0);
    expect(r.ops.availability).toBe(1);
    const avail = r.thresholds.find((t) => t.name === 'availability');
    expect(avail).toMatchObject({ actual: null, pass: false });
    expect(avail?.note).toMatch(/^not checked: the load driver fell behind/);
    expect(r.thresholds.find((t) => t.name === 'latency.p99')?.actual).toBeNull();
    expect(r.verdict.status).toBe('unknown');
    expect(r.verdict.reasons.join('\n')).toMatch(
      /load driver fell behind.*not judged: availability, latency\.p99/,
    );
    expect(out.exitCode).toBe(ExitCode.inconclusive);
    // Phases: start on the run clock and a length, never negative, in order.
    const phases = r.timings.phases;
    expect(phases.map((p) => p.name).slice(0, 5)).toEqual([
      'stack-up',
      'proxies',
      'baseline',
      'workload',
      'heal',
    ]);
    for (const [i, p] of phases.entries()) {
      expect(p.startMs).toBeGreaterThanOrEqual(i === 0 ? 0 : (phases[i - 1]?.startMs ?? 0));
      expect(p.durationMs).toBeGreaterThanOrEqual(0);
    }
    expect(phases.find((p) => p.name === 'workload')?.durationMs).toBeGreaterThan(900);
    const workloadAt = phases.find((p) => p.name === 'workload')?.startMs ?? -1;
    expect(Math.abs((r.timings.workloadStartMs ?? -100) - workloadAt)).toBeLessThanOrEqual(5);
    // The reader sees it next to the workload numbers, in md and html alike.
    expect(renderMarkdown(r)).toMatch(
      /\*\*the load driver fell behind: \d+ of 5000 requests .*not the service's\.\*\*/,
    );
    expect(renderHtml(r)).toContain('<p><strong>the load driver fell behind:');
    expect(renderMarkdown(r)).toMatch(
      /Phases: stack-up \d+ ms, proxies \d+ ms, baseline \d+ ms, workload \d+\.\d s, heal/,
    );
  }, 30_000);
});
