/**
 * The CLI's end of the local stack's watchdog (stack-reaper.mjs): a detached process that holds a
 * pipe from the CLI and takes the stack down when the pipe closes, i.e. when the CLI dies however it
 * dies (SIGKILL included). Started before any other child of the stack, so nothing the stack starts
 * can outlive a crashed CLI; disarmed when the CLI means the stack to stop or to stay.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync } from 'node:fs';
import type { Socket } from 'node:net';
import path from 'node:path';
import { STACK_TAG_VAR, WATCHDOG_VAR } from './stack-reaper.mjs';

const REAPER = path.join(import.meta.dirname, 'stack-reaper.mjs');

export interface WatchdogOptions {
  /** The stack's tag: every process it starts carries it in its environment (STACK_TAG_VAR). */
  tag: string;
  workDir: string;
  stateFile: string;
  logFile: string;
}

export class StackWatchdog {
  private constructor(
    private readonly child: ChildProcess,
    private readonly pipe: Socket,
  ) {}

  static start(opts: WatchdogOptions): StackWatchdog {
    const fd = openSync(opts.logFile, 'a');
    let child: ChildProcess;
    try {
      const { [STACK_TAG_VAR]: _, ...env } = process.env;
      child = spawn(process.execPath, [REAPER], {
        // Its own process group: Ctrl-C in the terminal reaches the CLI, which cleans up in order.
        detached: true,
        stdio: ['ignore', fd, fd, 'pipe'],
        env: {
          ...env,
          [WATCHDOG_VAR]: JSON.stringify({
            tag: opts.tag,
            workDir: opts.workDir,
            stateFile: opts.stateFile,
            cliPid: process.pid,
          }),
        },
      });
    } finally {
      closeSync(fd);
    }
    const pipe = child.stdio[3] as Socket;
    // Neither keeps the CLI alive: the pipe only has to exist as long as the CLI does.
    pipe.unref();
    child.unref();
    pipe.on('error', () => undefined);
    return new StackWatchdog(child, pipe);
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  /**
   * The watchdog exits without touching the stack (after a teardown, or to leave the stack up);
   * resolves once it has (SIGKILLed after `timeoutMs`), so that nothing of the stack is left running.
   */
  async disarm(timeoutMs = 5000): Promise<void> {
    const child = this.child;
    const gone = () => child.exitCode !== null || child.signalCode !== null;
    const exited = new Promise<void>((resolve) => {
      if (gone()) resolve();
      else child.once('exit', () => resolve());
    });
    if (!this.pipe.destroyed) {
      await new Promise<void>((resolve) => {
        this.pipe.write('disarm\n', () => resolve());
      });
      this.pipe.end();
    }
    let timer: NodeJS.Timeout | undefined;
    const late = new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        child.kill('SIGKILL');
        resolve();
      }, timeoutMs);
    });
    await Promise.race([exited, late]);
    clearTimeout(timer);
  }
}
