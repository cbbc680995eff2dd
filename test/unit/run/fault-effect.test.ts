/**
 * A fault that hit nothing is evidence (issue 12): the effect of each proxy fault from its proxy's
 * counters, "had no effect" in the report, and a run whose every fault had no effect is unknown,
 * never pass. And `command` faults through the shell: start, heal on every path, pending heals.
 */

import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Chalk } from 'chalk';
import { describe, expect, it } from 'vitest';
import type { CommandRunner } from '../../../src/chaos/command-fault.ts';
import { effectBetween, noEffectReason, type ProxyCounters } from '../../../src/chaos/fault-effect.ts';
import { parseProxyMetrics, ToxiproxyMetrics, type TrafficMeter } from '../../../src/chaos/proxy-metrics.ts';
import { InterruptedError } from '../../../src/errors.ts';
import { renderHtml } from '../../../src/report/html.ts';
import { renderMarkdown } from '../../../src/report/markdown.ts';
import { renderSummary } from '../../../src/report/terminal/summary.ts';
import type { RunPorts } from '../../../src/run/ports.ts';
import { runScenario } from '../../../src/run/run-scenario.ts';
import { evaluate } from '../../../src/run/verdict.ts';
import { emptyCounts } from '../../../src/scan/scan.ts';
import { parseScenario } from '../../../src/scenario/load.ts';
import { fakePorts, fakeScenario, reportsRoot, silentSink } from '../../helpers/fake-run.ts';

const scenarioOf = (extra: string) =>
  parseScenario(
    `version: 1\nname: x\ndescription: d\nworkload: { rate: 10/s, duration: 5s }\n${extra}`,
    'x.yml',
  );
const faultOf = (line: string) => scenarioOf(`faults:\n  - ${line}\n`).faults[0]!;

function run(ports: Partial<RunPorts>, extra: string, signal = new AbortController().signal) {
  return runScenario({
    loaded: fakeScenario(extra),
    reportsRoot: reportsRoot(),
    signal,
    sink: silentSink,
    ports,
  });
}

/** A meter whose counters grow by `perRead` bytes (and one connection) every time it is read. */
function meter(perRead: Record<string, number>): TrafficMeter & { reads: string[] } {
  const totals = new Map<string, ProxyCounters>();
  const reads: string[] = [];
  return {
    reads,
    read: async (proxy) => {
      reads.push(proxy);
      const add = perRead[proxy];
      if (add === undefined) return undefined;
      const c = totals.get(proxy) ?? { accepted: 0, open: 0, bytes: 0 };
      const next = { accepted: c.accepted! + (add > 0 ? 1 : 0), open: 0, bytes: c.bytes + add };
      totals.set(proxy, next);
      return next;
    },
  };
}

const TWO_FAULTS = `faults:
  - { at: 0ms, for: 20ms, kind: latency, proxy: api, latency: 10ms }
  - { at: 30ms, for: 20ms, kind: partition, proxy: db }
`;

describe('fault effect (pure)', () => {
  it('counts open + newly accepted connections and the bytes between the readings', () => {
    expect(effectBetween({ accepted: 5, open: 2, bytes: 100 }, { accepted: 8, open: 0, bytes: 350 })).toEqual(
      {
        connections: 5,
        bytes: 250,
      },
    );
    expect(effectBetween({ bytes: 10 }, { bytes: 10 })).toEqual({ connections: null, bytes: 0 });
    expect(effectBetween(undefined, { bytes: 1 })).toBe('unknown');
  });

  it('no bytes is no effect for byte toxics; connection faults also need no connection at all', () => {
    const latency = faultOf('{ at: 0s, for: 1s, kind: latency, proxy: api, latency: 5ms }');
    const cut = faultOf('{ at: 0s, for: 1s, kind: db-down, mode: proxy }');
    const kill = faultOf('{ at: 0s, for: 1s, kind: db-down, mode: kill }');
    expect(noEffectReason(latency, { connections: 3, bytes: 0 })).toMatch(/proxy api carried no byte/);
    expect(noEffectReason(latency, { connections: 0, bytes: 1 })).toBeUndefined();
    expect(noEffectReason(latency, 'unknown')).toBeUndefined();
    // Disabling a proxy cuts its open connections: an effect, even when no byte moved.
    expect(noEffectReason(cut, { connections: 2, bytes: 0 })).toBeUndefined();
    expect(noEffectReason(cut, { connections: null, bytes: 0 })).toBeUndefined();
    expect(noEffectReason(cut, { connections: 0, bytes: 0 })).toMatch(/proxy db had no open connection/);
    expect(noEffectReason(kill, { connections: 0, bytes: 0 })).toBeUndefined();
  });

  it('reads the built-in proxy and Toxiproxy -proxy-metrics pages', () => {
    const page = [
      '# TYPE toxiproxy_proxy_received_bytes_total counter',
      'toxiproxy_proxy_received_bytes_total{direction="downstream",listener="127.0.0.1:1",proxy="api",upstream="a:1"} 30',
      'toxiproxy_proxy_received_bytes_total{direction="upstream",listener="127.0.0.1:1",proxy="api",upstream="a:1"} 12',
      'toxiproxy_proxy_sent_bytes_total{direction="upstream",listener="127.0.0.1:1",proxy="api",upstream="a:1"} 99',
      'toxiproxy_proxy_connections_total{proxy="api"} 4',
      'toxiproxy_proxy_connections_open{proxy="api"} 1',
      'toxiproxy_proxy_received_bytes_total{direction="upstream",proxy="db",listener="[::]:2",upstream="d:2"} 1.5e1',
    ].join('\n');
    const m = parseProxyMetrics(page);
    expect(m.get('api')).toEqual({ bytes: 42, accepted: 4, open: 1 });
    expect(m.get('db')).toEqual({ bytes: 15 });
    expect(m.get('other')).toBeUndefined();
  });

  it('a Toxiproxy without -proxy-metrics (404) is unknown and asked once; a page without the proxy is unknown', async () => {
    let asked = 0;
    let status = 404;
    const srv = http.createServer((_, res) => {
      asked++;
      res.writeHead(status, { 'content-type': 'text/plain' });
      res.end(
        status === 200
          ? 'toxiproxy_proxy_received_bytes_total{direction="upstream",proxy="db"} 5\n'
          : '404 page not found\n',
      );
    });
    await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
    const url = `http://127.0.0.1:${(srv.address() as AddressInfo).port}`;
    try {
      const m = new ToxiproxyMetrics(url);
      expect(await m.read('api')).toBeUndefined();
      expect(await m.read('api')).toBeUndefined();
      expect(asked).toBe(1);
      status = 200;
      const m2 = new ToxiproxyMetrics(url);
      expect(await m2.read('api')).toBeUndefined();
      expect(await m2.read('db')).toEqual({ bytes: 5 });
    } finally {
      await new Promise((r) => srv.close(r));
    }
  });

  it('verdict: every applied fault without effect is unknown; one with effect is enough', () => {
    const base = {
      expect: scenarioOf('').expect,
      counts: emptyCounts(),
      scanned: true,
      ops: { attempted: 10, ok: 10 },
      canaries: { planted: 5, caught: 5, missed: [] },
      tamper: [],
      checksNotRun: [],
    };
    const none = evaluate({ ...base, faultEffects: { applied: 2, noEffect: ['f1: a', 'f2: b'] } });
    expect(none.verdict.status).toBe('unknown');
    expect(none.verdict.reasons.join('\n')).toMatch(/no fault had an effect \(f1: a; f2: b\)/);
    expect(evaluate({ ...base, faultEffects: { applied: 2, noEffect: ['f1: a'] } }).verdict.status).toBe(
      'pass',
    );
    expect(evaluate({ ...base, faultEffects: { applied: 0, noEffect: [] } }).verdict.status).toBe('pass');
  });
});

describe('run shell: fault effect', () => {
  it('faults whose proxies carried nothing: reported "had no effect", verdict unknown, exit 4', async () => {
    const traffic = meter({ api: 0, db: 0 });
    const { ports } = fakePorts({ traffic: () => traffic });
    const r = await run(ports, TWO_FAULTS);
    expect(r.report.faults.map((f) => [f.id, f.effect, f.noEffect !== undefined])).toEqual([
      ['f1', { connections: 0, bytes: 0 }, true],
      ['f2', { connections: 0, bytes: 0 }, true],
    ]);
    expect(r.report.verdict.status).toBe('unknown');
    expect(r.exitCode).toBe(4);
    expect(r.report.verdict.reasons.join('\n')).toMatch(/no fault had an effect/);
    expect(renderMarkdown(r.report)).toMatch(/had no effect: proxy api carried no byte/);
    expect(renderSummary(r.report, { color: new Chalk({ level: 0 }) })).toMatch(
      /fault f1 \(latency proxy:api\) had no effect: proxy api carried no byte/,
    );
    expect(renderHtml(r.report)).toMatch(/had no effect<\/span> proxy api carried no byte/);
    // Read once before each fault and once before its heal (the two may interleave on a busy machine).
    expect([...traffic.reads].sort()).toEqual(['api', 'api', 'db', 'db']);
  });

  it('one fault with traffic: the run can pass; the other is still reported as having no effect', async () => {
    const { ports } = fakePorts({ traffic: () => meter({ api: 500, db: 0 }) });
    const r = await run(ports, TWO_FAULTS);
    expect(r.report.faults[0]?.effect).toEqual({ connections: 1, bytes: 500 });
    expect(r.report.faults[0]?.noEffect).toBeUndefined();
    expect(r.report.faults[1]?.noEffect).toMatch(/proxy db had no open connection/);
    expect(r.report.verdict.status, r.report.verdict.reasons.join('; ')).toBe('pass');
  });

  it('a proxy without counters (real Toxiproxy): effect unknown, not zero, and the verdict is not changed', async () => {
    const { ports } = fakePorts({ traffic: () => meter({}) });
    const r = await run(ports, TWO_FAULTS);
    expect(r.report.faults.map((f) => f.effect)).toEqual(['unknown', 'unknown']);
    expect(r.report.verdict.status).toBe('pass');
  });

  it('a non-proxy fault has no proxy effect and keeps a run with a no-effect proxy fault judgeable', async () => {
    const { ports } = fakePorts({ traffic: () => meter({ api: 0 }) });
    const r = await run(
      ports,
      `faults:
  - { at: 0ms, for: 20ms, kind: latency, proxy: api, latency: 10ms }
  - { at: 0ms, for: 20ms, kind: command, start: "true", heal: "true" }
`,
    );
    expect(r.report.faults[1]?.effect).toBeUndefined();
    expect(r.report.faults[0]?.noEffect).toBeDefined();
    expect(r.report.verdict.status).toBe('pass');
  });
});

const COMMAND = `faults:
  - { at: 0ms, for: 30ms, kind: command, start: "kill-db", heal: "start-db", env: { PGDATA: /tmp/x } }
`;

describe('run shell: command faults', () => {
  it('runs start, then heal; the heal is pending in between; output lands in the fault log', async () => {
    let pendingDuringStart: string | undefined;
    const { ports, log } = fakePorts();
    const runCommand: CommandRunner = async (cmd, opts) => {
      if (cmd === 'kill-db') pendingDuringStart = log.pendingHeals.get('f1');
      log.commands.push(`${cmd} PGDATA=${opts.env.PGDATA}`);
      return { exitCode: 0, output: `${cmd} done`, timedOut: false };
    };
    const r = await run({ ...ports, runCommand }, COMMAND);
    expect(pendingDuringStart).toBe('start-db');
    expect(log.commands).toEqual(['kill-db PGDATA=/tmp/x', 'start-db PGDATA=/tmp/x']);
    expect(log.pendingHeals.size).toBe(0);
    expect(r.report.faults[0]).toMatchObject({
      kind: 'command',
      target: 'command:kill-db',
      output: { start: 'kill-db done', heal: 'start-db done' },
    });
    expect(r.report.verdict.status).toBe('pass');
  });

  it('a failing start is a fault error (unknown, exit 3), and its heal still runs', async () => {
    const { ports, log } = fakePorts();
    const runCommand: CommandRunner = async (cmd) => {
      log.commands.push(cmd);
      return cmd === 'kill-db'
        ? { exitCode: 1, output: 'kubectl: pod not found', timedOut: false }
        : { exitCode: 0, output: '', timedOut: false };
    };
    const r = await run({ ...ports, runCommand }, COMMAND);
    expect(log.commands).toEqual(['kill-db', 'start-db']);
    expect(r.report.faults[0]?.error).toMatch(
      /apply failed: start command `kill-db` exited with code 1: kubectl: pod not found/,
    );
    expect(r.report.verdict.status).toBe('unknown');
    expect(r.exitCode).toBe(3);
    expect(log.pendingHeals.size).toBe(0);
  });

  it('a failing heal stays pending for `auditchaos down` and makes the run unknown', async () => {
    const { ports, log } = fakePorts();
    const runCommand: CommandRunner = async (cmd) => ({
      exitCode: cmd === 'start-db' ? 2 : 0,
      output: '',
      timedOut: false,
    });
    const r = await run({ ...ports, runCommand }, COMMAND);
    expect(r.report.faults[0]?.error).toMatch(/heal failed: heal command `start-db` exited with code 2/);
    expect(log.pendingHeals.get('f1')).toBe('start-db');
    expect(r.report.verdict.status).toBe('unknown');
  });

  it('Ctrl-C during the fault heals at once, before the stack goes down', async () => {
    const ac = new AbortController();
    const { ports, log } = fakePorts();
    const runCommand: CommandRunner = async (cmd) => {
      log.calls.push(cmd);
      if (cmd === 'kill-db') setTimeout(() => ac.abort(new InterruptedError('SIGINT')), 5);
      return { exitCode: 0, output: '', timedOut: false };
    };
    const t0 = performance.now();
    const r = await run(
      { ...ports, runCommand },
      `faults:\n  - { at: 0ms, for: 150ms, kind: command, start: kill-db, heal: start-db }\n`,
      ac.signal,
    );
    expect(r.exitCode).toBe(130);
    expect(log.calls.indexOf('start-db')).toBeGreaterThan(log.calls.indexOf('kill-db'));
    expect(log.calls.indexOf('start-db')).toBeLessThan(log.calls.indexOf('down'));
    expect(performance.now() - t0).toBeLessThan(5000);
    expect(log.pendingHeals.size).toBe(0);
  });

  it('writers that fail mid-fault: the fault is healed before the error goes on', async () => {
    const { ports, log } = fakePorts();
    const runCommand: CommandRunner = async (cmd) => {
      log.calls.push(cmd);
      return { exitCode: 0, output: '', timedOut: false };
    };
    const runWorkload: RunPorts['runWorkload'] = async () => {
      await new Promise((r) => setTimeout(r, 10));
      throw new TypeError('writer bug');
    };
    const r = await run(
      { ...ports, runCommand, runWorkload },
      `faults:\n  - { at: 0ms, for: 150ms, kind: command, start: kill-db, heal: start-db }\n`,
    );
    expect(r.exitCode).toBe(70);
    expect(log.calls.indexOf('start-db')).toBeGreaterThan(-1);
    expect(log.calls.indexOf('start-db')).toBeLessThan(log.calls.indexOf('down'));
  });
});
