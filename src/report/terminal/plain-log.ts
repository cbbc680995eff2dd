/** Off a TTY (CI): plain timestamped lines, no escape codes, progress every few seconds. */
import { Chalk } from 'chalk';
import type { RunEvent, RunSink } from '../events.ts';
import { createRedactor } from '../redact.ts';
import { describeEvent } from './describe.ts';
import { renderSummary } from './summary.ts';
import type { TerminalStream } from './tty-view.ts';

const NO_COLOR = new Chalk({ level: 0 });

export interface PlainLogOptions {
  stream: TerminalStream;
  secrets?: readonly string[];
  /** Print a progress line every this many seconds of workload (default 5). */
  statsEverySeconds?: number;
  /** Wall clock for the timestamps, injectable for tests. */
  now?: () => Date;
}

export function createPlainLog(opts: PlainLogOptions): RunSink {
  const now = opts.now ?? (() => new Date());
  const every = opts.statsEverySeconds ?? 5;
  const redact = createRedactor(opts.secrets);
  const seen = new Map<string, number>();
  let closed = false;
  const line = (text: string) => opts.stream.write(`${now().toISOString()} ${redact(text)}\n`);
  return {
    handle(ev: RunEvent) {
      if (closed) return;
      if (ev.type === 'stats' && (ev.t + 1) % every !== 0) return;
      if (ev.type === 'scan-progress') return;
      if (ev.type === 'run-finished') {
        line(`finished: ${ev.report.verdict.status}, exit code ${ev.exitCode}`);
        opts.stream.write(
          `${renderSummary(ev.report, { color: NO_COLOR, reportDir: ev.reportDir, secrets: opts.secrets, columns: 120 })}\n`,
        );
        return;
      }
      const text = describeEvent(ev, NO_COLOR, seen);
      if (text !== undefined) line(text.trim());
    },
    close() {
      closed = true;
    },
  };
}
