#!/usr/bin/env node
// Runs the TypeScript sources with no build step after `npm ci`: bundled on first use and kept
// (src/cli/load.mjs), or through tsx where the bundle cannot be had.
import { loadMain } from '../src/cli/load.mjs';

const main = await loadMain();
await main(process.argv);
// Exit here, with the code main decided. A natural exit first closes the signal handlers and then
// tears down (the TypeScript loader's thread among them): a SIGTERM in that window would end the
// process as killed by the signal instead of with the exit code its report states.
process.exit();
