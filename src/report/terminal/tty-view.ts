/**
 * The live view on a TTY: a few lines redrawn in place about four times a second (phase,
 * elapsed/total, a progress bar, writes/s, errors, active faults), with notable events printed
 * above it as they happen, then the summary table when the run finishes.
 */
import { stripVTControlCharacters } from 'node:util';
import type { ChalkInstance } from 'chalk';
import type { RunEvent, RunSink } from '../events.ts';
import { formatClock, formatCount, formatMs } from '../invariants.ts';
import { createRedactor } from '../redact.ts';
import { describeEvent } from './describe.ts';
import { initialState, reduce, workloadProgress } from './state.ts';
import { renderSummary } from './summary.ts';

export interface TerminalStream {
  write(chunk: string): unknown;
  isTTY?: boolean;
  columns?: number;
}

export interface TtyViewOptions {
  stream: TerminalStream;
  color: ChalkInstance;
  secrets?: readonly string[];
  /** Redraw period; 250 ms is 4 frames a second. */
  refreshMs?: number;
  /** Wall clock, injectable for tests. */
  now?: () => number;
}

const ESC = '\u001b[';
const HIDE_CURSOR = `${ESC}?25l`;
const SHOW_CURSOR = `${ESC}?25h`;
const ERASE_DOWN = `${ESC}J`;
const up = (n: number) => (n > 0 ? `${ESC}${n}F` : '\r');

export function progressBar(fraction: number, width: number): string {
  const f = Math.max(0, Math.min(1, fraction));
  const full = Math.round(f * width);
  return `${'█'.repeat(full)}${'░'.repeat(width - full)}`;
}

/**
 * The width to fit the live region to: a pseudo-terminal, a CI runner or a pipe may report no
 * width or 0 columns; then a narrow default keeps the redraw (cursor up N lines) correct.
 */
export function usableColumns(columns: number | undefined): number {
  return columns !== undefined && Number.isFinite(columns) && columns >= 20 ? Math.floor(columns) : 80;
}

export interface TtyView extends RunSink {
  /** The live region as it would be drawn now (for tests and screenshots). */
  frame(): string[];
}

export function createTtyView(opts: TtyViewOptions): TtyView {
  const { stream, color: c } = opts;
  const now = opts.now ?? Date.now;
  const redact = createRedactor(opts.secrets);
  const state = initialState();
  const seen = new Map<string, number>();
  let startWall: number | undefined;
  let drawn = 0;
  let closed = false;
  let timer: NodeJS.Timeout | undefined;

  const runAt = () => (startWall === undefined ? state.lastAt : Math.max(state.lastAt, now() - startWall));
  const fitWidth = (line: string) => {
    const cols = usableColumns(stream.columns);
    const plain = stripVTControlCharacters(line);
    if (plain.length < cols) return line;
    return `${plain.slice(0, Math.max(1, cols - 2))}…`;
  };

  const frame = (): string[] => {
    const at = runAt();
    const lines: string[] = [];
    const phase = state.phase ?? 'starting';
    const { elapsed, fraction } = workloadProgress(state, at);
    const bar = progressBar(fraction, 24);
    lines.push(
      `${c.cyan('▸')} ${c.bold(phase.padEnd(10))} ${formatClock(elapsed)} / ${formatClock(state.workloadMs)}  ${c.cyan(bar)} ${String(Math.round(fraction * 100)).padStart(3)}%` +
        (state.phase === 'scan' && state.scanEntries !== undefined
          ? c.dim(
              `  scanned ${formatCount(state.scanEntries)}${state.scanTotal ? `/${formatCount(state.scanTotal)}` : ''}`,
            )
          : ''),
    );
    const st = state.lastStats;
    if (st) {
      const errs = st.errors + st.indeterminate;
      lines.push(
        `  writes ${c.bold(`${st.ok}/s`)}  errors ${errs > 0 ? c.red(`${st.errors}/s`) : `${st.errors}/s`}` +
          `  indeterminate ${st.indeterminate > 0 ? c.yellow(`${st.indeterminate}/s`) : '0/s'}` +
          `  p50 ${formatMs(st.p50)}  p99 ${formatMs(st.p99)}  ${c.dim(
            `ok ${formatCount(st.totals.ok)} · fail ${formatCount(st.totals.fail)} · indeterminate ${formatCount(st.totals.indeterminate)}`,
          )}`,
      );
    } else lines.push(c.dim('  writes -'));
    const active = [...state.faults.values()];
    lines.push(
      active.length === 0
        ? c.dim('  faults: none active')
        : `  faults: ${active
            .map((f) => {
              const left = Math.max(0, f.since + f.plannedFor - at);
              return `${c.yellow(`${f.kind} ${f.target}`)} ${c.dim(`${formatMs(left)} left`)}`;
            })
            .join(', ')}`,
    );
    const kinds = [...state.findings.entries()];
    if (kinds.length) lines.push(`  findings: ${kinds.map(([k, n]) => c.red(`${k} ${n}`)).join(', ')}`);
    return lines.map((l) => fitWidth(redact(l)));
  };

  const clear = () => {
    if (drawn > 0) stream.write(`${up(drawn)}${ERASE_DOWN}`);
    drawn = 0;
  };
  const draw = () => {
    if (closed) return;
    const lines = frame();
    clear();
    stream.write(`${lines.join('\n')}\n`);
    drawn = lines.length;
  };
  const printAbove = (line: string) => {
    clear();
    stream.write(`${fitWidth(redact(line))}\n`);
  };

  return {
    frame,
    handle(ev: RunEvent) {
      if (closed) return;
      reduce(state, ev);
      if (ev.type === 'run-started') {
        startWall = now() - ev.at;
        stream.write(HIDE_CURSOR);
        timer = setInterval(draw, opts.refreshMs ?? 250);
        timer.unref();
      }
      if (ev.type === 'run-finished') {
        clear();
        stream.write(
          `\n${renderSummary(ev.report, { color: c, reportDir: ev.reportDir, secrets: opts.secrets, columns: stream.columns })}\n`,
        );
        this.close();
        return;
      }
      if (ev.type !== 'stats' && ev.type !== 'scan-progress') {
        const line = describeEvent(ev, c, seen);
        if (line !== undefined) printAbove(`${c.dim(formatClock(ev.at))} ${line}`);
      }
      draw();
    },
    close() {
      if (closed) return;
      if (timer) clearInterval(timer);
      closed = true;
      stream.write(SHOW_CURSOR);
    },
  };
}
