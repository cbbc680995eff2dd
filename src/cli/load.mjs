/**
 * How bin/auditchaos.js loads the CLI. Plain JavaScript: it runs before any TypeScript loader.
 *
 * Through tsx, every start resolves and evaluates the sources through loader hooks: ~1 s and ~2.5 s
 * of CPU for `auditchaos scan --help` on this project's two-core machine, paid again by each child
 * process the CLI starts (`serve`, `proxy`). So the CLI is bundled by esbuild (the transpiler tsx
 * runs on) into ESM chunks, one per lazily loaded command, kept in node_modules/.cache/auditchaos-cli
 * with the size and mtime of each source file that went into it, and built again when one of them
 * changed. The bundle runs the same sources: each file's import.meta.url and import.meta.dirname
 * are its own path, so paths relative to a source file mean what they mean under tsx. When the
 * bundle cannot be built or kept (esbuild missing, a read-only install), the CLI runs through tsx.
 * AUDITCHAOS_NO_BUNDLE=1 forces the tsx path.
 */
import { createHash } from 'node:crypto';
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const ENTRY = path.join(ROOT, 'src/cli/main.ts');
const CACHE = path.join(ROOT, 'node_modules/.cache/auditchaos-cli');
const POINTER = path.join(CACHE, 'current.json');
/** Builds no process has pointed at for this long are removed (a long run may still load chunks). */
const STALE_MS = 24 * 3600_000;

function stamp(file) {
  try {
    const s = statSync(file);
    return [s.size, s.mtimeMs];
  } catch {
    return undefined;
  }
}

/** The current build's main chunk, when every input is as it was when it was built. */
function current(esbuildVersion) {
  try {
    const c = JSON.parse(readFileSync(POINTER, 'utf8'));
    if (c.entry !== ENTRY || c.esbuild !== esbuildVersion || c.node !== process.version) return undefined;
    for (const [file, was] of Object.entries(c.inputs)) {
      const now = stamp(file);
      if (!now || now[0] !== was[0] || now[1] !== was[1]) return undefined;
    }
    const main = path.join(CACHE, c.dir, 'main.js');
    return stamp(main) ? main : undefined;
  } catch {
    return undefined;
  }
}

/**
 * Gives each source file its own import.meta.url, dirname and filename in the bundle: esbuild's
 * define turns those expressions (not comments or strings) into names each file declares first.
 */
const META = { url: '__ownMetaUrl', dirname: '__ownMetaDirname', filename: '__ownMetaFilename' };
const ownImportMeta = {
  name: 'own-import-meta',
  setup(build) {
    build.onLoad({ filter: /[\\/]src[\\/].*\.(ts|mjs|js)$/ }, (args) => {
      const text = readFileSync(args.path, 'utf8');
      // On the first line, after a #! line if there is one, so line numbers stay those of the file.
      const cut = text.startsWith('#!') ? text.indexOf('\n') + 1 : 0;
      const names =
        `const ${META.url} = ${JSON.stringify(pathToFileURL(args.path).href)}, ` +
        `${META.dirname} = ${JSON.stringify(path.dirname(args.path))}, ${META.filename} = ${JSON.stringify(args.path)};`;
      return {
        contents: text.slice(0, cut) + names + text.slice(cut),
        loader: args.path.endsWith('.ts') ? 'ts' : 'js',
      };
    });
  },
};

async function buildAsync(esbuild) {
  mkdirSync(CACHE, { recursive: true });
  const tmp = path.join(CACHE, `tmp-${process.pid}-${Date.now()}`);
  const inputs = {};
  let dir;
  try {
    const out = await esbuild.build({
      entryPoints: { main: ENTRY },
      absWorkingDir: ROOT,
      bundle: true,
      splitting: true,
      format: 'esm',
      platform: 'node',
      target: 'node20',
      packages: 'external',
      outdir: tmp,
      metafile: true,
      logLevel: 'silent',
      plugins: [ownImportMeta],
      define: Object.fromEntries(Object.entries(META).map(([k, name]) => [`import.meta.${k}`, name])),
    });
    for (const rel of Object.keys(out.metafile.inputs)) {
      const file = path.resolve(ROOT, rel);
      const now = stamp(file);
      if (!now) throw new Error(`cannot stat ${file}`);
      inputs[file] = now;
    }
    // One folder per set of inputs: processes that built the same sources at once share it.
    dir = `b-${createHash('sha256').update(JSON.stringify(inputs)).digest('hex').slice(0, 16)}`;
    try {
      renameSync(tmp, path.join(CACHE, dir));
    } catch {
      // another process put the same build there
    }
  } finally {
    rmSync(tmp, { recursive: true, force: true }); // a failed build or the other process's copy
  }
  const pointer = { entry: ENTRY, esbuild: esbuild.version, node: process.version, dir, inputs };
  const ptmp = `${POINTER}.${process.pid}.tmp`;
  writeFileSync(ptmp, JSON.stringify(pointer));
  renameSync(ptmp, POINTER);
  prune(dir);
  return path.join(CACHE, dir, 'main.js');
}

function prune(keep) {
  try {
    for (const name of readdirSync(CACHE)) {
      if (name === keep || name === 'current.json') continue;
      const p = path.join(CACHE, name);
      const s = statSync(p);
      if (Date.now() - s.mtimeMs > STALE_MS) rmSync(p, { recursive: true, force: true });
    }
  } catch {
    // pruning is best effort
  }
}

/** The CLI's main(), from the bundle when it can be had, else through tsx. */
export async function loadMain() {
  if (process.env.AUDITCHAOS_NO_BUNDLE !== '1') {
    try {
      const esbuild = createRequire(import.meta.url)('esbuild');
      const main = current(esbuild.version) ?? (await buildAsync(esbuild));
      return (await import(pathToFileURL(main).href)).main;
    } catch {
      // no bundle: the tsx path below runs the same sources
    }
  }
  const { register } = await import('tsx/esm/api');
  register();
  globalThis[Symbol.for('auditchaos.tsx')] = true;
  return (await import('../cli/main.ts')).main;
}
