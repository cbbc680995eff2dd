/**
 * `auditchaos init`, the detection half: what a team's compose file says about its stack (which
 * service is the database, which the audit-log service, their ports and health checks), read
 * without running anything. Pure: a compose document in, a StackGuess out, with a note for every
 * guess so the starter scenario can say what was detected and what was assumed.
 */
import { parse } from 'yaml';
import { UsageError } from '../errors.ts';

export interface ServiceGuess {
  name: string;
  /** The port it listens on inside the compose network. */
  port?: number;
  /** Where that port came from ("expose", "ports", "environment PORT", ...). */
  portFrom?: string;
  /** HTTP health path read off the compose healthcheck, when it probes a URL. */
  healthPath?: string;
  /** The compose file has a healthcheck for it (whatever it runs). */
  hasHealthcheck: boolean;
  /** environment entries that name the database service's host:port (the line to re-point). */
  databaseRefs: string[];
  /** The port of `toxiproxy:PORT` when the service already reaches its database through it. */
  dbProxyPort?: number;
}

export interface DatabaseGuess {
  name: string;
  port: number;
  /** POSTGRES_DB / POSTGRES_USER as the compose file sets them (never the password). */
  db?: string;
  user?: string;
  /** The variable that holds the password in the compose file, to say where it is. */
  passwordVar?: string;
}

export interface StackGuess {
  service?: ServiceGuess;
  database?: DatabaseGuess;
  /** Other services faults may target (not a proxy). */
  others: string[];
  /** What was guessed rather than read, for the comments. */
  notes: string[];
}

type Doc = Record<string, unknown>;
const isObj = (v: unknown): v is Doc => v !== null && typeof v === 'object' && !Array.isArray(v);

function environment(svc: Doc): Record<string, string> {
  const env = svc.environment;
  const out: Record<string, string> = {};
  if (Array.isArray(env)) {
    for (const e of env) {
      if (typeof e !== 'string') continue;
      const i = e.indexOf('=');
      if (i > 0) out[e.slice(0, i)] = e.slice(i + 1);
      else out[e] = '';
    }
  } else if (isObj(env)) {
    for (const [k, v] of Object.entries(env)) out[k] = v === null || v === undefined ? '' : String(v);
  }
  return out;
}

/** The container port of a `ports:` entry ("8080", "127.0.0.1:80:8080/tcp", "${X:-1}:8080", long form). */
export function containerPort(entry: unknown): number | undefined {
  if (typeof entry === 'number') return entry;
  if (isObj(entry))
    return typeof entry.target === 'number' ? entry.target : Number(entry.target) || undefined;
  if (typeof entry !== 'string') return undefined;
  const noProto = entry.replace(/\/(tcp|udp)$/, '');
  // Variables may hold colons of their own (${A:-x}); drop them before splitting.
  const plain = noProto.replace(/\$\{[^}]*\}/g, 'X');
  const last = plain.split(':').pop() ?? '';
  const first = Number(last.split('-')[0]);
  return Number.isInteger(first) && first > 0 ? first : undefined;
}

function firstPort(svc: Doc): { port?: number; from?: string } {
  if (Array.isArray(svc.expose)) {
    const p = containerPort(String(svc.expose[0]));
    if (p) return { port: p, from: 'expose' };
  }
  if (Array.isArray(svc.ports) && svc.ports.length > 0) {
    const p = containerPort(svc.ports[0]);
    if (p) return { port: p, from: 'ports' };
  }
  const env = environment(svc);
  for (const k of ['PORT', 'LISTEN_PORT', 'HTTP_PORT', 'SERVER_PORT']) {
    const n = Number(env[k]);
    if (Number.isInteger(n) && n > 0) return { port: n, from: `environment ${k}` };
  }
  return {};
}

function healthcheckText(svc: Doc): string | undefined {
  const hc = svc.healthcheck;
  if (!isObj(hc) || hc.disable === true) return undefined;
  const t = hc.test;
  if (Array.isArray(t)) return t.filter((x) => x !== 'CMD' && x !== 'CMD-SHELL').join(' ');
  return typeof t === 'string' ? t : undefined;
}

function looksLikePostgres(name: string, svc: Doc): boolean {
  const image = typeof svc.image === 'string' ? svc.image : '';
  const env = environment(svc);
  return (
    /(^|\/)postgres(ql)?[:@]|(^|\/)postgres(ql)?$|postgis/.test(image) ||
    'POSTGRES_PASSWORD' in env ||
    'POSTGRES_DB' in env ||
    (/pg_isready/.test(healthcheckText(svc) ?? '') && !/https?:/.test(healthcheckText(svc) ?? '')) ||
    (image === '' && /^(postgres|pg|db|database)$/.test(name))
  );
}

function looksLikeToxiproxy(svc: Doc): boolean {
  const image = typeof svc.image === 'string' ? svc.image : '';
  return /toxiproxy/.test(image);
}

/** Reads a compose file's text; `file` is for messages. */
export function detectStack(
  text: string,
  file: string,
  choose: { service?: string; database?: string } = {},
): StackGuess {
  let doc: unknown;
  try {
    doc = parse(text, { maxAliasCount: 100 });
  } catch (e) {
    throw new UsageError(`${file} is not YAML: ${(e as Error).message.split('\n')[0]}`);
  }
  if (!isObj(doc) || !isObj(doc.services)) {
    throw new UsageError(`${file} has no \`services:\`: is it a compose file?`);
  }
  const services = doc.services as Record<string, unknown>;
  const names = Object.keys(services).filter((n) => isObj(services[n]));
  for (const [flag, n] of [
    ['--service', choose.service],
    ['--database', choose.database],
  ] as const) {
    if (n !== undefined && !names.includes(n)) {
      throw new UsageError(`${flag} ${n}: ${file} has no service of that name; it has ${names.join(', ')}`);
    }
  }
  const notes: string[] = [];
  const candidates = names.filter((n) => !looksLikeToxiproxy(services[n] as Doc));

  const dbName = choose.database ?? candidates.find((n) => looksLikePostgres(n, services[n] as Doc));
  let database: DatabaseGuess | undefined;
  if (dbName) {
    const svc = services[dbName] as Doc;
    const env = environment(svc);
    const pgPort = Number(env.PGPORT);
    database = {
      name: dbName,
      port: Number.isInteger(pgPort) && pgPort > 0 ? pgPort : 5432,
      ...(env.POSTGRES_DB ? { db: env.POSTGRES_DB } : {}),
      ...(env.POSTGRES_USER ? { user: env.POSTGRES_USER } : {}),
      ...('POSTGRES_PASSWORD' in env ? { passwordVar: 'POSTGRES_PASSWORD' } : {}),
    };
    if (!choose.database)
      notes.push(`${dbName} is taken for the database (a PostgreSQL image or POSTGRES_* settings)`);
  } else {
    notes.push('no PostgreSQL service found: name it with --database');
  }

  const rest = candidates.filter((n) => n !== dbName);
  const refsDb = (n: string) =>
    dbName
      ? Object.entries(environment(services[n] as Doc))
          .filter(([, v]) => new RegExp(`(^|[@/:])${dbName}(:\\d+)?([/?]|$)`).test(v) || v === dbName)
          .map(([k]) => k)
      : [];
  const serviceName =
    choose.service ??
    rest.find((n) => refsDb(n).length > 0) ??
    rest.find((n) => firstPort(services[n] as Doc).port !== undefined) ??
    rest[0];
  let service: ServiceGuess | undefined;
  if (serviceName) {
    const svc = services[serviceName] as Doc;
    const { port, from } = firstPort(svc);
    const hc = healthcheckText(svc);
    const url = hc?.match(/https?:\/\/[^\s/'"]+(\/[^\s'"|;&]*)?/);
    const viaProxy = Object.values(environment(svc))
      .map((v) => /(?:^|[@/])(?:\$\{[A-Z_]+:-)?toxiproxy:(\d+)/.exec(v)?.[1])
      .find((p) => p !== undefined);
    service = {
      name: serviceName,
      ...(port !== undefined ? { port, portFrom: from } : {}),
      ...(url ? { healthPath: url[1] || '/' } : {}),
      hasHealthcheck: hc !== undefined,
      databaseRefs: refsDb(serviceName),
      ...(viaProxy ? { dbProxyPort: Number(viaProxy) } : {}),
    };
    if (!choose.service) {
      notes.push(
        refsDb(serviceName).length > 0
          ? `${serviceName} is taken for the audit-log service (its environment names ${dbName})`
          : `${serviceName} is taken for the audit-log service (a guess: pick another with --service)`,
      );
    }
    if (port === undefined)
      notes.push(`no port found for ${serviceName}: 8080 is assumed; fix stack.services.${serviceName}.port`);
  } else {
    notes.push('no audit-log service found: name it with --service');
  }
  const others = rest.filter((n) => n !== serviceName);
  return { ...(service ? { service } : {}), ...(database ? { database } : {}), others, notes };
}
