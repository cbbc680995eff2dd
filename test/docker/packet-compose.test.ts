/**
 * Packet faults on the compose runtime, for real: 30% loss and then 5% corruption on the
 * interface of the reference stack's postgres container (entered from the host with nsenter by
 * the container's pid), through the real run. The faults' counters and PostgreSQL's own TCP
 * retransmissions show that they hit; the correct service passes with nothing missing; nothing
 * (nft table, qdisc, offload change) is left in the container's namespace or the host's after the
 * heals; and a run killed mid-fault (SIGKILL) leaves its table journaled for `auditchaos down`,
 * which removes it, while Ctrl-C heals it at once.
 *
 * Needs root, a local Docker engine and nftables/iproute2/ethtool/nsenter; with
 * AUDITCHAOS_REQUIRE_DOCKER=1 (CI) it fails where these are missing.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../../src/report/model.ts';
import { readScenarioFile } from '../../src/scenario/read.ts';
import { projectName } from '../../src/stack/compose/compose-cli.ts';
import { DEFAULT_COMPOSE_FILE } from '../../src/stack/compose/compose-stack.ts';
import { DockerEngine } from '../../src/stack/compose/docker-engine.ts';
import { freePort } from '../../src/stack/local/free-port.ts';
import { linkNames } from '../../src/stack/netns/veth-link.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { runOnCompose } from '../helpers/compose-run.ts';
import { expectLossAndCorruption } from '../helpers/packet-effects.ts';

const probe = await new DockerEngine().probe(5000);
const required = process.env.AUDITCHAOS_REQUIRE_DOCKER === '1';
const skip = !probe.ok && !required;
const work = await mkdtemp(path.join(tmpdir(), 'auditchaos-packet-compose-'));
const stateDirs: string[] = [];
afterAll(async () => {
  for (const d of stateDirs) await runCli(['down', '--all'], { env: { AUDITCHAOS_STATE_DIR: d } });
  await rm(work, { recursive: true, force: true });
});

const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' });

/** The nft tables of a run (acpk_<8 hex>_...) in the host's namespace, and its probe namespace. */
function hostLeftovers(runId: string): string[] {
  const ns = linkNames(runId).netns;
  const table = ns.replace(/-/g, '_');
  return [
    ...sh('nft list tables')
      .split('\n')
      .filter((l) => l.includes(` ${table}`)),
    ...sh('ip netns list')
      .split('\n')
      .filter((l) => l.startsWith(ns)),
  ];
}

/**
 * What a packet fault may leave in a container's namespace: nft tables of ours (Docker keeps a
 * `table ip nat` of its own there, for its DNS), a netem qdisc, tx checksum offload off.
 */
function containerLeftovers(pid: number): string[] {
  const at = (cmd: string) => sh(`nsenter -t ${pid} -n -- ${cmd}`);
  const out = at('nft list tables')
    .split('\n')
    .filter((l) => l.includes(' acpk_'));
  out.push(
    ...at('tc qdisc show')
      .split('\n')
      .filter((l) => /netem/.test(l)),
  );
  if (!/^tx-checksumming:\s*on/m.test(at('ethtool -k eth0'))) out.push('tx checksum offload is off on eth0');
  return out;
}

async function scenarioFile(name: string, faults: string, seconds: number) {
  const dir = path.join(work, name);
  const state = path.join(dir, 'state');
  stateDirs.push(state);
  const [api, db] = [await freePort(), await freePort()];
  const file = path.join(work, `${name}.yml`);
  await writeFile(
    file,
    `version: 1
name: ${name}
description: packet faults on the database link of the reference compose stack
seed: 7
stack: { runtime: compose, compose: ${DEFAULT_COMPOSE_FILE} }
proxies:
  - { name: api, listen: 127.0.0.1:${api}, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:${db}, upstream: postgres:5432 }
workload:
  target: http://127.0.0.1:${api}
  writers: 8
  rate: 100/s
  duration: ${seconds}s
  timeout: 3s
faults:
${faults}
expect: { missing: 0, availability: ">= 50%" }
report: { formats: [json] }
`,
  );
  return { file, dir, env: { AUDITCHAOS_STATE_DIR: state } };
}

async function stateFiles(env: Record<string, string>): Promise<string[]> {
  return (await readdir(env.AUDITCHAOS_STATE_DIR as string).catch(() => [] as string[])).filter((f) =>
    f.endsWith('.json'),
  );
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

describe.skipIf(skip)('packet faults on the compose runtime', () => {
  it('30% loss, then 5% corruption on the postgres container: counted, retransmitted, the correct service passes, nothing left', async () => {
    const s = await scenarioFile(
      'packet-compose',
      `  - { at: 1s, for: 4s, kind: packet, target: postgres, loss: 30% }
  - { at: 6s, for: 4s, kind: packet, target: postgres, corrupt: 5% }`,
      11,
    );
    const loaded = await readScenarioFile(s.file);
    /** The postgres container's namespace, looked at after the heals and before the stack goes down. */
    let inContainer: string[] | undefined;
    let pid = 0;
    const started = Date.now();
    const { outcome, stack } = await runOnCompose(loaded, {
      reportsRoot: path.join(s.dir, 'reports'),
      stateDir: s.env.AUDITCHAOS_STATE_DIR,
      composeFile: DEFAULT_COMPOSE_FILE,
      beforeDown: async (st) => {
        const engine = new DockerEngine();
        const pg = (await engine.containers(st.selector)).find((c) => c.service === 'postgres');
        if (pg) {
          pid = (await engine.process(pg.id)).pid;
          inContainer = containerLeftovers(pid);
        }
      },
    });
    const report: Report = outcome.report;
    const [loss, corrupt] = report.faults;
    console.log(
      `[packet-compose] ${Date.now() - started} ms; effects`,
      JSON.stringify(report.faults.map((f) => [f.id, f.effect])),
      'ops',
      JSON.stringify(report.ops),
      'latency',
      JSON.stringify(report.latency),
    );
    expect(report.verdict.status, JSON.stringify(report.verdict)).toBe('pass');
    expect(outcome.exitCode).toBe(0);
    expect(report.scan?.counts?.missing).toBe(0);
    expectLossAndCorruption(loss, corrupt);
    // Healed: nothing in the container's namespace (looked at while it still ran) or the host's.
    expect(pid).toBeGreaterThan(0);
    expect(inContainer).toEqual([]);
    expect(hostLeftovers(report.runId)).toEqual([]);
    if (!stack) throw new Error('the run built no stack');
    expect(await new DockerEngine().leftovers(stack.selector)).toEqual({
      containers: [],
      networks: [],
      volumes: [],
    });
    expect(await stateFiles(s.env)).toEqual([]);
  }, 300_000);

  it('Ctrl-C mid-fault: exit 130, nothing left; SIGKILL mid-fault: journaled, `auditchaos down` removes it', async () => {
    const [a, b] = [
      await scenarioFile(
        'packet-int',
        '  - { at: 1s, for: 20s, kind: packet, target: postgres, loss: 20% }',
        25,
      ),
      await scenarioFile(
        'packet-kill',
        '  - { at: 1s, for: 20s, kind: packet, target: postgres, loss: 20% }',
        25,
      ),
    ];
    const start = (s: typeof a) => {
      const child = execa(process.execPath, [BIN, 'run', s.file, '--out', path.join(s.dir, 'out')], {
        env: { NO_COLOR: '1', ...s.env },
        reject: false,
        timeout: 240_000,
        all: true,
      });
      let text = '';
      const runId = new Promise<string>((resolve, reject) => {
        child.all?.on('data', (d: Buffer) => {
          text += d.toString();
          const m = /: run (\S+), seed/.exec(text);
          if (m) resolve(m[1] as string);
        });
        child.then((r) => reject(new Error(`run ended early (exit ${r.exitCode}):\n${text}`)), reject);
      });
      return { child, runId, text: () => text };
    };
    const midFault = async (run: ReturnType<typeof start>, signal: NodeJS.Signals) => {
      const runId = await run.runId;
      const table = ` ${linkNames(runId).netns.replace(/-/g, '_')}_f1`;
      expect(await waitFor(() => sh('nft list tables').includes(table), 180_000), run.text()).toBe(true);
      run.child.kill(signal);
      return runId;
    };
    const ra = start(a);
    const rb = start(b);
    const [idA, idB] = await Promise.all([midFault(ra, 'SIGINT'), midFault(rb, 'SIGKILL')]);
    const [outA] = await Promise.all([ra.child, rb.child]);
    expect(outA.exitCode, String(outA.all).slice(-1500)).toBe(130);
    expect(hostLeftovers(idA)).toEqual([]);
    expect(await stateFiles(a.env)).toEqual([]);

    expect(hostLeftovers(idB).length).toBeGreaterThan(0);
    const net = await stateFiles(b.env);
    expect(
      net.some((f) => f.endsWith('.net.json')),
      net.join(', '),
    ).toBe(true);
    const down = await runCli(['down'], { env: b.env, timeout: 120_000 });
    console.log('[packet-compose] down:', down.stdout.trim().split('\n').slice(-6).join(' | '));
    expect(down.exitCode, down.stdout + down.stderr).toBe(0);
    expect(hostLeftovers(idB)).toEqual([]);
    expect(await stateFiles(b.env)).toEqual([]);
    const engine = new DockerEngine();
    for (const id of [idA, idB])
      expect((await engine.leftovers({ runId: id, project: projectName(id) })).containers).toEqual([]);
  }, 400_000);
});

describe.skipIf(skip)('packet faults on a scaled service', () => {
  it("replicas: 2, loss on auditlog: a table on each replica's link, counted, nothing left", async () => {
    const s = await scenarioFile(
      'packet-replicas',
      '  - { at: 1s, for: 5s, kind: packet, target: auditlog, loss: 30% }',
      8,
    );
    await writeFile(s.file, (await readFile(s.file, 'utf8')).replace('compose: ', 'replicas: 2, compose: '));
    const child = execa(process.execPath, [BIN, 'run', s.file, '--out', path.join(s.dir, 'out')], {
      env: { NO_COLOR: '1', ...s.env },
      reject: false,
      timeout: 240_000,
      all: true,
    });
    let seen: string[] = [];
    const watch = (async () => {
      while (child.exitCode === null) {
        const t = sh('nft list tables')
          .split('\n')
          .filter((l) => /acpk_\w+_f1(_1)?$/.test(l));
        if (t.length > seen.length) seen = t;
        await new Promise((r) => setTimeout(r, 200));
      }
    })();
    const r = await child;
    await watch;
    const report = JSON.parse(await readFile(path.join(s.dir, 'out', 'report.json'), 'utf8')) as Report;
    const e = report.faults[0]?.effect;
    console.log('[packet-compose] replicas: tables', JSON.stringify(seen), 'effect', JSON.stringify(e));
    expect(r.exitCode, String(r.all).slice(-2000)).toBe(0);
    expect(report.verdict.status).toBe('pass');
    expect(seen.map((l) => l.replace(/.*_f1/, '_f1')).sort()).toEqual(['_f1', '_f1_1']);
    if (!e || e === 'unknown' || !('packets' in e)) throw new Error(`effect: ${JSON.stringify(e)}`);
    expect(e.acted.dropped).toBeGreaterThan(0);
    expect(hostLeftovers(report.runId)).toEqual([]);
    expect(await stateFiles(s.env)).toEqual([]);
  }, 300_000);
});

it.skipIf(skip)('the setup can run them (root, nft, tc, ethtool, nsenter)', () => {
  expect(process.getuid?.()).toBe(0);
  for (const cmd of ['nft', 'tc', 'ethtool', 'nsenter', 'ip']) expect(sh(`command -v ${cmd}`)).toMatch(cmd);
});
