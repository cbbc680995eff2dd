/** The composition root of runtimes: builds the Stack a run asked for. */
import { existsSync } from 'node:fs';
import path from 'node:path';
import type { LoadedScenario } from '../scenario/read.ts';
import type { RuntimeName } from '../scenario/vocabulary.ts';
import { gatherAutoFacts } from './auto-facts.ts';
import { detectCompose } from './compose/compose-cli.ts';
import { ComposeStack, DEFAULT_COMPOSE_FILE } from './compose/compose-stack.ts';
import { DockerEngine } from './compose/docker-engine.ts';
import { ExternalStack } from './external/external-stack.ts';
import { LocalStack } from './local/local-stack.ts';
import { type RuntimeChoice, type RuntimeSource, selectRuntime } from './select.ts';
import type { Stack } from './types.ts';

export async function chooseRuntime(
  requested: RuntimeName,
  env: NodeJS.ProcessEnv = process.env,
  source: RuntimeSource = 'scenario',
): Promise<RuntimeChoice> {
  return selectRuntime(
    requested,
    () =>
      gatherAutoFacts(new DockerEngine(env), {
        env,
        compose: async () => (await detectCompose(env)) !== undefined,
      }),
    source,
  );
}

export function createStack(
  choice: RuntimeChoice,
  opts: { runId: string; loaded: LoadedScenario; log: (line: string) => void },
): Stack {
  const { scenario } = opts.loaded;
  switch (choice.kind) {
    case 'local':
      return new LocalStack({ runId: opts.runId, scenario, log: opts.log });
    case 'external':
      return new ExternalStack({ runId: opts.runId, scenario, log: opts.log });
    case 'compose':
      return createComposeStack(opts);
  }
}

function createComposeStack(opts: {
  runId: string;
  loaded: LoadedScenario;
  log: (line: string) => void;
}): Stack {
  const { scenario, dir } = opts.loaded;
  const named = path.resolve(dir, scenario.stack.compose);
  // The default (../compose/stack.yml) is right for scenarios in scenarios/; elsewhere, the shipped file.
  const composeFile =
    existsSync(named) || scenario.stack.compose !== DEFAULT_SCENARIO_COMPOSE ? named : DEFAULT_COMPOSE_FILE;
  return new ComposeStack({ runId: opts.runId, scenario, composeFile, log: opts.log });
}

const DEFAULT_SCENARIO_COMPOSE = '../compose/stack.yml';
