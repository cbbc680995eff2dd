/**
 * `auditchaos down`: takes down what earlier runs left (kept stacks, crashed CLIs), found by state
 * files (processes, temp dirs) and by Docker labels (containers, networks, volumes). A run whose CLI
 * is still alive is left alone unless `all` is asked for.
 */
import { rm } from 'node:fs/promises';
import { Toxiproxy } from 'toxiproxy-node-client';
import { runShellCommand } from '../chaos/command-fault.ts';
import { DockerEngine } from './compose/docker-engine.ts';
import { isAlive, listRunStates, type RunState, stateDir, sweepLocal } from './state.ts';

export interface SweepReport {
  runs: { runId: string; runtime: string; actions: string[] }[];
  skipped: { runId: string; why: string }[];
  docker?: { containers: string[]; networks: string[]; volumes: string[]; error?: string };
}

export async function sweepLeftovers(opts: {
  all?: boolean;
  runId?: string;
  env?: NodeJS.ProcessEnv;
}): Promise<SweepReport> {
  const report: SweepReport = { runs: [], skipped: [] };
  // Pending heals first: a heal may need the stack it heals (another file of the same run).
  const states = (await listRunStates(stateDir(opts.env))).sort(
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
  }
  return actions;
}
