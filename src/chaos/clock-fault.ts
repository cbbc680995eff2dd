/**
 * The `clock` fault: steps a target's wall clock by `offset` for its window (libfaketime, through
 * the runtime's ClockControl), and steps it back at the heal. A fault that moved nothing is
 * evidence, not a pass: after each write the target's clock is read until it shows the offset;
 * a clock that does not move within the deadline fails the fault (the run is then unknown), and a
 * heal that does not bring it back fails the heal.
 */
import { EnvironmentError } from '../errors.ts';
import { formatDuration } from '../scenario/units.ts';
import { sleep } from '../sleep.ts';
import type { ClockControl, ClockReading } from '../stack/clock/clock-control.ts';
import type { CommandResult } from './command-fault.ts';
import type { Heal } from './toxiproxy-faults.ts';

export interface ClockFaultSpec {
  target: string;
  /** The step at the window's start, ms (0 or absent: none). */
  offset?: number | undefined;
  /** ms gained per ms of the window (0.05: +50ms/s); the harness rewrites the offset as it goes. */
  drift?: number | undefined;
}

/** How often a drifting clock's offset is rewritten (libfaketime reads it within its cache time). */
const DRIFT_TICK_MS = 250;

export interface ClockFaultDeps {
  /** How long the target may take to show a new offset (libfaketime re-reads its file each second). */
  settleMs?: number;
  pollMs?: number;
  /** Receives what was measured, for the fault log. */
  onOutput?: (stage: 'start' | 'heal', result: CommandResult) => void;
}

/** Slack on top of a reading's resolution: the time between reading the harness clock and the target's. */
const SLACK_MS = 300;

type Seen = { ok: true; reading: ClockReading } | { ok: false; reading?: ClockReading };

async function waitForOffset(
  clock: ClockControl,
  target: string,
  wantMs: number,
  deps: ClockFaultDeps,
): Promise<Seen | 'unreadable'> {
  const deadline = performance.now() + (deps.settleMs ?? 5000);
  let last: ClockReading | undefined;
  for (;;) {
    const r = await clock.read(target);
    if (r === undefined && last === undefined && performance.now() >= deadline) return 'unreadable';
    if (r) {
      last = r;
      if (Math.abs(r.offsetMs - wantMs) <= r.resolutionMs / 2 + SLACK_MS) return { ok: true, reading: r };
    }
    if (performance.now() >= deadline) return last ? { ok: false, reading: last } : 'unreadable';
    await sleep(deps.pollMs ?? 200);
  }
}

const signed = (ms: number) => (ms < 0 ? `-${formatDuration(-ms)}` : `+${formatDuration(ms)}`);

function note(text: string): CommandResult {
  return { exitCode: 0, output: text, timedOut: false };
}

function describeSeen(target: string, wantMs: number, seen: Seen | 'unreadable'): string {
  if (seen === 'unreadable')
    return `the clock of ${target} could not be read (no Date header, no answer): the step to ${signed(wantMs)} is not verified`;
  const r = seen.reading;
  if (!r) return `the clock of ${target} could not be read`;
  return `the clock of ${target} reads ${signed(r.offsetMs)} from the harness's (${r.via}, to ${r.resolutionMs} ms); wanted ${signed(wantMs)}`;
}

export async function applyClockFault(
  f: ClockFaultSpec,
  clock: ClockControl | undefined,
  deps: ClockFaultDeps = {},
): Promise<Heal> {
  if (!clock?.targets.includes(f.target)) {
    throw new EnvironmentError(
      `cannot move the clock of ${f.target}: it was not started under libfaketime${clock ? ` (prepared: ${clock.targets.join(', ') || 'none'})` : ' (this runtime has no clock faults)'}`,
      { hint: 'clock faults work on the local and compose runtimes, on a target named in the scenario' },
    );
  }
  const step = f.offset ?? 0;
  const drift = f.drift ?? 0;
  const started = performance.now();
  const offsetNow = () => Math.round(step + drift * (performance.now() - started));
  await clock.set(f.target, step);
  // A drift is a clock that runs fast or slow: its offset grows with the window, rewritten each tick.
  let ticking: Promise<void> = Promise.resolve();
  const ticker =
    drift === 0
      ? undefined
      : setInterval(() => {
          ticking = ticking.then(() => clock.set(f.target, offsetNow())).catch(() => undefined);
        }, DRIFT_TICK_MS);
  // The fault starts when the file is written (its window is the fault's); the target sees it
  // within libfaketime's cache time. Whether it did is read meanwhile, and settled at the heal.
  // A drift is verified at the heal, once it has drifted: the offset it reached is held and read.
  const verifying = drift === 0 ? waitForOffset(clock, f.target, step, deps) : undefined;
  verifying?.catch(() => undefined);
  return async () => {
    if (ticker) clearInterval(ticker);
    await ticking;
    const reached = offsetNow();
    if (drift !== 0) await clock.set(f.target, reached);
    const seen = await (verifying ?? waitForOffset(clock, f.target, reached, deps)).catch(
      () => 'unreadable' as const,
    );
    const fine = seen !== 'unreadable' && seen.reading !== undefined;
    const wanted = drift === 0 ? step : reached;
    const vague = fine && Math.abs(wanted) <= (seen.reading as ClockReading).resolutionMs / 2 + SLACK_MS;
    const told = `${describeSeen(f.target, wanted, seen)}${drift !== 0 ? ` (drifting ${signed(Math.round(drift * 1000))}/s)` : ''}${vague ? ' (a step this small is within what the reading tells apart: not verified)' : ''}`;
    deps.onOutput?.('start', note(told));
    if (seen !== 'unreadable' && !seen.ok) {
      // The fault did nothing it claims: say so (the run is unknown), after undoing the write.
      await clock.set(f.target, 0).catch(() => undefined);
      throw new EnvironmentError(`the clock fault had no effect: ${told}`, {
        hint: 'is libfaketime loaded in that process? (LD_PRELOAD; a static or Go binary ignores it)',
      });
    }
    await clock.set(f.target, 0);
    const back = await waitForOffset(clock, f.target, 0, deps);
    const text = describeSeen(f.target, 0, back);
    deps.onOutput?.('heal', note(text));
    if (back !== 'unreadable' && !back.ok)
      throw new EnvironmentError(`the clock did not come back to true time: ${text}`, {
        hint: '`auditchaos down` resets the clock files of a run',
      });
  };
}
