/**
 * `${NAME}` (or `${NAME:-default}`, as in compose files) in a scenario's scan.source.url, filled in
 * from the environment when the URL is used, so that credentials stay out of the scenario file.
 * Values go in as they are (percent-encode a password's `@`, `/`, `:` yourself). The values taken
 * from the environment are secrets of the run: it redacts them from everything it writes
 * (RunEvidence.secrets); a default written in the file is not one.
 */
import { UsageError } from '../errors.ts';

const VAR = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

export interface ExpandedUrl {
  url: string;
  /** The values taken from the environment (to redact wherever they might appear). */
  values: string[];
}

export function expandEnvVars(
  text: string,
  env: Readonly<Record<string, string | undefined>> = process.env,
  where = 'scan.source.url',
): ExpandedUrl {
  const values: string[] = [];
  const url = text.replace(VAR, (_m, name: string, fallback: string | undefined) => {
    const set = env[name];
    const value = set === undefined || (set === '' && fallback !== undefined) ? fallback : set;
    if (value === undefined) {
      throw new UsageError(`${where} names \${${name}}, which is not set in the environment`, {
        hint: `export ${name}=... before the run (the value is never written into a report)`,
      });
    }
    if (value === set) values.push(value);
    return value;
  });
  return { url, values };
}

/** The scan source's own URL, `${VAR}` filled in; undefined when it names none (or is a file). */
export function scanSourceUrl(
  source: { kind: string; url?: string | undefined },
  env: Readonly<Record<string, string | undefined>> = process.env,
): ExpandedUrl | undefined {
  return source.kind === 'jsonl' || source.url === undefined ? undefined : expandEnvVars(source.url, env);
}
