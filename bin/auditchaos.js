#!/usr/bin/env node
// Runs the TypeScript sources through tsx, so `npm ci` leaves a working CLI with no build step.
import { register } from 'tsx/esm/api';

register();
const { main } = await import('../src/cli/main.ts');
await main(process.argv);
// Exit here, with the code main decided. A natural exit first closes the signal handlers and then
// tears down (the TypeScript loader's thread among them): a SIGTERM in that window would end the
// process as killed by the signal instead of with the exit code its report states.
process.exit();
