/**
 * The local stack's reaper: finds the processes of one local stack (by the tag in their environment,
 * by their working directory or command line inside the stack's work dir) and stops them, then
 * removes the work dir and the stack's state file.
 *
 * Run as a process of its own (the watchdog), it holds the read end of a pipe from the CLI: when the
 * CLI dies, by SIGKILL or anything else, the pipe reads end-of-file and the watchdog takes the stack
 * down. The CLI disarms it (writes "disarm") before it exits on purpose: after a normal teardown,
 * or to leave the stack up (`up`, `run --keep-stack`). `auditchaos down` imports the same functions.
 *
 * Plain JavaScript on purpose: it starts in ~50 ms with no TypeScript loader, and nothing it
 * imports can fail to resolve in a half-installed tree.
 */
import { readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { pathToFileURL } from 'node:url';

/** The environment variable that marks every process of one local stack (its value: the run id). */
export const STACK_TAG_VAR = 'AUDITCHAOS_STACK_TAG';
/** The environment variable that carries the watchdog's settings (JSON). */
export const WATCHDOG_VAR = 'AUDITCHAOS_WATCHDOG';
/** A file in the work dir that says the stack was left up on purpose. */
export const DETACHED_MARKER = 'detached';

function readProc(pid, what) {
  try {
    return readFileSync(`/proc/${pid}/${what}`, 'latin1');
  } catch {
    return undefined;
  }
}

function isZombie(pid) {
  const stat = readProc(pid, 'stat');
  if (stat === undefined) return true;
  return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) === 'Z';
}

/**
 * Every live process of the stack: carries `tag` in its environment (node children; inherited by
 * what they start), or works in `workDir` (PostgreSQL chdirs to its data directory, and its
 * backends rewrite their command lines and environment area for `ps`), or names `workDir` in its
 * command line (a server between exec and chdir). The caller and its parent are never included.
 */
export function findStackProcesses(tag, workDirs) {
  let entries;
  try {
    entries = readdirSync('/proc');
  } catch {
    return [];
  }
  const needle = tag ? `\0${STACK_TAG_VAR}=${tag}\0` : undefined;
  const dirs = workDirs.filter(Boolean).map((d) => path.resolve(d));
  const inside = (p) => dirs.some((d) => p === d || p.startsWith(`${d}/`));
  const out = [];
  for (const name of entries) {
    if (!/^\d+$/.test(name)) continue;
    const pid = Number(name);
    if (pid === process.pid || pid === process.ppid) continue;
    if (isZombie(pid)) continue;
    const env = readProc(pid, 'environ');
    if (needle && env !== undefined && `\0${env}`.includes(needle)) {
      out.push(pid);
      continue;
    }
    let cwd;
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      cwd = undefined;
    }
    if (cwd !== undefined && inside(cwd)) {
      out.push(pid);
      continue;
    }
    const cmd = readProc(pid, 'cmdline');
    if (cmd !== undefined && dirs.some((d) => cmd.includes(`${d}/`))) out.push(pid);
  }
  return out;
}

function signal(pid, sig) {
  try {
    process.kill(pid, sig);
    return true;
  } catch {
    return false;
  }
}

function postmasterPid(workDir) {
  try {
    const first = readFileSync(path.join(workDir, 'pg', 'data', 'postmaster.pid'), 'utf8').split('\n')[0];
    const pid = Number(first);
    return Number.isSafeInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/**
 * Stops every process of the stack: PostgreSQL by an immediate shutdown (SIGQUIT: it removes its
 * shared memory), the rest by SIGKILL; what is still there after `graceMs` is SIGKILLed too. A
 * paused (SIGSTOPped) process is continued first. Resolves with the pids it signalled.
 */
export async function stopStackProcesses(tag, workDirs, { graceMs = 3000, timeoutMs = 10_000 } = {}) {
  const signalled = new Set();
  const postmasters = new Set(workDirs.map(postmasterPid).filter((p) => p !== undefined));
  const start = Date.now();
  for (;;) {
    const found = findStackProcesses(tag, workDirs);
    if (found.length === 0) break;
    const late = Date.now() - start > graceMs;
    if (Date.now() - start > timeoutMs) break;
    for (const pid of found) {
      signal(pid, 'SIGCONT');
      const sig = postmasters.has(pid) && !late ? 'SIGQUIT' : 'SIGKILL';
      if (sig === 'SIGQUIT' && signalled.has(pid)) continue;
      if (signal(pid, sig)) signalled.add(pid);
    }
    await sleep(100);
  }
  return [...signalled];
}

/** Removes the work dirs, the state file and the CLI's unfinished writes of it (`<file>.<pid>.tmp`). */
export function removeStackFiles({ workDirs, stateFile, cliPid }) {
  for (const d of workDirs) rmSync(d, { recursive: true, force: true });
  if (!stateFile) return;
  rmSync(stateFile, { force: true });
  const dir = path.dirname(stateFile);
  const prefix = `${path.basename(stateFile)}.`;
  let names = [];
  try {
    names = readdirSync(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (
      n.startsWith(prefix) &&
      n.endsWith('.tmp') &&
      (cliPid === undefined || n === `${prefix}${cliPid}.tmp`)
    )
      rmSync(path.join(dir, n), { force: true });
  }
}

/** The watchdog process: waits for the CLI's end of fd 3 to close, then takes the stack down. */
async function watch() {
  const cfg = JSON.parse(process.env[WATCHDOG_VAR] ?? '{}');
  const workDirs = [cfg.workDir].filter(Boolean);
  let done = false;
  let received = '';
  const pipe = new net.Socket({ fd: 3, readable: true, writable: false });
  const reap = async (why) => {
    if (done) return;
    done = true;
    const log = (m) => process.stdout.write(`${new Date().toISOString()} watchdog: ${m}\n`);
    log(`the CLI (pid ${cfg.cliPid}) is gone (${why}): taking its stack down`);
    const pids = await stopStackProcesses(cfg.tag, workDirs);
    log(`stopped ${pids.length} process(es): ${pids.join(' ')}`);
    removeStackFiles({ workDirs, stateFile: cfg.stateFile, cliPid: cfg.cliPid });
    process.exit(0);
  };
  pipe.on('data', (d) => {
    received += d.toString();
    if (received.includes('disarm\n')) {
      done = true;
      process.exit(0);
    }
  });
  pipe.on('end', () => void reap('its pipe closed'));
  pipe.on('close', () => void reap('its pipe closed'));
  pipe.on('error', (e) => void reap(e.message));
  // Belt and braces: a CLI that lives on with the pipe lost (it never does) is seen by its pid.
  setInterval(() => {
    if (cfg.cliPid !== undefined && !signal(cfg.cliPid, 0)) void reap('its pid is gone');
  }, 2000);
}

if (process.argv[1] && import.meta.url === pathToFileURL(path.resolve(process.argv[1])).href) void watch();
