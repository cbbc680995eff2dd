/**
 * `auditchaos down`: takes down what earlier runs left (kept stacks, crashed CLIs), found by state
 * files (processes, temp dirs) and by Docker labels (containers, networks, volumes). A run whose CLI
 * is still alive is left alone unless `all` is asked for.
 */
import { existsSync } from 'node:fs';
import { readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { Toxiproxy } from 'toxiproxy-node-client';
import { runShellCommand } from '../chaos/command-fault.ts';
import { DockerEngine } from './compose/docker-engine.ts';
import { overrideFileName } from './compose/override.ts';
import { parseWorkDirName, WORK_DIR_OWNER_FILE } from './local/work-dir.ts';
import { sweepNetCleanups } from './netns/cleanup.ts';
import { isAlive, listRunStates, type RunState, stateDir, sweepLocal, sweepStateTmpFiles } from './state.ts';

export interface SweepReport {
  runs: { runId: string; runtime: string; actions: string[] }[];
  skipped: { runId: string; why: string }[];
  /** Unfinished state writes (`<file>.<pid>.tmp`) of CLIs that died mid-write: removed. */
  tmpFiles: string[];
  docker?: { containers: string[]; networks: string[]; volumes: string[]; error?: string };
}

export async function sweepLeftovers(opts: {
  all?: boolean;
  runId?: string;
  env?: NodeJS.ProcessEnv;
  /** Where local work dirs are made (os.tmpdir()). */
  tmpDir?: string;
}): Promise<SweepReport> {
  const report: SweepReport = { runs: [], skipped: [], tmpFiles: [] };
  const dir = stateDir(opts.env);
  // Work dirs are listed before the state files: a run writes its state file before it makes its
  // work dir, so a dir seen here whose run is live has its state file in the listing below.
  const workDirs = await listWorkDirs(opts.tmpDir ?? tmpdir());
  // Pending heals first: a heal may need the stack it heals (another file of the same run).
  const states = (await listRunStates(dir)).sort(
    (a, b) => Number(Boolean(b.state.pendingHeals?.length)) - Number(Boolean(a.state.pendingHeals?.length)),
  );
  let dockerUsed = false;
  for (const { file, state } of states) {
    if (opts.runId && state.runId !== opts.runId) continue;
    const owned = state.cliPid !== process.pid && isAlive(state.cliPid) && !state.detached;
    if (owned && !opts.all && !opts.runId) {
      report.skipped.push({
        runId: state.runId,
        why: `its CLI (pid ${state.cliPid}) is still running; use --all to take it down anyway`,
      });
      continue;
    }
    const actions = await sweepOne(state);
    if (state.runtime === 'compose') dockerUsed = true;
    await rm(file, { force: true });
    report.runs.push({ runId: state.runId, runtime: state.runtime, actions });
  }
  const known = new Set(states.flatMap((s) => s.state.dirs));
  for (const w of workDirs) {
    if (known.has(w.dir) || (opts.runId && w.runId !== opts.runId)) continue;
    const actions = await sweepOrphanWorkDir(w, dir);
    if (actions) report.runs.push({ runId: w.runId, runtime: 'local', actions });
  }
  report.tmpFiles = await sweepStateTmpFiles(dir);
  if (opts.all || dockerUsed) {
    const engine = new DockerEngine(opts.env);
    const probe = await engine.probe(1500);
    if (probe.ok && opts.all) {
      try {
        report.docker = await engine.sweep({ all: true });
      } catch (e) {
        report.docker = { containers: [], networks: [], volumes: [], error: (e as Error).message };
      }
    }
  }
  return report;
}

async function listWorkDirs(root: string): Promise<{ dir: string; runId: string; cliPid: number }[]> {
  if (!existsSync(root)) return [];
  const out = [];
  for (const name of await readdir(root).catch(() => [] as string[])) {
    const parsed = parseWorkDirName(name);
    if (parsed) out.push({ dir: path.join(root, name), ...parsed });
  }
  return out;
}

/**
 * A local work dir no state file names: its CLI died before it wrote one, or the file was lost. Taken
 * down when its CLI is gone and it belongs to this state dir (its owner file says so; a dir of a run
 * kept under another AUDITCHAOS_STATE_DIR is not ours to take); undefined when left alone.
 */
async function sweepOrphanWorkDir(
  w: { dir: string; runId: string; cliPid: number },
  ourStateDir: string,
): Promise<string[] | undefined> {
  if (w.cliPid === process.pid || isAlive(w.cliPid)) return undefined;
  try {
    const owner = JSON.parse(await readFile(path.join(w.dir, WORK_DIR_OWNER_FILE), 'utf8')) as {
      stateFile?: string;
    };
    if (owner.stateFile && path.resolve(path.dirname(owner.stateFile)) !== path.resolve(ourStateDir))
      return undefined;
  } catch {
    // no owner file: the CLI died between making the dir and writing it; the dir is its alone
  }
  const { stopStackProcesses } = await import('./local/stack-reaper.mjs');
  const actions = [`found work dir ${w.dir} with no state file (its CLI, pid ${w.cliPid}, is gone)`];
  const pids = await stopStackProcesses(w.runId, [w.dir]);
  if (pids.length) actions.push(`stopped ${pids.length} process(es) of its stack: ${pids.join(' ')}`);
  await rm(w.dir, { recursive: true, force: true });
  actions.push(`removed ${w.dir}`);
  return actions;
}

/** Heals of `command` faults a dead run left active: run now, before anything else is taken down. */
async function runPendingHeals(state: RunState): Promise<string[]> {
  const actions: string[] = [];
  for (const h of state.pendingHeals ?? []) {
    const r = await runShellCommand(h.heal, { env: h.env, timeoutMs: h.timeoutMs, cwd: h.cwd });
    const ok = !r.timedOut && r.exitCode === 0 && r.error === undefined;
    actions.push(
      ok
        ? `healed fault ${h.faultId}: ran \`${h.heal}\``
        : `the heal of fault ${h.faultId} (\`${h.heal}\`) failed (${r.timedOut ? 'timed out' : (r.error ?? `exit code ${r.exitCode}`)}): heal it by hand`,
    );
  }
  return actions;
}

/** Proxies the external runtime created on the team's Toxiproxy: removed; theirs are never touched. */
async function removeCreatedProxies(state: RunState): Promise<string[]> {
  const actions: string[] = [];
  for (const p of state.createdProxies ?? []) {
    try {
      const tp = new Toxiproxy(p.toxiproxy);
      const all = await tp.getAll();
      const proxy = all[p.name];
      if (!proxy) continue;
      await proxy.remove();
      actions.push(`removed proxy ${p.name} from ${p.toxiproxy}`);
    } catch (e) {
      actions.push(`could not remove proxy ${p.name} from ${p.toxiproxy}: ${(e as Error).message}`);
    }
  }
  return actions;
}

async function sweepOne(state: RunState): Promise<string[]> {
  const actions = await runPendingHeals(state);
  actions.push(...(await removeCreatedProxies(state)));
  actions.push(...(await sweepLocal(state)));
  // After the processes: a namespace a process still holds would only be unlinked, not freed.
  actions.push(...(await sweepNetCleanups(state)));
  if (state.runtime === 'compose' && state.composeProject) {
    const engine = new DockerEngine();
    const probe = await engine.probe(1500);
    if (!probe.ok)
      return [
        ...actions,
        `could not reach Docker to remove project ${state.composeProject}: ${probe.reason}`,
      ];
    const r = await engine.sweep({ runId: state.runId, project: state.composeProject });
    actions.push(...r.containers.map((c) => `removed container ${c}`));
    actions.push(...r.networks.map((n) => `removed network ${n}`));
    actions.push(...r.volumes.map((v) => `removed volume ${v}`));
    // The override file its up() wrote (the run's own, known by its name; never the team's file).
    const override = overrideFileName(state.composeProject);
    for (const f of state.composeFiles ?? []) {
      if (path.basename(f) !== override || !existsSync(f)) continue;
      await rm(f, { force: true });
      actions.push(`removed ${f}`);
    }
  }
  return actions;
}
