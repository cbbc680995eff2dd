/** Durations (`500ms`, `8s`, `2m`, `1m30s`, `1h`) and rates (`400/s`, `1200/m`): pure parsers. */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };
const DURATION_RE = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h))+$/;
const DURATION_PART_RE = /(\d+(?:\.\d+)?)(ms|s|m|h)/g;

export const DURATION_HINT = 'a duration such as 500ms, 8s, 2m, 1m30s or 1h';

/** Milliseconds, or undefined when the text is not a duration. A bare 0 is allowed. */
export function parseDuration(text: string): number | undefined {
  const t = text.trim();
  if (t === '0') return 0;
  if (!DURATION_RE.test(t)) return undefined;
  let total = 0;
  for (const m of t.matchAll(DURATION_PART_RE)) {
    total += Number(m[1]) * (UNIT_MS[m[2] as string] as number);
  }
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (ms === 0) return '0s';
  if (ms % 3_600_000 === 0) return `${ms / 3_600_000}h`;
  if (ms % 60_000 === 0) return `${ms / 60_000}m`;
  if (ms % 1000 === 0) return `${ms / 1000}s`;
  if (ms > 1000) return `${(ms / 1000).toFixed(3).replace(/0+$/, '')}s`;
  return `${ms}ms`;
}

const RATE_RE = /^(\d+(?:\.\d+)?)\s*\/\s*(ms|s|m|h)$/;
export const RATE_HINT = 'a rate such as 400/s or 1200/m';

/** Operations per second, or undefined when the text is not a rate. */
export function parseRate(text: string): number | undefined {
  const m = RATE_RE.exec(text.trim());
  if (!m) return undefined;
  return (Number(m[1]) * 1000) / (UNIT_MS[m[2] as string] as number);
}

export interface HostPort {
  host: string;
  port: number;
}
export const HOSTPORT_HINT = 'host:port, such as 127.0.0.1:18080, postgres:5432 or [::1]:5432';

export function parseHostPort(text: string): HostPort | undefined {
  const m = /^(\[[0-9a-fA-F:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$/.exec(text.trim());
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port > 65535) return undefined;
  const host = (m[1] as string).replace(/^\[|\]$/g, '');
  return { host, port };
}

/** `>= 70%`, `> 99.5%`, `< 500ms`: a comparison used by `expect` thresholds. */
export interface Comparison {
  op: '>=' | '>' | '<=' | '<' | '==';
  value: number;
  unit: '%' | 'ms' | '';
}
export function parseComparison(text: string): Comparison | undefined {
  const m = /^(>=|>|<=|<|==)?\s*(\d+(?:\.\d+)?)\s*(%|ms|s)?$/.exec(text.trim());
  if (!m) return undefined;
  const op = (m[1] ?? '>=') as Comparison['op'];
  let value = Number(m[2]);
  let unit = (m[3] ?? '') as Comparison['unit'] | 's';
  if (unit === 's') {
    value *= 1000;
    unit = 'ms';
  }
  return { op, value, unit };
}

export function compare(actual: number, c: Comparison): boolean {
  switch (c.op) {
    case '>=':
      return actual >= c.value;
    case '>':
      return actual > c.value;
    case '<=':
      return actual <= c.value;
    case '<':
      return actual < c.value;
    case '==':
      return actual === c.value;
  }
}
