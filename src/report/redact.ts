/**
 * Nothing secret leaves a run: every report file, log and terminal line goes through here.
 * Patterns catch what is secret by shape (URL passwords, Authorization headers, tokens, PEM
 * private keys); `extraSecrets` catches values known to be secret (a signing key, a password
 * from the environment) wherever they appear, including JSON-escaped.
 */

export const REDACTED = '***';

const PATTERNS: [RegExp, string | ((...m: string[]) => string)][] = [
  // PEM private keys, raw or inside a JSON string (newlines escaped as \n).
  [/-----BEGIN ([A-Z0-9 ]*)PRIVATE KEY-----[\s\S]*?-----END \1PRIVATE KEY-----/g, '[redacted private key]'],
  // user:password@ in any URL (postgres://, http://, amqp://, ...).
  [/\b([a-z][a-z0-9+.-]*:\/\/[^\s:/?#@"'<>]*:)([^\s@/"'<>]+)@/gi, `$1${REDACTED}@`],
  // Authorization-like headers, in "Name: value", JSON and YAML forms.
  [
    /\b((?:proxy-)?authorization|x-api-key|x-auth-token|api-key|cookie|set-cookie)(["']?\s*[:=]\s*["']?)(?:(bearer|basic|token|digest)\s+)?[^\s"'\r\n,}&<]+/gi,
    (_m, name, sep, scheme) => `${name}${sep}${scheme ? `${scheme} ` : ''}${REDACTED}`,
  ],
  // A bearer token anywhere else.
  [/\b(bearer)\s+[A-Za-z0-9._~+/=-]{8,}/gi, `$1 ${REDACTED}`],
  // password=..., token: ..., secret=... in connection strings, env lines, JSON and YAML.
  [
    /\b([a-z_]*(?:password|passwd|pwd|secret|token|api[_-]?key|access[_-]?key|private[_-]?key|signing[_-]?key)[a-z_]*)(["']?\s*[:=]\s*["']?)(?!\*\*\*)([^\s"'&;,}<]+)/gi,
    (_m, name, sep) => `${name}${sep}${REDACTED}`,
  ],
];

/** Redacts secrets by shape, and every occurrence of the given secret values. */
export function redactSecrets(text: string, extraSecrets: readonly string[] = []): string {
  let out = text;
  for (const secret of extraSecrets) {
    if (secret.length < 4) continue; // too short to replace without wrecking the text
    for (const form of new Set([secret, JSON.stringify(secret).slice(1, -1), encodeURIComponent(secret)])) {
      out = out.split(form).join(REDACTED);
    }
  }
  for (const [re, replacement] of PATTERNS) {
    out = out.replace(re, replacement as string);
  }
  return out;
}

const SECRET_KEY =
  /password|passwd|secret|token|authorization|api[_-]?key|private[_-]?key|signing[_-]?key|cookie/i;

/** Deep copy with every string redacted, and values under secret-looking keys replaced. */
export function redactDeep<T>(value: T, extraSecrets: readonly string[] = []): T {
  const walk = (v: unknown, key?: string): unknown => {
    if (typeof v === 'string') {
      if (key !== undefined && SECRET_KEY.test(key) && !/public/i.test(key)) return REDACTED;
      return redactSecrets(v, extraSecrets);
    }
    if (Array.isArray(v)) return v.map((x) => walk(x));
    if (v !== null && typeof v === 'object') {
      return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, walk(x, k)]));
    }
    return v;
  };
  return walk(value) as T;
}

/** A redactor bound to a run's secrets, for streams of lines (history, stack logs, terminal). */
export function createRedactor(extraSecrets: readonly string[] = []): (text: string) => string {
  return (text) => redactSecrets(text, extraSecrets);
}
