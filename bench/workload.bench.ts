/**
 * The workload driver alone against a trivial local HTTP server, compared in the same run with
 * autocannon against the same server (issue #7 goal: the driver issues >= 80% of autocannon's
 * requests/s). Each client runs in its own process pinned with taskset to 1 core (cpu 0; the
 * server then gets cpu 1) and to 2 cores (client and server share cpus 0-1), with the same
 * connection count and a body of the same size. Rounds alternate the two clients so that noise
 * from a shared machine falls on both.
 *
 * The driver runs open-model at 1.5x the rate autocannon just reached, so the writers (not the
 * arrival schedule) are the limit; its rate is ops sent / time until the last reply.
 *
 * This file is also its own child processes: `--serve` (the server) and `--client NAME` (one run).
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import path from 'node:path';
import { performance } from 'node:perf_hooks';

const ROOT = path.resolve(import.meta.dirname, '..');
const SELF = path.join(ROOT, 'bench/workload.bench.ts');
const CONNECTIONS = 16;
const SECONDS = Number(process.env.WORKLOAD_BENCH_SECONDS ?? 5);
const ROUNDS = Number(process.env.WORKLOAD_BENCH_ROUNDS ?? 2);
const PAYLOAD_BYTES = 256;

const arg = (name: string) => {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : undefined;
};

async function serve() {
  const { startToyServer } = await import('../test/helpers/toy-event-server.ts');
  const s = await startToyServer({ record: false });
  console.log(s.port);
  process.on('SIGTERM', () => void s.close().then(() => process.exit(0)));
}

async function sampleBody(): Promise<string> {
  const { planWorkload } = await import('../src/workload/index.ts');
  const { compileBodyTemplate } = await import('../src/workload/template.ts');
  const { workloadSpec } = await import('../test/unit/workload/spec.ts');
  const plan = planWorkload(
    workloadSpec({ rate: 1, duration: '1s', event: { payloadBytes: PAYLOAD_BYTES } }),
    1,
  );
  const op = plan.op(0);
  return compileBodyTemplate(undefined)({
    eventId: '0193a1b2-c3d4-7e5f-8a6b-7c8d9e0f1a2b',
    actor: op.actor,
    action: op.action,
    payload: op.payloadJson,
    n: '1',
    op: '0',
  });
}

async function client(name: string, url: string, rate: number) {
  if (name === 'autocannon') {
    const autocannon = (await import('autocannon')).default;
    const body = await sampleBody();
    const c0 = process.cpuUsage();
    const r = await autocannon({
      url: `${url}/events`,
      method: 'POST',
      connections: CONNECTIONS,
      pipelining: 1,
      duration: SECONDS,
      headers: { 'content-type': 'application/json' },
      body,
    });
    const c = process.cpuUsage(c0);
    const ok = r['2xx'];
    console.log(
      JSON.stringify({
        rps: ok / SECONDS,
        errors: r.errors + r.non2xx,
        p50: r.latency.p50,
        cpuUs: (c.user + c.system) / r.requests.total,
      }),
    );
    return;
  }
  const { runWorkload } = await import('../src/workload/index.ts');
  const { workloadSpec } = await import('../test/unit/workload/spec.ts');
  let sent = 0;
  let notOk = 0;
  let lastDone = 0;
  let cpu = { user: 0, system: 0 };
  const c0 = process.cpuUsage();
  const t0 = performance.now();
  const r = await runWorkload({
    spec: workloadSpec({
      rate,
      duration: `${SECONDS}s`,
      writers: CONNECTIONS,
      checkpoint: false,
      event: { payloadBytes: PAYLOAD_BYTES },
    }),
    target: url,
    seed: 1,
    clock: () => performance.now() - t0,
    drainMs: 0,
    keepOps: false,
    onOp: (op) => {
      if (op.attempts === 0) return;
      sent++;
      if (op.outcome !== 'ok') notOk++;
      if (op.completedAt > lastDone) {
        lastDone = op.completedAt;
        if ((sent & 63) === 0) cpu = process.cpuUsage(c0);
      }
    },
  });
  console.log(
    JSON.stringify({
      rps: sent / ((lastDone - r.startedAt) / 1000),
      errors: notOk,
      p50: r.latency.p50,
      notSent: r.counts.notSent,
      cpuUs: (cpu.user + cpu.system) / sent,
    }),
  );
}

function startServer(): Promise<{ child: ChildProcess; port: number }> {
  const child = spawn(process.execPath, ['--import', 'tsx', SELF, '--serve'], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((resolve, reject) => {
    child.stdout?.once('data', (c: Buffer) => resolve({ child, port: Number(c.toString().trim()) }));
    child.once('exit', (code) => reject(new Error(`server exited ${code}`)));
  });
}

interface Sample {
  rps: number;
  errors: number;
  p50: number;
  notSent?: number;
  /** Client process CPU time (user + system) per request, µs: less sensitive to a busy machine. */
  cpuUs: number;
}

function runClient(cpus: string, name: string, url: string, rate: number): Sample {
  const out = execFileSync(
    'taskset',
    [
      '-c',
      cpus,
      process.execPath,
      '--import',
      'tsx',
      SELF,
      '--client',
      name,
      '--url',
      url,
      '--rate',
      String(rate),
    ],
    { cwd: ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] },
  );
  return JSON.parse(out.trim().split('\n').at(-1) as string) as Sample;
}

async function main() {
  const { child, port } = await startServer();
  const url = `http://127.0.0.1:${port}`;
  const pid = String(child.pid);
  console.log(
    `${CONNECTIONS} connections, ${PAYLOAD_BYTES}-byte payloads (${(await sampleBody()).length}-byte bodies), ${SECONDS} s per run, ${ROUNDS} rounds per client, node:http server in its own process`,
  );
  console.log('');
  console.log('cores  client      round  requests/s  errors  p50 ms  client CPU µs/req');
  const summary: string[] = [];
  try {
    for (const [cores, clientCpus, serverCpus] of [
      [1, '0', '1'],
      [2, '0,1', '0,1'],
    ] as const) {
      execFileSync('taskset', ['-pc', serverCpus, pid], { stdio: 'ignore' });
      const ac: number[] = [];
      const dr: number[] = [];
      const acCpu: number[] = [];
      const drCpu: number[] = [];
      for (let round = 1; round <= ROUNDS; round++) {
        const a = runClient(clientCpus, 'autocannon', url, 0);
        ac.push(a.rps);
        acCpu.push(a.cpuUs);
        console.log(
          `${cores}      autocannon  ${round}      ${a.rps.toFixed(0).padStart(10)}  ${String(a.errors).padStart(6)}  ${a.p50.toFixed(2).padStart(6)}  ${a.cpuUs.toFixed(1).padStart(8)}`,
        );
        const d = runClient(clientCpus, 'driver', url, Math.max(1000, Math.round(a.rps * 1.5)));
        dr.push(d.rps);
        drCpu.push(d.cpuUs);
        console.log(
          `${cores}      driver      ${round}      ${d.rps.toFixed(0).padStart(10)}  ${String(d.errors).padStart(6)}  ${d.p50.toFixed(2).padStart(6)}  ${d.cpuUs.toFixed(1).padStart(8)}`,
        );
      }
      const mean = (xs: number[]) => xs.reduce((s, x) => s + x, 0) / xs.length;
      const ratio = mean(dr) / mean(ac);
      summary.push(
        `${cores} core${cores > 1 ? 's' : ''}: driver ${mean(dr).toFixed(0)} req/s vs autocannon ${mean(ac).toFixed(0)} req/s = ${(ratio * 100).toFixed(0)}% (goal >= 80%: ${ratio >= 0.8 ? 'met' : 'NOT met'}); CPU per request: driver ${mean(drCpu).toFixed(1)} µs vs autocannon ${mean(acCpu).toFixed(1)} µs (autocannon/driver = ${((mean(acCpu) / mean(drCpu)) * 100).toFixed(0)}%)`,
      );
    }
  } finally {
    child.kill('SIGTERM');
  }
  console.log('');
  for (const line of summary) console.log(line);
}

if (process.argv.includes('--serve')) await serve();
else if (process.argv.includes('--client')) {
  await client(arg('--client') as string, arg('--url') as string, Number(arg('--rate')));
} else await main();
