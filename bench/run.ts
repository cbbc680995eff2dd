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
let failed = 0;
for (const f of files) {
  console.log(`\n## ${f.replace(/\.bench\.ts$/, '')}\n`);
  const r = await execa(process.execPath, ['--import', 'tsx', '--expose-gc', path.join(dir, f)], {
    stdio: 'inherit',
    reject: false,
  });
  if (r.exitCode !== 0) {
    failed++;
    console.log(`(${f} exited ${r.exitCode})`);
  }
}
process.exitCode = failed ? 1 : 0;
