/**
 * Local runtime: time from up() to healthy (PostgreSQL from a cached template, the built-in proxy
 * and the service as processes), down(), and the quickstart's wall time through the real binary.
 * Goals: local up under 3 s; quickstart under 30 s.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { parseScenario } from '../src/scenario/load.ts';
import { LocalStack } from '../src/stack/local/local-stack.ts';

const ROUNDS = Number(process.env.LOCAL_BENCH_ROUNDS ?? 3);
const scenario = parseScenario(
  `version: 1
name: bench-local
description: local runtime bring-up benchmark
stack: { runtime: local }
proxies:
  - { name: api, listen: 127.0.0.1:24080, upstream: auditlog:8080 }
  - { name: db, listen: 127.0.0.1:24432, upstream: postgres:5432 }
workload: { rate: 1/s, duration: 1s }
`,
  'bench.yml',
);

const stateDir = await mkdtemp(path.join(tmpdir(), 'auditchaos-bench-state-'));
const ups: number[] = [];
console.log('round  up -> healthy   down()');
for (let i = 0; i < ROUNDS + 1; i++) {
  const stack = new LocalStack({ runId: `bench-${i}`, scenario, stateDir });
  const t0 = performance.now();
  await stack.up();
  const up = performance.now() - t0;
  const t1 = performance.now();
  await stack.down();
  const down = performance.now() - t1;
  // Round 0 builds the cached template cluster (initdb): reported, not counted.
  if (i > 0) ups.push(up);
  console.log(
    `${i === 0 ? 'warm' : String(i).padStart(4)}   ${(up / 1000).toFixed(2).padStart(10)} s   ${(down / 1000).toFixed(2)} s`,
  );
}
await rm(stateDir, { recursive: true, force: true });
ups.sort((a, b) => a - b);
const median = ups[Math.floor(ups.length / 2)] as number;
console.log(
  `local up -> healthy: median ${(median / 1000).toFixed(2)} s, worst ${((ups.at(-1) as number) / 1000).toFixed(2)} s; goal < 3 s: ${median < 3000 ? 'met' : 'NOT met'}`,
);

const reports = await mkdtemp(path.join(tmpdir(), 'auditchaos-bench-reports-'));
const t = performance.now();
const r = await execa(
  process.execPath,
  [
    path.resolve(import.meta.dirname, '../bin/auditchaos.js'),
    'run',
    'scenarios/quickstart.yml',
    '--quiet',
    '--reports-dir',
    reports,
  ],
  {
    cwd: path.resolve(import.meta.dirname, '..'),
    reject: false,
    env: { NO_COLOR: '1' },
  },
);
const wall = (performance.now() - t) / 1000;
console.log(
  `quickstart (10 s workload) wall time: ${wall.toFixed(1)} s, exit ${r.exitCode}; goal < 30 s: ${wall < 30 && r.exitCode === 0 ? 'met' : 'NOT met'}`,
);
await rm(reports, { recursive: true, force: true });
