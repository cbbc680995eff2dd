/**
 * Packet faults on the local runtime, for real: PostgreSQL in a network namespace of the run's own,
 * 30% loss and then 5% corruption on its link, through the real CLI. The faults' counters and the
 * database's own TCP retransmissions show that they hit; the correct service passes; and nothing
 * (namespace, veth, nft table, qdisc, state file) is left after the run, after Ctrl-C, and after a
 * SIGKILLed run once `auditchaos down` ran.
 *
 * Needs root and iproute2, nftables, ethtool (Debian packages; .ci/run installs them). Skipped, with
 * the reason, only where those are absent and CI is not set; in CI it fails instead.
 */
import { execFileSync } from 'node:child_process';
import { mkdtemp, readdir, readFile, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { EnvironmentError } from '../../src/errors.ts';
import type { Report } from '../../src/report/model.ts';
import { readScenarioFile } from '../../src/scenario/read.ts';
import { freePort } from '../../src/stack/local/free-port.ts';
import { LocalStack } from '../../src/stack/local/local-stack.ts';
import { netExec } from '../../src/stack/netns/net-exec.ts';
import { probeNetem } from '../../src/stack/netns/packet-backend.ts';
import { linkNames } from '../../src/stack/netns/veth-link.ts';
import { BIN, runCli } from '../helpers/cli.ts';
import { expectLossAndCorruption } from '../helpers/packet-effects.ts';

function missingCapability(): string | undefined {
  if (process.platform !== 'linux') return 'not Linux';
  if (process.getuid?.() !== 0) return 'not root (network namespaces need CAP_NET_ADMIN and CAP_SYS_ADMIN)';
  for (const cmd of ['ip', 'nft', 'ethtool', 'nsenter', 'tc']) {
    try {
      execFileSync('sh', ['-c', `command -v ${cmd}`], { stdio: 'ignore' });
    } catch {
      return `${cmd} is not installed (apt-get install iproute2 nftables ethtool util-linux)`;
    }
  }
  return undefined;
}

const missing = missingCapability();
const required = process.env.CI === 'true' || process.env.AUDITCHAOS_REQUIRE_NETNS === '1';
if (missing && !required) console.log(`[packet-local] skipped: ${missing}`);

const sh = (cmd: string) => execFileSync('sh', ['-c', cmd], { encoding: 'utf8' });

/** The namespaces, links, nft tables and netem qdiscs on this host now: of one run, or every acpk- one. */
function leftovers(runId?: string): string[] {
  const ns = runId ? linkNames(runId).netns : 'acpk-';
  const table = ns.replace(/-/g, '_');
  const out: string[] = [];
  out.push(
    ...sh('ip netns list')
      .split('\n')
      .filter((l) => l.startsWith(ns)),
  );
  out.push(
    ...sh('ip -br link')
      .split('\n')
      .filter((l) => l.startsWith(ns)),
  );
  out.push(
    ...sh('nft list tables')
      .split('\n')
      .filter((l) => l.includes(` ${table}`)),
  );
  if (!runId)
    out.push(
      ...sh('tc qdisc show')
        .split('\n')
        .filter((l) => /netem/.test(l)),
    );
  return out;
}

const stateDirs: string[] = [];
afterAll(async () => {
  // Whatever a failed test left: swept the way a user would.
  for (const d of stateDirs) await runCli(['down', '--all'], { env: { AUDITCHAOS_STATE_DIR: d } });
});

async function scenario(
  faults: string,
  seconds: number,
): Promise<{ file: string; dir: string; env: Record<string, string> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'acpk-test-'));
  const state = path.join(dir, 'state');
  stateDirs.push(state);
  const [api, db] = [await freePort(), await freePort()];
  const file = path.join(dir, 'packet.yml');
  await writeFile(
    file,
    `version: 1
name: packet-local
description: packet faults on the database link of the local runtime
seed: 7
stack: { runtime: local }
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
expect: { availability: ">= 50%" }
report: { formats: [json] }
`,
  );
  return { file, dir, env: { AUDITCHAOS_STATE_DIR: state } };
}

async function stateFiles(env: Record<string, string>): Promise<string[]> {
  return (await readdir(env.AUDITCHAOS_STATE_DIR as string).catch(() => [])).filter((f) =>
    f.endsWith('.json'),
  );
}

async function waitFor(cond: () => boolean, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (Date.now() < end) {
    if (cond()) return true;
    await new Promise((r) => setTimeout(r, 100));
  }
  return false;
}

/** Starts `auditchaos run` and resolves its run id once it printed it. */
function startRun(file: string, out: string, env: Record<string, string>) {
  const child = execa(process.execPath, [BIN, 'run', file, '--out', out], {
    env: { NO_COLOR: '1', ...env },
    reject: false,
    timeout: 60_000,
    all: true,
  });
  let text = '';
  const runId = new Promise<string>((resolve) => {
    child.all?.on('data', (d: Buffer) => {
      text += d.toString();
      const m = /: run (\S+), seed/.exec(text);
      if (m) resolve(m[1] as string);
    });
  });
  return { child, runId };
}

/** Waits until the run's fault is in place (its nft table exists), then sends the signal. */
async function signalMidFault(run: ReturnType<typeof startRun>, signal: NodeJS.Signals): Promise<string> {
  const runId = await run.runId;
  const table = ` ${linkNames(runId).netns.replace(/-/g, '_')}_f1`;
  expect(await waitFor(() => sh('nft list tables').includes(table), 40_000)).toBe(true);
  run.child.kill(signal);
  return runId;
}

describe.skipIf(missing !== undefined && !required)('packet faults on the local runtime', () => {
  it('the machine can run them (root, iproute2, nftables, ethtool)', () => {
    expect(missing, `packet fault tests must run here: ${missing}`).toBeUndefined();
  });

  it('30% loss and 5% corruption on the database link: counted, retransmitted, the correct service passes, nothing left', async () => {
    const s = await scenario(
      `  - { at: 1s, for: 3s, kind: packet, target: postgres, loss: 30% }
  - { at: 4.5s, for: 3s, kind: packet, target: postgres, corrupt: 5% }`,
      8,
    );
    const r = await runCli(['run', s.file, '--out', path.join(s.dir, 'out')], {
      env: s.env,
      timeout: 90_000,
    });
    const report = JSON.parse(await readFile(path.join(s.dir, 'out', 'report.json'), 'utf8')) as Report;
    const [loss, corrupt] = report.faults;
    console.log('[packet-local] effects', JSON.stringify(report.faults.map((f) => [f.id, f.effect])));
    console.log('[packet-local] ops', JSON.stringify(report.ops), 'p99', report.latency?.p99);
    expect(r.exitCode, r.stdout.slice(-2000)).toBe(0);
    expect(report.verdict.status).toBe('pass');
    expectLossAndCorruption(loss, corrupt);
    expect(leftovers(report.runId)).toEqual([]);
    expect(await stateFiles(s.env)).toEqual([]);
  }, 90_000);

  it('Ctrl-C mid-fault: exit 130, nothing left; SIGKILL mid-fault: left in its state, `auditchaos down` removes it', async () => {
    // Two runs side by side (a stack start is most of each run's time).
    const [a, b] = [
      await scenario('  - { at: 1s, for: 6s, kind: packet, target: postgres, loss: 20%, corrupt: 2% }', 8),
      await scenario('  - { at: 1s, for: 6s, kind: packet, target: postgres, loss: 20% }', 8),
    ];
    const ra = startRun(a.file, path.join(a.dir, 'out'), a.env);
    const rb = startRun(b.file, path.join(b.dir, 'out'), b.env);
    const [idA, idB] = await Promise.all([signalMidFault(ra, 'SIGINT'), signalMidFault(rb, 'SIGKILL')]);
    const [outA] = await Promise.all([ra.child, rb.child]);
    expect(outA.exitCode, String(outA.all).slice(-1500)).toBe(130);
    expect(leftovers(idA)).toEqual([]);
    expect(await stateFiles(a.env)).toEqual([]);

    expect(leftovers(idB).length).toBeGreaterThan(0);
    const net = await stateFiles(b.env);
    expect(
      net.some((f) => f.endsWith('.net.json')),
      net.join(', '),
    ).toBe(true);
    const down = await runCli(['down'], { env: b.env });
    console.log('[packet-local] down:', down.stdout.trim().split('\n').slice(-4).join(' | '));
    expect(down.exitCode, down.stdout + down.stderr).toBe(0);
    expect(leftovers(idB)).toEqual([]);
    expect(await stateFiles(b.env)).toEqual([]);
  }, 90_000);

  it('delay on a kernel without sch_netem is an exit-3 error before anything starts; with netem it is allowed', async () => {
    const netem = await probeNetem(netExec, 'acpk-t-probe');
    const s = await scenario(
      '  - { at: 1s, for: 1s, kind: packet, target: postgres, delay: { time: 50ms } }',
      3,
    );
    const loaded = await readScenarioFile(s.file);
    const stack = new LocalStack({
      runId: 'acpk-delay-test',
      scenario: loaded.scenario,
      stateDir: s.env.AUDITCHAOS_STATE_DIR,
    });
    try {
      const up = stack.up();
      if (netem) await expect(up).resolves.toBeDefined();
      else {
        const e = await up.then(
          () => undefined,
          (x: unknown) => x,
        );
        expect(e).toBeInstanceOf(EnvironmentError);
        expect((e as EnvironmentError).exitCode).toBe(3);
        expect((e as Error).message).toMatch(/this kernel has no sch_netem: packet delay needs it/);
        expect(leftovers('acpk-delay-test')).toEqual([]);
      }
    } finally {
      await stack.down();
    }
    expect(leftovers('acpk-delay-test')).toEqual([]);
  }, 60_000);
});
