/** The reference service as a child process (`auditchaos serve`), so that a kill is a real crash mid-append. */
import { type ChildProcess, spawn } from 'node:child_process';
import { createWriteStream, type WriteStream } from 'node:fs';
import path from 'node:path';
import { EnvironmentError } from '../../errors.ts';

export const BIN = path.resolve(import.meta.dirname, '../../../bin/auditchaos.js');

export interface ServiceProcessOptions {
  port: number;
  args: string[];
  env?: NodeJS.ProcessEnv;
  logFile: string;
  onSpawn?: (pid: number) => void;
}

export class ServiceProcess {
  private child: ChildProcess | undefined;
  private exited: Promise<void> = Promise.resolve();
  private log: WriteStream;

  constructor(private readonly opts: ServiceProcessOptions) {
    this.log = createWriteStream(opts.logFile, { flags: 'a' });
  }

  get url(): string {
    return `http://127.0.0.1:${this.opts.port}`;
  }

  get running(): boolean {
    const c = this.child;
    return Boolean(c && c.exitCode === null && c.signalCode === null);
  }

  get pid(): number | undefined {
    return this.running ? this.child?.pid : undefined;
  }

  async start(timeoutMs = 30_000): Promise<void> {
    if (this.running) return;
    const child = spawn(
      process.execPath,
      [BIN, 'serve', '--listen', `127.0.0.1:${this.opts.port}`, ...this.opts.args],
      {
        stdio: ['ignore', 'pipe', 'pipe'],
        env: { ...process.env, NO_COLOR: '1', ...this.opts.env },
      },
    );
    this.child = child;
    this.exited = new Promise((r) => child.once('exit', () => r()));
    child.stdout?.pipe(this.log, { end: false });
    child.stderr?.pipe(this.log, { end: false });
    if (child.pid !== undefined) this.opts.onSpawn?.(child.pid);
    await this.waitListening(timeoutMs);
  }

  /** Listening is enough: /health may say 503 while the database is down, and that is a state to test. */
  private async waitListening(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        throw new EnvironmentError(`the audit-log service exited during start-up (see ${this.opts.logFile})`);
      }
      try {
        const r = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) });
        await r.body?.cancel();
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      }
    }
    throw new EnvironmentError(
      `the audit-log service did not listen within ${timeoutMs} ms (see ${this.opts.logFile})`,
    );
  }

  async waitHealthy(timeoutMs = 30_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last = '';
    while (Date.now() < deadline) {
      try {
        const r = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(2000) });
        last = `${r.status} ${await r.text()}`;
        if (r.ok) return;
      } catch (e) {
        last = (e as Error).message;
      }
      await new Promise((r) => setTimeout(r, 100));
    }
    throw new EnvironmentError(`the audit-log service was not healthy within ${timeoutMs} ms: ${last}`, {
      hint: `see ${this.opts.logFile}`,
    });
  }

  async kill(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGKILL');
    await this.exited;
  }

  async stop(): Promise<void> {
    if (!this.running) return;
    this.child?.kill('SIGTERM');
    const t = setTimeout(() => this.child?.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(t);
  }

  async dispose(): Promise<void> {
    await this.stop();
    await new Promise<void>((r) => this.log.end(() => r()));
  }
}
