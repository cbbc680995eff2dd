/** Picks the sink for a run's terminal output: live view on a TTY, plain lines in CI, JSON lines, or quiet. */
import type { ChalkInstance } from 'chalk';
import { Chalk } from 'chalk';
import type { RunSink } from '../events.ts';
import { createJsonLines } from './json-lines.ts';
import { createPlainLog } from './plain-log.ts';
import { renderSummary } from './summary.ts';
import { createTtyView, type TerminalStream } from './tty-view.ts';

export { createJsonLines } from './json-lines.ts';
export { createPlainLog } from './plain-log.ts';
export { renderSummary } from './summary.ts';
export { createTtyView, progressBar, type TerminalStream } from './tty-view.ts';

export interface TerminalOptions {
  stream: TerminalStream;
  /** From ctx.output.color: decides NO_COLOR / FORCE_COLOR once for the whole CLI. */
  color: ChalkInstance;
  json?: boolean;
  quiet?: boolean;
  secrets?: readonly string[];
}

/** --quiet: nothing while running; the verdict line and report path at the end. */
export function createQuietSink(opts: { stream: TerminalStream; secrets?: readonly string[] }): RunSink {
  return {
    handle(ev) {
      if (ev.type !== 'run-finished') return;
      const summary = renderSummary(ev.report, {
        color: new Chalk({ level: 0 }),
        reportDir: ev.reportDir,
        secrets: opts.secrets,
      });
      // the last lines: verdict, reasons, report path (the table is left out)
      const tail = summary.slice(summary.lastIndexOf('\n\n') + 2);
      opts.stream.write(`${tail}\n`);
    },
    close() {},
  };
}

export function createTerminalSink(opts: TerminalOptions): RunSink {
  if (opts.json) return createJsonLines({ stream: opts.stream, secrets: opts.secrets });
  if (opts.quiet) return createQuietSink(opts);
  if (opts.stream.isTTY)
    return createTtyView({ stream: opts.stream, color: opts.color, secrets: opts.secrets });
  return createPlainLog({ stream: opts.stream, secrets: opts.secrets });
}
