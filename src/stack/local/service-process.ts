/**
 * An `auditchaos <command>` child process (the reference service, the built-in proxy), detached in
 * its own process group with its output in a log file: a kill is a real crash, Ctrl-C in the
 * terminal reaches only the CLI (which then cleans up in order), and with --keep-stack or `up` the
 * process outlives the CLI until `auditchaos down`.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { closeSync, openSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../../errors.ts';

export const BIN = path.resolve(import.meta.dirname, '../../../bin/auditchaos.js');

export interface ChildServiceOptions {
  /** What it is, for messages: "audit-log service", "proxy". */
  label: string;
  /** CLI arguments after the binary, e.g. ['serve', '--listen', ...] */
  args: string[];
  /** URL answering (any status) once it listens. */
  readyUrl: string;
  env?: NodeJS.ProcessEnv;
  logFile: string;
  onSpawn?: (pid: number) => void;
}

function tail(file: string, lines = 5): string {
  try {
    return readFileSync(file, 'utf8').trim().split('\n').slice(-lines).join(' | ');
  } catch {
    return '';
  }
}

export class ChildService {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();

  constructor(private readonly opts: ChildServiceOptions) {}

  get running(): boolean {
    const c = this.child;
    return Boolean(c && c.exitCode === null && c.signalCode === null);
  }

  get readyUrl(): string {
    return this.opts.readyUrl;
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    if (this.running) return;
    const fd = openSync(this.opts.logFile, 'a');
    let child: ChildProcess;
    try {
      child = spawn(process.execPath, [BIN, ...this.opts.args], {
        stdio: ['ignore', fd, fd],
        detached: true,
        env: { ...process.env, NO_COLOR: '1', ...this.opts.env },
      });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.exited = new Promise((r) => child.once('exit', () => r()));
    if (child.pid !== undefined) this.opts.onSpawn?.(child.pid);
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new EnvironmentError(
          `the ${this.opts.label} exited during start-up: ${tail(this.opts.logFile)}`,
          {
            hint: `its log: ${this.opts.logFile}`,
          },
        );
      }
      try {
        const r = await fetch(this.opts.readyUrl, { signal: AbortSignal.timeout(1000) });
        await r.body?.cancel();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    await this.kill();
    throw new EnvironmentError(
      `the ${this.opts.label} did not listen within ${timeoutMs} ms: ${tail(this.opts.logFile)}`,
    );
  }

  async waitHealthy(url: string, timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const r = await fetch(url, { signal: AbortSignal.timeout(2000) });
        last = `${r.status} ${(await r.text()).slice(0, 200)}`;
        if (r.ok) return;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new EnvironmentError(`the ${this.opts.label} was not healthy within ${timeoutMs} ms: ${last}`, {
      hint: `its log: ${this.opts.logFile}`,
    });
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exited;
    this.paused = false;
  }

  async stop(graceMs = 5000): Promise<void> {
    if (!this.running) return;
    this.resume();
    this.child?.kill('SIGTERM');
    const t = setTimeout(() => this.child?.kill('SIGKILL'), graceMs);
    await this.exited;
    clearTimeout(t);
  }

  /** Freezes the process (SIGSTOP): it holds its sockets and answers nothing, as `docker pause`. */
  pause(): void {
    if (!this.running || this.paused || this.child?.pid === undefined) return;
    process.kill(this.child.pid, 'SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.paused || this.child?.pid === undefined) return;
    this.paused = false;
    if (this.running) process.kill(this.child.pid, 'SIGCONT');
  }

  private paused = false;

  /** Lets the CLI exit while this keeps running (--keep-stack, `up`). */
  detach(): void {
    this.child?.unref();
  }
}
