/**
 * The code the scanner's worker threads run. Under tsx, a worker that registers the TypeScript
 * loader itself starts a loader thread of its own and transpiles its whole module graph on the
 * way: measured ~0.4 s for one worker and ~1 s for two on this project's two-core machine, the
 * time of verifying 100,000 entries. So the worker's graph (scan-worker.ts and what it imports) is
 * bundled by esbuild (the transpiler tsx itself runs on) into one script that a worker evaluates
 * directly; the bundle is kept in the temp directory with the size and mtime of each of its inputs,
 * and built again when one of them changed. When bundling fails (esbuild missing or broken), the
 * workers take the loader path, slower to start but the same code.
 */
import { createHash } from 'node:crypto';
import { readFileSync, renameSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

/**
 * The workers' entries (relative to this file): the JSONL block and range worker, the PostgreSQL
 * seq-range worker. Resolved when asked for, not on import: a worker's bundle may import this file
 * (the PostgreSQL worker's graph does), and a bundle has no import.meta.url.
 */
export const SCAN_WORKER = './scan-worker.ts';
export const PG_RANGE_WORKER = './sources/pg-range-worker.ts';

function entryPath(rel: string): string {
  return fileURLToPath(new URL(rel, import.meta.url));
}

const bundled = new Map<string, { code: string } | { error: string }>();

interface CachedBundle {
  entry: string;
  /** Every input of the bundle with its size and mtime when it was built. */
  inputs: Record<string, [number, number]>;
  code: string;
}

/** Where an entry's bundle is kept between processes (esbuild's own start costs ~0.1 s). */
function cacheFile(entry: string): string {
  const key = createHash('sha256').update(entry).digest('hex').slice(0, 16);
  return path.join(tmpdir(), `auditchaos-scan-worker-${key}.json`);
}

function stamp(file: string): [number, number] | undefined {
  try {
    const s = statSync(file);
    return [s.size, s.mtimeMs];
  } catch {
    return undefined;
  }
}

/** The cached bundle, when every input is as it was when it was built. */
function fromCache(entry: string): string | undefined {
  try {
    const c = JSON.parse(readFileSync(cacheFile(entry), 'utf8')) as CachedBundle;
    if (c.entry !== entry || typeof c.code !== 'string') return undefined;
    for (const [file, was] of Object.entries(c.inputs)) {
      const now = stamp(file);
      if (!now || now[0] !== was[0] || now[1] !== was[1]) return undefined;
    }
    return c.code;
  } catch {
    return undefined;
  }
}

function toCache(entry: string, code: string, inputs: string[]): void {
  const c: CachedBundle = { entry, inputs: {}, code };
  for (const rel of inputs) {
    const file = path.resolve(rel);
    const now = stamp(file);
    if (!now) return; // an input we cannot stat again: no cache
    c.inputs[file] = now;
  }
  try {
    const file = cacheFile(entry);
    const tmp = `${file}.${process.pid}.tmp`;
    writeFileSync(tmp, JSON.stringify(c));
    renameSync(tmp, file);
  } catch {
    // no cache: the next process bundles again
  }
}

/** A worker entry's code as one script (for `new Worker(code, { eval: true })`), or why not. */
export function bundledWorkerCode(rel = SCAN_WORKER): { code: string } | { error: string } {
  const entry = entryPath(rel);
  const done = bundled.get(entry);
  if (done) return done;
  const cached = fromCache(entry);
  if (cached !== undefined) {
    bundled.set(entry, { code: cached });
    return { code: cached };
  }
  try {
    const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    const out = esbuild.buildSync({
      entryPoints: [entry],
      bundle: true,
      platform: 'node',
      format: 'iife',
      target: 'node20',
      write: false,
      metafile: true,
      logLevel: 'silent',
      // pg's optional native binding, required only when asked for (pg.native)
      external: ['pg-native'],
    });
    const code = out.outputFiles[0]!.text;
    bundled.set(entry, { code });
    toCache(entry, code, Object.keys(out.metafile.inputs));
  } catch (e) {
    bundled.set(entry, { error: (e as Error).message });
  }
  return bundled.get(entry)!;
}

/** The loader path: the worker registers tsx, then imports its TypeScript entry. */
export function loaderBootCode(rel = SCAN_WORKER): string {
  // Node 20.20 applies neither the main thread's tsx hooks nor `--import tsx` in execArgv to a
  // worker (tried: "Unknown file extension .ts"): the worker registers tsx itself, through tsx's
  // ESM build (the CommonJS one fails to load its own parts in a worker under vitest).
  const api = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const url = pathToFileURL(entryPath(rel)).href;
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(url)}); });`;
}

/** The code a new worker of `rel` runs: the bundle, else the loader path. */
export function scanWorkerCode(rel = SCAN_WORKER): string {
  const b = bundledWorkerCode(rel);
  return 'code' in b ? b.code : loaderBootCode(rel);
}
