/**
 * What a run started, written down as it starts it, so that `auditchaos down` can sweep leftovers
 * after a crash of the CLI (SIGKILL, power loss): one JSON file per run in the state directory.
 */
import { existsSync, readFileSync } from 'node:fs';
import { mkdir, open, readdir, readFile, rename, rm } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { writeOffset } from './clock/faketime.ts';

export interface RunState {
  runId: string;
  runtime: 'local' | 'compose' | 'external';
  createdAt: string;
  cliPid: number;
  /** Processes we started; `group` means kill the whole process group. */
  pids: { pid: number; role: string; group: boolean }[];
  /** Temporary directories we created. */
  dirs: string[];
  /** Compose project name, when the compose runtime made one. */
  composeProject?: string;
  /** Left up on purpose (--keep-stack, `up`): `down` takes it down even though its CLI is gone. */
  detached?: boolean;
  composeFiles?: string[];
  /**
   * Heals of `command` faults that started and have not healed yet (written before the start
   * command runs): `down` runs them when the run's CLI died mid-fault.
   */
  pendingHeals?: {
    faultId: string;
    heal: string;
    env: Record<string, string>;
    timeoutMs: number;
    cwd: string;
  }[];
  /** libfaketime timestamp files of clock faults: `down` sets them back to +0 before anything else. */
  clockFiles?: string[];
  /** Namespaces, nft tables, qdiscs and offload changes of packet faults (src/stack/netns/cleanup.ts). */
  netCleanups?: import('./netns/cleanup.ts').NetCleanup[];
  /** Proxies the external runtime created on the team's Toxiproxy (and only those): `down` removes them. */
  createdProxies?: { toxiproxy: string; name: string }[];
}

export function stateDir(env: NodeJS.ProcessEnv = process.env): string {
  if (env.AUDITCHAOS_STATE_DIR) return env.AUDITCHAOS_STATE_DIR;
  const base = env.XDG_STATE_HOME || path.join(homedir(), '.local', 'state');
  return path.join(base, 'auditchaos', 'runs');
}

export class RunStateFile {
  readonly file: string;
  private state: RunState;
  private writing: Promise<void> = Promise.resolve();

  /** `name`: the file's name without .json when one run keeps more than one (default: the run id). */
  constructor(runId: string, runtime: RunState['runtime'], dir = stateDir(), name = runId) {
    this.file = path.join(dir, `${name}.json`);
    this.state = {
      runId,
      runtime,
      createdAt: new Date().toISOString(),
      cliPid: process.pid,
      pids: [],
      dirs: [],
    };
  }

  get current(): RunState {
    return this.state;
  }

  update(change: (s: RunState) => void): Promise<void> {
    change(this.state);
    const snapshot = JSON.stringify(this.state, null, 2);
    // Serialized, atomic, durable writes: a crash never leaves half a file, and what the file says
    // was started is on disk before the caller starts it. A crash between the write and the rename
    // leaves `<file>.<pid>.tmp`, which `down` removes (sweepStateTmpFiles).
    this.writing = this.writing.then(async () => {
      await mkdir(path.dirname(this.file), { recursive: true });
      const tmp = `${this.file}.${process.pid}.tmp`;
      const fh = await open(tmp, 'w');
      try {
        await fh.writeFile(snapshot);
        await fh.sync();
      } finally {
        await fh.close();
      }
      await rename(tmp, this.file);
      await syncDir(path.dirname(this.file));
    });
    return this.writing;
  }

  async remove(): Promise<void> {
    await this.writing.catch(() => undefined);
    await rm(this.file, { force: true });
  }
}

/** The lists a run keeps in a state file of their own while the work they undo is pending. */
type JournalKey = 'pendingHeals' | 'netCleanups';
type JournalItem<K extends JournalKey> = NonNullable<RunState[K]>[number];

/**
 * One such list, in `<run id>.<suffix>.json` beside the stack's state: an item is written before
 * the work it undoes starts and taken out once undone; the file goes with its last item, so a file
 * that stays is what a dead run left for `auditchaos down`.
 */
export class RunJournal<K extends JournalKey> {
  private file: RunStateFile | undefined;

  constructor(
    private readonly runId: string,
    private readonly runtime: RunState['runtime'],
    private readonly dir: string,
    private readonly suffix: string,
    private readonly key: K,
  ) {}

  /** Adds `item` in place of any item `same` as it. */
  async put(item: JournalItem<K>, same: (a: JournalItem<K>) => boolean): Promise<void> {
    this.file ??= new RunStateFile(this.runId, this.runtime, this.dir, `${this.runId}.${this.suffix}`);
    await this.file.update((s) => {
      s[this.key] = [...this.items(s).filter((x) => !same(x)), item] as RunState[K];
    });
  }

  /** Takes out the items `match` picks; removes the file when none is left. */
  async drop(match: (a: JournalItem<K>) => boolean): Promise<void> {
    const file = this.file;
    if (!file) return;
    await file.update((s) => {
      s[this.key] = this.items(s).filter((x) => !match(x)) as RunState[K];
    });
    if (this.items(file.current).length === 0) await file.remove();
  }

  private items(s: RunState): JournalItem<K>[] {
    return (s[this.key] ?? []) as JournalItem<K>[];
  }
}

async function syncDir(dir: string): Promise<void> {
  try {
    const fh = await open(dir, 'r');
    try {
      await fh.sync();
    } finally {
      await fh.close();
    }
  } catch {
    // not every file system syncs a directory; the rename is still atomic
  }
}

/** `<name>.json.<pid>.tmp`: a state write whose CLI died before the rename. */
const STATE_TMP = /^.+\.json\.(\d+)\.tmp$/;

/** Removes the unfinished state writes of CLIs that are gone; returns the files removed. */
export async function sweepStateTmpFiles(dir = stateDir()): Promise<string[]> {
  if (!existsSync(dir)) return [];
  const removed: string[] = [];
  for (const name of await readdir(dir)) {
    const m = STATE_TMP.exec(name);
    if (!m || Number(m[1]) === process.pid || isAlive(Number(m[1]))) continue;
    await rm(path.join(dir, name), { force: true });
    removed.push(path.join(dir, name));
  }
  return removed;
}

export async function listRunStates(dir = stateDir()): Promise<{ file: string; state: RunState }[]> {
  if (!existsSync(dir)) return [];
  const out: { file: string; state: RunState }[] = [];
  for (const name of await readdir(dir)) {
    if (!name.endsWith('.json')) continue;
    const file = path.join(dir, name);
    try {
      out.push({ file, state: JSON.parse(await readFile(file, 'utf8')) as RunState });
    } catch {
      // a state file that cannot be read is left for a person to look at
    }
  }
  return out;
}

/** Running, not a zombie: a killed process whose parent does not reap it lingers as Z. */
export function isAlive(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    try {
      process.kill(pid, 0);
      return process.platform !== 'linux';
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'EPERM';
    }
  }
}

/** Kills what a dead run left behind (processes, temp dirs); returns what it did. */
export async function sweepLocal(state: RunState): Promise<string[]> {
  const done: string[] = [];
  for (const f of state.clockFiles ?? []) {
    if (!existsSync(f)) continue;
    await writeOffset(f, 0).then(
      () => done.push(`set the clock file ${f} back to +0`),
      (e: Error) => done.push(`could not reset the clock file ${f}: ${e.message}`),
    );
  }
  for (const p of state.pids) {
    if (!isAlive(p.pid)) continue;
    if (!(await looksLikeOurs(p.pid, p.role))) {
      done.push(`left pid ${p.pid} (${p.role}) alone: it is no longer the process we started`);
      continue;
    }
    try {
      if (p.group) {
        process.kill(-p.pid, 'SIGCONT');
        process.kill(-p.pid, 'SIGKILL');
      } else process.kill(p.pid, 'SIGKILL');
      done.push(`killed ${p.role} (pid ${p.pid})`);
    } catch {
      // gone meanwhile
    }
  }
  if (state.runtime === 'local') {
    // What the state file could not name: a child started in the moment before its pid was written,
    // PostgreSQL backends. Found by the stack's tag and its work dir (src/stack/local/stack-reaper.mjs).
    const { stopStackProcesses } = await import('./local/stack-reaper.mjs');
    const more = await stopStackProcesses(state.runId, state.dirs);
    const known = new Set(state.pids.map((p) => p.pid));
    const unnamed = more.filter((p) => !known.has(p));
    if (unnamed.length)
      done.push(`stopped ${unnamed.length} more process(es) of the stack: ${unnamed.join(' ')}`);
  }
  for (const d of state.dirs) {
    if (existsSync(d)) {
      await waitFor(() => state.pids.every((p) => !isAlive(p.pid)), 5000);
      await rm(d, { recursive: true, force: true });
      done.push(`removed ${d}`);
    }
  }
  return done;
}

async function looksLikeOurs(pid: number, role: string): Promise<boolean> {
  try {
    const cmd = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).replace(/\0/g, ' ');
    return role === 'postgres' ? /postgres/.test(cmd) : /auditchaos|node/.test(cmd);
  } catch {
    return process.platform !== 'linux';
  }
}

async function waitFor(cond: () => boolean, ms: number): Promise<void> {
  const end = Date.now() + ms;
  while (!cond() && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
}
