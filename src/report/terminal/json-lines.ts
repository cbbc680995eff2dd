/**
 * --json: one JSON object per line per event, for scripts. `run-finished` carries the verdict,
 * exit code, report folder and the invariant results rather than the whole report (report.json
 * has that).
 */
import type { RunEvent, RunSink } from '../events.ts';
import { invariantResults } from '../invariants.ts';
import { redactDeep, redactSecrets } from '../redact.ts';
import type { TerminalStream } from './tty-view.ts';

export interface JsonLinesOptions {
  stream: TerminalStream;
  secrets?: readonly string[];
  /** Leave out per-second stats events (default: include them). */
  stats?: boolean;
  now?: () => Date;
}

export function toJsonLine(ev: RunEvent, time: Date): Record<string, unknown> {
  if (ev.type !== 'run-finished') return { time: time.toISOString(), ...ev };
  const r = ev.report;
  return {
    time: time.toISOString(),
    type: ev.type,
    at: ev.at,
    scenario: r.scenario.name,
    runId: r.runId,
    seed: r.seed,
    verdict: r.verdict,
    interrupted: r.interrupted,
    exitCode: ev.exitCode,
    reportDir: ev.reportDir,
    ops: r.ops,
    invariants: invariantResults(r).map((i) => ({
      kind: i.spec.kind,
      status: i.status,
      count: i.count,
      allowed: i.allowed,
    })),
    thresholds: r.thresholds,
  };
}

export function createJsonLines(opts: JsonLinesOptions): RunSink {
  const now = opts.now ?? (() => new Date());
  let closed = false;
  return {
    handle(ev) {
      if (closed || (ev.type === 'stats' && opts.stats === false)) return;
      const obj = redactDeep(toJsonLine(ev, now()), opts.secrets);
      opts.stream.write(`${redactSecrets(JSON.stringify(obj), opts.secrets)}\n`);
    },
    close() {
      closed = true;
    },
  };
}
