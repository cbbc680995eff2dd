import type { Report } from './model.ts';
import { redactDeep, redactSecrets } from './redact.ts';

export interface RenderOptions {
  /** Values to redact wherever they appear (signing key, passwords from the environment). */
  secrets?: readonly string[];
}

/** report.json: the Report itself, redacted, 2-space indented. */
export function renderJson(report: Report, opts: RenderOptions = {}): string {
  return `${redactSecrets(JSON.stringify(redactDeep(report, opts.secrets), null, 2), opts.secrets)}\n`;
}
