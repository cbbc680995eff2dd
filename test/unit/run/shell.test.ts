/**
 * Every exit path of a run, through the real shell (src/run/run-scenario.ts) and the real
 * assemble(), with fakes of the ports: milliseconds each. The real parts are in the integration
 * tests (run-lifecycle, detection-matrix, recovery).
 */
import { describe, expect, it } from 'vitest';
import { EnvironmentError, InterruptedError, UsageError } from '../../../src/errors.ts';
import { FindingSet } from '../../../src/run/finding-set.ts';
import type { RunPorts } from '../../../src/run/ports.ts';
import { runScenario } from '../../../src/run/run-scenario.ts';
import type { Finding } from '../../../src/scan/types.ts';
import type { Stack } from '../../../src/stack/types.ts';
import {
  ackedOps,
  fakePorts,
  fakeScenario,
  reportsRoot,
  scanResult,
  silentSink,
  workloadResult,
} from '../../helpers/fake-run.ts';

const WITH_FAULT = `faults:
  - { at: 0ms, for: 20ms, kind: latency, proxy: api, latency: 10ms }
`;

async function run(
  ports: Partial<RunPorts>,
  opts: { extra?: string; signal?: AbortSignal; keepStack?: boolean } = {},
) {
  return runScenario({
    loaded: fakeScenario(opts.extra ?? WITH_FAULT),
    reportsRoot: reportsRoot(),
    signal: opts.signal ?? new AbortController().signal,
    sink: silentSink,
    ports,
    ...(opts.keepStack ? { keepStack: true } : {}),
  });
}

const finding = (kind: Finding['kind'], seq: number, extra: Partial<Finding> = {}): Finding => ({
  kind,
  severity: kind === 'tamper-detected' ? 'warning' : kind === 'indeterminate' ? 'info' : 'violation',
  message: `${kind} at ${seq}`,
  check: kind === 'missing' || kind === 'unexpected' ? 'ledger' : 'chain',
  seq,
  ...extra,
});

describe('run shell: exit paths', () => {
  it('passes, exit 0, in phase order, the stack down once', async () => {
    const { ports, log } = fakePorts();
    const r = await run(ports);
    expect(r.exitCode, r.report.verdict.reasons.join('; ')).toBe(0);
    expect(r.report.verdict.status).toBe('pass');
    expect(log.calls).toEqual(['up', 'reset', 'baseline', 'workload', 'reset', 'scan', 'down', 'report']);
    expect(r.report.recovery?.recoveredInMs).toBeGreaterThanOrEqual(0);
    expect(r.report.thresholds.find((t) => t.name === 'recovery')?.pass).toBe(true);
  });

  it('a stack that will not come up: exit 3, unknown, the stack still taken down, a report', async () => {
    const { ports, log } = fakePorts(
      {},
      {
        up: async () => {
          throw new EnvironmentError('port 18080 is taken');
        },
      },
    );
    const r = await run(ports);
    expect(r.exitCode).toBe(3);
    expect(r.report.verdict.status).toBe('unknown');
    expect(r.report.verdict.reasons.join('\n')).toMatch(/stack-up: port 18080 is taken/);
    expect(log.downs).toBe(1);
    expect(log.writes).toBe(1);
    // Nothing that did not run reads as a pass.
    expect(r.report.thresholds.find((t) => t.name === 'missing')).toMatchObject({
      pass: false,
      actual: null,
    });
  });

  it('a service that never recovers after the faults: fail on recovery, exit 1', async () => {
    const { ports } = fakePorts({
      runWorkload: async (o) =>
        o.spec.writers === 1
          ? workloadResult([{ ...ackedOps(1)[0]!, outcome: 'fail', error: 'refused' }])
          : workloadResult(ackedOps(2, 0, 5)), // acks only before the heal (at ~20 ms)
      health: async () => ({ ok: false, detail: 'connection refused' }),
    });
    const r = await run(ports, { extra: `${WITH_FAULT}expect: { recovery: 300ms }\n` });
    expect(r.exitCode).toBe(1);
    expect(r.report.verdict.status).toBe('fail');
    expect(r.report.verdict.reasons.join('\n')).toMatch(/^recovery: expected <= 300ms/m);
    expect(r.report.recovery?.recoveredInMs).toBeUndefined();
    expect(r.report.recovery?.lastError).toMatch(/connection refused/);
  });

  it('recovery asks for a write itself when the workload ended with the faults; health absent is fine', async () => {
    const recoveryRun = (ackAt: number) => {
      const writes: number[] = [];
      const { ports } = fakePorts({
        runWorkload: async (o) => {
          if (o.spec.writers !== 1) return workloadResult(ackedOps(2, 0, 5)); // acks only before the heal
          writes.push(o.seed);
          return workloadResult(ackedOps(1, ackAt));
        },
        health: async () => ({ absent: true }),
      });
      return { writes, go: () => run(ports, { extra: `${WITH_FAULT}expect: { recovery: 300ms }\n` }) };
    };
    // The ack time of the recovery write is what is judged, not the mere answer: 10 s is too late.
    const late = recoveryRun(1000);
    const r1 = await late.go();
    expect(late.writes.length).toBeGreaterThan(0);
    expect(r1.exitCode).toBe(1);
    expect(r1.report.verdict.reasons.join('\n')).toMatch(/recovery/);
    const quick = recoveryRun(3);
    const r2 = await quick.go();
    expect(quick.writes).toHaveLength(1);
    expect(r2.exitCode, r2.report.verdict.reasons.join('; ')).toBe(0);
  });

  it('a bug in the scan is an internal error (70), never "the log could not be read"', async () => {
    const { ports, log } = fakePorts({
      scan: async () => {
        throw new TypeError("Cannot read properties of undefined (reading 'seq')");
      },
    });
    const r = await run(ports);
    expect(r.exitCode).toBe(70);
    expect(r.failure).toBeInstanceOf(TypeError);
    expect(r.report.verdict.status).toBe('unknown');
    expect(r.report.verdict.reasons.join('\n')).toMatch(/internal error in auditchaos/);
    expect(r.report.verdict.reasons.join('\n')).not.toMatch(/could not be read/);
    expect(log.downs).toBe(1);
  });

  it('a heal that fails is the environment: exit 3', async () => {
    let resets = 0;
    const { ports } = fakePorts({
      network: () => ({
        addToxics: async () => async () => undefined,
        disableProxy: async () => async () => undefined,
        reset: async () => {
          if (++resets === 2) throw new EnvironmentError('toxiproxy at http://127.0.0.1:1 does not answer');
        },
      }),
    });
    const r = await run(ports);
    expect(r.exitCode).toBe(3);
    expect(r.report.verdict.reasons.join('\n')).toMatch(/heal: toxiproxy/);
  });

  it('a fault that could not be applied makes the run unknown (it did not test what it claims)', async () => {
    const { ports } = fakePorts({
      network: () => ({
        addToxics: async () => {
          throw new EnvironmentError('no proxy "api" on the Toxiproxy');
        },
        disableProxy: async () => async () => undefined,
        reset: async () => undefined,
      }),
    });
    const r = await run(ports);
    expect(r.report.verdict.status).toBe('unknown');
    expect(r.exitCode).toBe(3);
    expect(r.report.verdict.reasons.join('\n')).toMatch(/f1 .* apply: .*no proxy "api"/);
  });

  it('a mapping to a missing column (readBaseline): exit 2 before any write', async () => {
    const { ports, log } = fakePorts({
      readBaseline: async () => {
        throw new UsageError('scan.source: table audit_log has no column for actor (who)');
      },
    });
    const r = await run(ports);
    expect(r.exitCode).toBe(2);
    expect(log.calls).not.toContain('workload');
    expect(log.downs).toBe(1);
  });

  it('a bad setting found by preflight throws before a stack exists', async () => {
    const { ports, log } = fakePorts({
      preflight: async () => {
        throw new UsageError('scan.chain: cannot load the hash recipe module ./nope.mjs');
      },
    });
    await expect(run(ports)).rejects.toThrow(/nope\.mjs/);
    expect(log.calls).toEqual([]);
  });

  it('a stack that would not go down after a pass: exit 3, the verdict kept and the reason shown', async () => {
    const { ports } = fakePorts(
      {},
      {
        down: async () => {
          throw new EnvironmentError('docker compose down failed');
        },
      },
    );
    const r = await run(ports);
    expect(r.report.verdict.status).toBe('pass');
    expect(r.exitCode).toBe(3);
    expect(r.report.verdict.reasons.join('\n')).toMatch(/stack-down failed: docker compose down failed/);
  });

  it('a violation outranks an environment error at teardown: exit 1', async () => {
    const { ports } = fakePorts(
      { scan: async () => scanResult([finding('missing', 3, { eventId: 'e2' })]) },
      {
        down: async () => {
          throw new EnvironmentError('docker compose down failed');
        },
      },
    );
    const r = await run(ports);
    expect(r.exitCode).toBe(1);
  });
});

describe('run shell: Ctrl-C in every phase', () => {
  const phases: [string, (abort: () => void) => Partial<RunPorts>, Partial<Stack>?][] = [
    [
      'stack-up',
      () => ({}),
      {
        up: async () => {
          throw new InterruptedError('SIGINT');
        },
      },
    ],
    [
      'baseline',
      (abort) => ({
        readBaseline: async () => {
          abort();
          return { entries: 0 };
        },
      }),
    ],
    [
      'workload',
      (abort) => ({
        runWorkload: async () => {
          abort();
          return { ...workloadResult(ackedOps(5)), aborted: true };
        },
      }),
    ],
    [
      'scan',
      (abort) => ({
        scan: async () => {
          abort();
          throw new InterruptedError('SIGINT');
        },
      }),
    ],
    [
      'tamper',
      (abort) => ({
        runTamper: async () => {
          abort();
          return [
            {
              name: 'edit',
              via: 'sql',
              request: 'UPDATE',
              outcome: 'accepted',
              detail: '',
              affected: { changed: [5], removed: [], added: [], eventIds: [] },
              expect: 'detected',
            },
          ];
        },
      }),
    ],
    [
      'report',
      (abort) => ({
        writeReport: async () => {
          abort();
        },
      }),
    ],
  ];
  for (const [name, make, stackOver] of phases) {
    it(`during ${name}: exit 130, interrupted, unknown, no violation from what did not run, stack down`, async () => {
      const ac = new AbortController();
      const abort = () => ac.abort(new InterruptedError('SIGTERM'));
      if (name === 'stack-up') abort();
      const { ports: base, log } = fakePorts({}, stackOver ?? {});
      const r = await run(
        { ...base, ...make(abort) },
        {
          signal: ac.signal,
          extra: `${WITH_FAULT}tamper:\n  - { via: sql, name: edit, statement: "UPDATE audit_log SET actor = 'x'" }\n`,
        },
      );
      expect(r.exitCode).toBe(130);
      expect(r.report.interrupted).toBe(true);
      expect(r.report.verdict.status).toBe('unknown');
      expect(r.report.findings.filter((f) => f.kind === 'tamper-undetected')).toEqual([]);
      // Not-run checks are "not checked" (actual null), never a failed count.
      for (const t of r.report.thresholds) if (!t.pass) expect(t.actual, t.name).toBeNull();
      expect(log.downs).toBe(1);
    });
  }
});

describe('run shell: evidence', () => {
  it('counts come from the scan counts, not the capped findings list', async () => {
    const kept = Array.from({ length: 1000 }, (_, i) => finding('partial', i + 1, { check: 'partial' }));
    const { ports } = fakePorts({
      scan: async () => {
        const s = scanResult(kept);
        s.counts.partial = 5000;
        s.findingsOmitted = 4000;
        return s;
      },
    });
    const r = await run(ports, { extra: `${WITH_FAULT}expect: { partial: 4999 }\n` });
    expect(r.report.thresholds.find((t) => t.name === 'partial')).toMatchObject({
      actual: 5000,
      pass: false,
    });
    expect(r.report.scan?.counts?.partial).toBe(5000);
    expect(r.report.scan?.findingsOmitted).toBe(4000);
    expect(r.exitCode).toBe(1);
  });

  it('entries from before the run: the scan gets their head; their findings are warnings unless beforeRun: fail', async () => {
    const withOlderEntries = (extra: string) => {
      const { ports, log } = fakePorts({
        readBaseline: async () => ({ entries: 3553, lastSeq: 3553 }),
        scan: async (o) => {
          log.scans.push(o);
          const s = scanResult([finding('broken-chain', 10, { preexisting: true })]);
          s.counts['broken-chain'] = 0;
          s.countsBefore['broken-chain'] = 1;
          return s;
        },
      });
      return { go: () => run(ports, { extra: `${WITH_FAULT}${extra}` }), log };
    };
    const warn = withOlderEntries('');
    const r = await warn.go();
    expect(warn.log.scans[0]?.before).toEqual({ lastSeq: 3553 });
    expect(r.exitCode, r.report.verdict.reasons.join('; ')).toBe(0);
    expect(r.report.scan?.before).toEqual({ entries: 3553, lastSeq: 3553 });
    expect(r.report.scan?.countsBefore?.['broken-chain']).toBe(1);
    const strict = await withOlderEntries('expect: { beforeRun: fail }\n').go();
    expect(strict.exitCode).toBe(1);
  });

  it('a tamper probe is judged only by the findings the scan after it adds', async () => {
    const already = finding('broken-chain', 5, { message: 'fork at 5' });
    const { ports, log } = fakePorts({
      runTamper: async () => [
        {
          name: 'edit',
          via: 'sql',
          request: 'UPDATE',
          outcome: 'accepted',
          detail: '',
          affected: { changed: [5], removed: [], added: [], eventIds: [] },
          expect: 'detected',
        },
      ],
      scan: async (o) => {
        log.scans.push(o);
        if (!o.against) return scanResult([already], { keys: FindingSet.of([already]) });
        // The row was already broken: the same finding again is no evidence of the probe.
        const s = scanResult([already]);
        s.fresh = [];
        s.freshCounts = { ...s.counts, 'broken-chain': 0 };
        return s;
      },
    });
    const r = await run(ports, {
      extra: `${WITH_FAULT}tamper:\n  - { via: sql, name: edit, statement: "UPDATE audit_log SET actor = 'x' WHERE seq = 5" }\nexpect: { brokenChain: 1 }\n`,
    });
    expect(log.scans[0]?.keepKeys).toBe(true);
    expect(r.report.findings.map((f) => f.kind)).toEqual(['broken-chain', 'tamper-undetected']);
    expect(r.report.tamper[0]?.detection).toBe('undetected');
    expect(r.exitCode).toBe(1);
  });
});
