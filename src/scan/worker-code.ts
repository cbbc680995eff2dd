/**
 * The code the scanner's worker threads run. Under tsx, a worker that registers the TypeScript
 * loader itself starts a loader thread of its own and transpiles its whole module graph on the
 * way: measured ~0.4 s for one worker and ~1 s for two on this project's two-core machine, the
 * time of verifying 100,000 entries. So the worker's graph (scan-worker.ts and what it imports) is
 * bundled once per process by esbuild (the transpiler tsx itself runs on) into one CommonJS
 * script that a worker evaluates directly. When bundling fails (esbuild missing or broken), the
 * workers take the loader path, slower to start but the same code.
 */
import { createRequire } from 'node:module';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ENTRY = fileURLToPath(new URL('./scan-worker.ts', import.meta.url));

let bundled: { code: string } | { error: string } | undefined;

/** The workers' code as one script (for `new Worker(code, { eval: true })`), or why not. */
export function bundledWorkerCode(): { code: string } | { error: string } {
  if (bundled) return bundled;
  try {
    const esbuild = createRequire(import.meta.url)('esbuild') as typeof import('esbuild');
    const out = esbuild.buildSync({
      entryPoints: [ENTRY],
      bundle: true,
      platform: 'node',
      format: 'iife',
      target: 'node20',
      write: false,
      logLevel: 'silent',
    });
    bundled = { code: out.outputFiles[0]!.text };
  } catch (e) {
    bundled = { error: (e as Error).message };
  }
  return bundled;
}

/** The loader path: the worker registers tsx, then imports its TypeScript entry. */
export function loaderBootCode(): string {
  // Node 20.20 applies neither the main thread's tsx hooks nor `--import tsx` in execArgv to a
  // worker (tried: "Unknown file extension .ts"): the worker registers tsx itself, through tsx's
  // ESM build (the CommonJS one fails to load its own parts in a worker under vitest).
  const api = pathToFileURL(
    createRequire(import.meta.url)
      .resolve('tsx/esm/api')
      .replace(/\.cjs$/, '.mjs'),
  ).href;
  const entry = pathToFileURL(ENTRY).href;
  return `import(${JSON.stringify(api)}).then((m) => { m.register(); return import(${JSON.stringify(entry)}); });`;
}

/** The code a new worker runs: the bundle, else the loader path. */
export function scanWorkerCode(): string {
  const b = bundledWorkerCode();
  return 'code' in b ? b.code : loaderBootCode();
}
