/** What the CLI prints with: colour decided once (NO_COLOR, FORCE_COLOR, TTY), streams passed in. */
import { Chalk, type ChalkInstance } from 'chalk';

export interface Output {
  out: (line: string) => void;
  err: (line: string) => void;
  color: ChalkInstance;
  isTTY: boolean;
}

export function makeOutput(
  stdout: NodeJS.WriteStream = process.stdout,
  stderr: NodeJS.WriteStream = process.stderr,
  env: NodeJS.ProcessEnv = process.env,
): Output {
  const isTTY = Boolean(stdout.isTTY);
  const forced = env.FORCE_COLOR !== undefined && env.FORCE_COLOR !== '0';
  const useColor =
    forced || (isTTY && (env.NO_COLOR === undefined || env.NO_COLOR === '') && env.TERM !== 'dumb');
  return {
    out: (line) => stdout.write(`${line}\n`),
    err: (line) => stderr.write(`${line}\n`),
    color: new Chalk({ level: useColor ? 1 : 0 }),
    isTTY,
  };
}
