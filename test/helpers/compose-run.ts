import path from 'node:path';
import { runScenario } from '../../src/run/run-scenario.ts';
import type { LoadedScenario } from '../../src/scenario/read.ts';
import { ComposeStack } from '../../src/stack/compose/compose-stack.ts';

/**
 * Runs a scenario on the compose runtime, in process, with a quiet sink. `beforeDown` looks at the
 * stack once the run has healed its faults, before the stack goes down (what is left inside a
 * container can only be seen then).
 */
export async function runOnCompose(
  loaded: LoadedScenario,
  opts: {
    reportsRoot: string;
    stateDir?: string;
    /** Default: the scenario's stack.compose, resolved against its folder. */
    composeFile?: string;
    beforeDown?: (stack: ComposeStack) => Promise<void> | void;
  },
) {
  let stack: ComposeStack | undefined;
  const outcome = await runScenario({
    loaded,
    reportsRoot: opts.reportsRoot,
    signal: new AbortController().signal,
    sink: { handle: () => {}, close: () => {} },
    ports: {
      chooseRuntime: async () => ({ kind: 'compose', why: 'the test asks for compose' }),
      createStack: (_choice, o) => {
        const st = new ComposeStack({
          runId: o.runId,
          scenario: o.loaded.scenario,
          composeFile: opts.composeFile ?? path.resolve(o.loaded.dir, o.loaded.scenario.stack.compose),
          log: o.log,
          ...(opts.stateDir !== undefined ? { stateDir: opts.stateDir } : {}),
        });
        const { beforeDown } = opts;
        if (beforeDown) {
          const down = st.down.bind(st);
          st.down = async () => {
            await beforeDown(st);
            return down();
          };
        }
        stack = st;
        return st;
      },
    },
  });
  return { outcome, stack };
}
