/**
 * Compose runtime: time from `up()` to a healthy stack (goal: under 30 s with images present),
 * split into phases, plus a DB kill -> healthy-again cycle and `down()`. Uses the images the
 * environment names: `eval "$(scripts/offline-images.sh --env)"` first where no registry is
 * reachable. ROUNDS (default 3) sets how many cold starts are measured.
 */
import { parseScenario } from '../src/scenario/load.ts';
import { detectCompose } from '../src/stack/compose/compose-cli.ts';
import { ComposeStack, stackImages } from '../src/stack/compose/compose-stack.ts';
import { DockerEngine } from '../src/stack/compose/docker-engine.ts';
import { freePort } from '../src/stack/local/free-port.ts';

const GOAL_MS = 30_000;
const rounds = Number(process.env.ROUNDS ?? 3);

const engine = new DockerEngine();
const probe = await engine.probe();
const tool = await detectCompose();
if (!probe.ok || !tool) {
  console.log(`compose bench needs Docker and compose: ${probe.reason ?? 'compose is not installed'}`);
  process.exit(1);
}
const images = stackImages();
for (const key of ['postgres', 'toxiproxy', 'auditlog'] as const) {
  if (!(await engine.imagePresent(images[key]))) {
    console.log(
      `image ${images[key]} is not present: run \`eval "$(scripts/offline-images.sh --env)"\` first`,
    );
    process.exit(1);
  }
}
console.log(`Docker ${probe.version}, ${tool.command.join(' ')} ${tool.version}`);
console.log(`images: ${images.postgres}, ${images.toxiproxy}, ${images.auditlog}`);
console.log('');

interface Round {
  containers: number;
  postgres: number;
  proxies: number;
  healthy: number;
  total: number;
  killRecover: number;
  down: number;
}
const results: Round[] = [];
for (let i = 0; i < rounds; i++) {
  const scenario = parseScenario(
    `version: 1\nname: bench\ndescription: bench\nproxies:\n  - { name: api, listen: 127.0.0.1:${await freePort()}, upstream: auditlog:8080 }\n  - { name: db, listen: 127.0.0.1:${await freePort()}, upstream: postgres:5432 }\nworkload: { rate: 1/s, duration: 1s }\n`,
    'bench.yml',
  );
  const phases: Record<string, number> = {};
  const stack = new ComposeStack({
    runId: `bench-${process.pid}-${i}`,
    scenario,
    log: (line) => {
      const m =
        /compose: (containers started|postgres healthy|\d+ proxies created|healthy) after (\d+) ms/.exec(
          line,
        );
      if (m?.[1] && m[2]) phases[m[1].replace(/^\d+ /, '')] = Number(m[2]);
    },
  });
  try {
    const t0 = performance.now();
    await stack.up();
    const total = performance.now() - t0;
    const t1 = performance.now();
    await stack.dbFault('kill');
    await stack.dbRecover('kill');
    const killRecover = performance.now() - t1;
    const t2 = performance.now();
    await stack.down();
    results.push({
      containers: phases['containers started'] ?? Number.NaN,
      postgres: phases['postgres healthy'] ?? Number.NaN,
      proxies: phases['proxies created'] ?? Number.NaN,
      healthy: phases.healthy ?? Number.NaN,
      total,
      killRecover,
      down: performance.now() - t2,
    });
  } catch (e) {
    await stack.down().catch(() => undefined);
    throw e;
  }
}

const s = (ms: number) => `${(ms / 1000).toFixed(1)} s`.padStart(8);
console.log(
  'round  compose up -d  postgres healthy  proxies created  service healthy  up() total  db kill->healthy   down()',
);
results.forEach((r, i) => {
  console.log(
    `${String(i + 1).padStart(5)}  ${s(r.containers).padStart(13)}  ${s(r.postgres).padStart(16)}  ${s(r.proxies).padStart(15)}  ${s(r.healthy).padStart(15)}  ${s(r.total).padStart(10)}  ${s(r.killRecover).padStart(16)}  ${s(r.down).padStart(7)}`,
  );
});
const totals = results.map((r) => r.total).sort((a, b) => a - b);
const median = totals[Math.floor(totals.length / 2)] ?? Number.NaN;
const worst = totals[totals.length - 1] ?? Number.NaN;
console.log('');
console.log(
  `up -> healthy: median ${s(median).trim()}, worst ${s(worst).trim()}; goal < ${GOAL_MS / 1000} s: median/goal = ${(median / GOAL_MS).toFixed(2)}, worst/goal = ${(worst / GOAL_MS).toFixed(2)} -> ${worst < GOAL_MS ? 'met' : 'NOT met'}`,
);
