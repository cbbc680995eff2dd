/**
 * `npm run bench`: runs every bench/*.bench.ts in turn (or those named on the command line, e.g.
 * `npm run bench -- scan proxy`), each printing its own section. Ratios within one run are what
 * to compare: absolute numbers on a shared two-core machine are noisy.
 */
import { readdirSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';

const dir = import.meta.dirname;
const only = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((f) => f.endsWith('.bench.ts'))
  .filter((f) => only.length === 0 || only.some((o) => f.startsWith(o)))
  .sort();

console.log(
  `auditchaos benchmarks: node ${process.version}, ${cpus().length} cores (${cpus()[0]?.model ?? '?'}), ${Math.round(totalmem() / 2 ** 30)} GiB, ${new Date().toISOString()}`,
);
/**
 * The compose bench needs the stack's images. Where none are named, the offline build script
 * provides them (it builds what is missing; a no-op when they exist), as CI does.
 */
async function composeEnv(): Promise<Record<string, string>> {
  if (process.env.AUDITCHAOS_POSTGRES_IMAGE) return {};
  const r = await execa('bash', [path.join(dir, '../scripts/offline-images.sh'), '--env'], { reject: false });
  if (r.exitCode !== 0) return {};
  const env: Record<string, string> = {};
  for (const m of r.stdout.matchAll(/^export (\w+)=(\S+)$/gm))
    env[m[1] as string] = (m[2] as string).replace(/^'|'$/g, '');
  return env;
}

let failed = 0;
for (const f of files) {
  console.log(`\n## ${f.replace(/\.bench\.ts$/, '')}\n`);
  const env = f.startsWith('compose') ? await composeEnv() : {};
  const r = await execa(process.execPath, ['--import', 'tsx', '--expose-gc', path.join(dir, f)], {
    stdio: 'inherit',
    reject: false,
    env,
  });
  if (r.exitCode !== 0) {
    failed++;
    console.log(`(${f} exited ${r.exitCode})`);
  }
}
process.exitCode = failed ? 1 : 0;
