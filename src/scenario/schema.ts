/**
 * The scenario language. This zod schema is the single source of truth: validation, defaults,
 * the JSON Schema that `auditchaos schema` prints, and the TypeScript type of a parsed scenario.
 * Durations parse to milliseconds, rates to operations per second.
 */
import { z } from 'zod';
import { DEFAULT_VISIBILITY_MAX_MS } from '../scan/checks/visibility.ts';
import { packetOptionProblems, packetOptionsShape } from './packet-options.ts';
import {
  DURATION_HINT,
  formatDuration,
  HOSTPORT_HINT,
  parseComparison,
  parseDuration,
  parseHostPort,
  parseRate,
  RATE_HINT,
} from './units.ts';
import {
  DOWN_MODES,
  FLAW_MODES,
  REFERENCE_NAMES,
  RUNTIMES,
  SERVICE_ROLES,
  TOXIC_TYPES,
} from './vocabulary.ts';

const duration = z
  .union([z.string(), z.literal(0)])
  .transform((v, ctx) => {
    const ms = typeof v === 'number' ? v : parseDuration(v);
    if (ms === undefined) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not ${DURATION_HINT}` });
      return z.NEVER;
    }
    return ms;
  })
  .meta({ description: DURATION_HINT });

/** A signed duration: "-30s" steps a clock back, "+5m" (or "5m") forward. */
const signedDuration = z
  .string()
  .transform((v, ctx) => {
    const t = v.trim();
    const sign = t.startsWith('-') ? -1 : 1;
    const ms = parseDuration(t.replace(/^[-+]\s*/, ''));
    if (ms === undefined || ms === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `"${v}" is not a signed non-zero duration such as -30s or +5m`,
      });
      return z.NEVER;
    }
    return sign * ms;
  })
  .meta({ description: 'a signed duration such as -30s (backwards) or +5m (forwards)' });

/** A clock drift: a signed duration gained per second or minute of the window ("+50ms/s", "-2s/m"). */
const drift = z
  .string()
  .transform((v, ctx) => {
    const m = /^\s*([-+]?)\s*(.+?)\s*\/\s*(s|m)\s*$/.exec(v);
    const ms = m ? parseDuration(m[2] as string) : undefined;
    if (!m || ms === undefined || ms === 0) {
      ctx.addIssue({
        code: 'custom',
        message: `"${v}" is not a drift such as +50ms/s (the clock gains 50 ms each second) or -2s/m`,
      });
      return z.NEVER;
    }
    const perMs = m[3] === 's' ? 1000 : 60_000;
    if (ms >= perMs * 10) {
      ctx.addIssue({ code: 'custom', message: `"${v}" drifts more than ten times as fast as time passes` });
      return z.NEVER;
    }
    return ((m[1] === '-' ? -1 : 1) * ms) / perMs;
  })
  .meta({
    description:
      'a drift: the clock gains (+) or loses (-) this much per second or minute of the window, e.g. +50ms/s',
  });

/** One harness process cannot offer more than this; a higher rate would only hang the run. */
export const MAX_RATE_PER_SEC = 100_000;

const rate = z
  .union([z.string(), z.number().positive()])
  .transform((v, ctx) => {
    const perSec = typeof v === 'number' ? v : parseRate(v);
    if (perSec === undefined || perSec <= 0) {
      ctx.addIssue({ code: 'custom', message: `"${v}" is not ${RATE_HINT}` });
      return z.NEVER;
    }
    if (perSec > MAX_RATE_PER_SEC) {
      ctx.addIssue({ code: 'custom', message: `rate "${v}" is above the ceiling of ${MAX_RATE_PER_SEC}/s` });
      return z.NEVER;
    }
    return perSec;
  })
  .meta({ description: `${RATE_HINT} (operations per second when a number)` });

const hostPort = z
  .string()
  .refine((s) => parseHostPort(s) !== undefined, { message: `expected ${HOSTPORT_HINT}` })
  .meta({ description: HOSTPORT_HINT });

const comparison = z.string().refine((s) => parseComparison(s) !== undefined, {
  message: 'expected a comparison such as ">= 70%", "< 500ms" or "== 0"',
});

const httpUrl = z.url({ protocol: /^https?$/, error: 'expected an http:// or https:// URL' });

const DEFAULT_PROXIES = [
  { name: 'api', listen: '127.0.0.1:18080', upstream: 'auditlog:8080' },
  { name: 'db', listen: '127.0.0.1:15432', upstream: 'postgres:5432' },
];

const healthSpec = z.union([
  z.literal('compose').meta({ description: "the compose file's own healthcheck of the service" }),
  z.strictObject({
    path: z.string().startsWith('/').default('/health'),
    status: z.array(z.int().min(100).max(599)).min(1).optional().meta({
      description: 'statuses that mean healthy; any 2xx when absent',
    }),
  }),
]);

const serviceSpec = z.strictObject({
  role: z.enum(SERVICE_ROLES),
  port: z.int().min(1).max(65535).optional().meta({
    description: 'the port it listens on inside its network (service: 8080, database: 5432 when absent)',
  }),
  health: healthSpec.optional().meta({
    description: 'role service: its health check; default GET /health answering 2xx',
  }),
});

const direction = z.enum(['upstream', 'downstream', 'both']);

const proxy = z.strictObject({
  name: z.string().regex(/^[A-Za-z0-9_.-]+$/, 'a proxy name is letters, digits, _ . -'),
  listen: hostPort,
  upstream: hostPort,
  enabled: z.boolean().default(true),
});

/** When a fault strikes: `at` offset, `for` how long, optional repeats and seeded start jitter. */
const faultTiming = {
  at: duration,
  for: duration,
  every: duration.optional(),
  count: z.int().min(1).max(10_000).optional(),
  startJitter: duration.optional(),
};

const faultSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('latency'),
    ...faultTiming,
    proxy: z.string(),
    latency: duration,
    jitter: duration.default(0),
    direction: direction.default('both'),
    toxicity: z.number().min(0).max(1).default(1),
  }),
  z.strictObject({
    kind: z.literal('partition'),
    ...faultTiming,
    proxy: z.string(),
    direction: direction.default('both'),
    mode: z.enum(['blackhole', 'reset']).default('blackhole'),
  }),
  z.strictObject({
    kind: z.literal('bandwidth'),
    ...faultTiming,
    proxy: z.string(),
    rate: z.int().min(0).meta({ description: 'KB/s, as Toxiproxy' }),
    direction: direction.default('both'),
  }),
  z.strictObject({
    kind: z.literal('slow-close'),
    ...faultTiming,
    proxy: z.string(),
    delay: duration,
    direction: direction.default('both'),
  }),
  z.strictObject({
    kind: z.literal('db-down'),
    ...faultTiming,
    mode: z.enum(['stop', 'kill', 'pause', 'proxy']).default('kill'),
    proxy: z.string().default('db').meta({ description: 'the proxy cut when mode is proxy' }),
  }),
  z.strictObject({
    kind: z.literal('service-down'),
    ...faultTiming,
    mode: z.enum(['stop', 'kill']).default('kill'),
    replica: z.int().min(0).optional().meta({ description: 'which replica (0-based); all when absent' }),
  }),
  z.strictObject({
    kind: z.literal('down'),
    ...faultTiming,
    target: z.string().min(1).meta({
      description:
        'a service named in stack.services (or, without it, auditlog or postgres of the reference stack)',
    }),
    mode: z.enum(DOWN_MODES).default('kill').meta({
      description:
        'kill (SIGKILL), stop (graceful), pause (freeze: docker pause / SIGSTOP), restart (restarted at once; the window is its recovery)',
    }),
    replica: z
      .int()
      .min(0)
      .optional()
      .meta({ description: 'which replica of the service role (0-based); all when absent' }),
  }),
  z.strictObject({
    kind: z.literal('command'),
    ...faultTiming,
    start: z.string().min(1).meta({
      description:
        'shell command that starts the fault (kubectl delete pod ..., systemctl kill ..., docker kill ...)',
    }),
    heal: z.string().min(1).meta({
      description:
        'shell command that undoes it; run on every path (end of window, Ctrl-C, error), and by `auditchaos down` after a crash',
    }),
    timeout: duration
      .default(30_000)
      .meta({ description: 'each command is killed after this; a timeout is a fault error' }),
    env: z
      .record(z.string(), z.string())
      .default({})
      .meta({ description: 'extra environment variables both commands see' }),
  }),
  z
    .strictObject({
      kind: z.literal('clock'),
      ...faultTiming,
      target: z.string().min(1).meta({
        description:
          'whose clock moves: the audit-log service (auditlog on the reference stack) or the database (postgres), or a service named in stack.services; runs under libfaketime',
      }),
      offset: signedDuration.optional().meta({
        description:
          'the step for the window: -30s sets the clock 30 s back, +5m 5 min ahead; the heal steps it back to true time',
      }),
      drift: drift.optional().meta({
        description:
          'the clock runs fast (+) or slow (-) for the window, from the step (or true time) on, e.g. +50ms/s; the heal steps it back to true time',
      }),
    })
    .superRefine((f, ctx) => {
      if (f.offset === undefined && f.drift === undefined)
        ctx.addIssue({
          code: 'custom',
          path: ['offset'],
          message: 'a clock fault needs an offset (a step such as -30s), a drift (such as +50ms/s), or both',
        });
    }),
  z.strictObject({
    kind: z.literal('toxic'),
    ...faultTiming,
    proxy: z.string(),
    type: z.enum(TOXIC_TYPES),
    attributes: z.record(z.string(), z.number()).default({}),
    direction: direction.default('downstream'),
    toxicity: z.number().min(0).max(1).default(1),
  }),
  z
    .strictObject({ kind: z.literal('packet'), ...faultTiming, ...packetOptionsShape(duration) })
    .superRefine((f, ctx) => {
      for (const p of packetOptionProblems(f))
        ctx.addIssue({ code: 'custom', path: p.path === 'kind' ? [] : [p.path], message: p.message });
    }),
]);

const tamperExpect = z.enum(['refused', 'detected']).meta({
  description:
    'the least acceptable outcome: refused (nothing changed), or detected (changed, but the scan notices). Default: refused for api, detected for sql',
});

const tamperSchema = z.discriminatedUnion('via', [
  z.strictObject({
    via: z.literal('sql'),
    statement: z.string().min(1),
    name: z.string().optional(),
    expect: tamperExpect.optional(),
  }),
  z.strictObject({
    via: z.literal('api'),
    method: z.enum(['GET', 'POST', 'PUT', 'PATCH', 'DELETE']),
    path: z.string().startsWith('/'),
    body: z.unknown().optional(),
    name: z.string().optional(),
    expect: tamperExpect.optional(),
  }),
]);

const mappingSchema = z
  .strictObject({
    seq: z.string().default('seq'),
    eventId: z.string().default('event_id'),
    ts: z.string().default('ts'),
    actor: z.string().default('actor'),
    action: z.string().default('action'),
    payload: z.string().default('payload'),
    prevHash: z.string().default('prev_hash'),
    hash: z.string().default('hash'),
  })
  .meta({ description: 'which column or field holds each entry field' });

const chainSchema = z.strictObject({
  algorithm: z.enum(['sha256', 'sha384', 'sha512']).default('sha256'),
  fields: z
    .array(z.enum(['seq', 'eventId', 'ts', 'actor', 'action', 'payload']))
    .min(1)
    .default(['seq', 'eventId', 'ts', 'actor', 'action', 'payload']),
  genesis: z
    .string()
    .regex(/^[0-9a-f]*$/, 'lowercase hex')
    .optional()
    .meta({ description: 'prev_hash of the first entry; zeros of the digest length when absent' }),
  module: z.string().optional().meta({ description: 'a JS module exporting the hash recipe' }),
  // scan (issue 12): a declarative recipe over the stored text (docs/recipes.md)
  template: z.string().min(1).optional().meta({
    description:
      'hash input over the stored text of each mapped field, e.g. "{seq}|{eventId}|{actor}|{action}|{payload}"; "{{" is a brace',
  }),
  prev: z
    .enum(['bytes', 'hex'])
    .optional()
    .meta({ description: 'template: the previous hash enters as its bytes (default) or its hex text' }),
  order: z
    .enum(['prev-first', 'prev-last'])
    .optional()
    .meta({ description: 'template: H(prev || text) (default) or H(text || prev)' }),
  hmacKeyEnv: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
    .optional()
    .meta({
      description: 'template: HMAC with the key in this environment variable (never written anywhere)',
    }),
});

const scanSourceSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('postgres'),
    url: z.string().optional(),
    table: z.string().default('audit_log'),
    verify: z.enum(['client', 'database']).optional().meta({
      description:
        "who computes a template recipe's digests: client (default), or database (the PostgreSQL server; the client hashes only the rows whose stored hash is not the digest)",
    }),
  }),
  z.strictObject({ kind: z.literal('jsonl'), path: z.string() }),
  z.strictObject({ kind: z.literal('http'), url: httpUrl.optional(), path: z.string().default('/events') }),
]);

const countLimit = z.int().min(0);

const positiveDuration = (what: string) =>
  duration.refine((v) => v > 0, { message: `${what} must be more than 0 ms` });

/** The visibility reader (src/workload/visibility-reader.ts): follows acked events on the read path. */
const visibilitySchema = z
  .strictObject({
    sample: z.number().gt(0).max(1).default(0.1).meta({
      description: 'share of acknowledged events the reader follows (0..1; the last ack is always followed)',
    }),
    via: z.enum(['api', 'source']).default('api').meta({
      description:
        "api: GET the service's read endpoint (workload.visibility.path); source: query scan.source (postgres) by event id",
    }),
    path: z
      .string()
      .startsWith('/')
      .refine((p) => p.includes('{eventId}'), { message: 'the read path must contain {eventId}' })
      .default('/events/{eventId}')
      .meta({ description: 'via api: the read path; 200 means found, 404 not (yet) there' }),
    poll: positiveDuration('the poll interval').default(20),
    timeout: positiveDuration('the visibility timeout').default(30_000).meta({
      description: 'how long the reader follows one event before it leaves it to the final scan',
    }),
    concurrency: z
      .int()
      .min(1)
      .max(256)
      .default(16)
      .meta({ description: 'via api: reads in flight at most' }),
  })
  .meta({ description: 'follow acknowledged events on the read path and measure their visibility lag' });

export const scenarioSchema = z.strictObject({
  $schema: z.string().optional(),
  version: z.literal(1),
  name: z.string().regex(/^[a-z0-9][a-z0-9-]*$/, 'a scenario name is lowercase letters, digits and -'),
  description: z.string().min(1),
  seed: z.int().min(0).optional(),
  stack: z
    .strictObject({
      runtime: z.enum(RUNTIMES).default('auto'),
      compose: z.string().default('../compose/stack.yml'),
      flaws: z.array(z.enum(FLAW_MODES)).default([]),
      replicas: z.int().min(1).max(8).default(1),
      postgres: z.enum(['embedded', 'system']).default('embedded'),
      services: z
        .record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'a compose service name'), serviceSpec)
        .optional()
        .meta({
          description:
            'the stack as it is: which compose service is the audit-log service (role service, exactly one), which is the database (at most one), and others faults may target. Absent: the reference stack (auditlog, postgres)',
        }),
      external: z
        .strictObject({
          toxiproxy: httpUrl,
          service: httpUrl,
          database: z.string().startsWith('postgres', 'expected a postgres:// URL').optional(),
          health: z
            .strictObject({
              path: z.string().startsWith('/').default('/health'),
              status: z.array(z.int().min(100).max(599)).min(1).optional().meta({
                description: 'statuses that mean healthy; any 2xx when absent',
              }),
            })
            .optional()
            .meta({
              description: "the service's health check, asked on stack.external.service; default GET /health",
            }),
        })
        .optional(),
    })
    .prefault({}),
  proxies: z.array(proxy).default([
    { name: 'api', listen: '127.0.0.1:18080', upstream: 'auditlog:8080', enabled: true },
    { name: 'db', listen: '127.0.0.1:15432', upstream: 'postgres:5432', enabled: true },
  ]),
  workload: z.strictObject({
    target: httpUrl.default('http://127.0.0.1:18080'),
    writers: z.int().min(1).max(1024).default(8),
    rate: rate,
    duration: duration,
    timeout: duration
      .refine((v) => v > 0, { message: 'a write timeout must be more than 0 ms' })
      .default(2000),
    event: z
      .strictObject({
        actor: z.string().default('user-{n}'),
        action: z.string().default('login'),
        payloadBytes: z.int().min(0).max(1_048_576).default(256),
      })
      .prefault({}),
    retry: z
      .strictObject({ attempts: z.int().min(1).max(100).default(3), backoff: duration.default(100) })
      .prefault({}),
    request: z
      .strictObject({
        method: z.enum(['POST', 'PUT']).default('POST'),
        path: z.string().startsWith('/').default('/events'),
        headers: z.record(z.string(), z.string()).default({}),
        body: z.unknown().optional().meta({
          description: 'JSON body template: {eventId}, {actor}, {action}, {payload} are filled in',
        }),
        ackStatuses: z.array(z.int().min(100).max(599)).default([200, 201]),
      })
      .prefault({}),
    checkpoint: z
      .union([
        z.literal(false),
        z.strictObject({
          path: z.string().startsWith('/').default('/checkpoint'),
          every: duration.default(1000),
        }),
      ])
      .prefault({}),
    visibility: visibilitySchema.optional(),
  }),
  faults: z.array(faultSchema).default([]),
  tamper: z.array(tamperSchema).default([]),
  scan: z
    .strictObject({
      source: scanSourceSchema.prefault({ kind: 'postgres' }),
      mapping: mappingSchema.prefault({}),
      chain: chainSchema.prefault({}),
    })
    .prefault({}),
  expect: z
    .strictObject({
      missing: countLimit.default(0),
      partial: countLimit.default(0),
      brokenChain: countLimit.default(0),
      duplicates: countLimit.default(0),
      unexpected: countLimit.default(0),
      rollback: countLimit.default(0),
      tamperUndetected: countLimit.default(0),
      clockBackwards: countLimit.default(0).meta({
        description: 'clock checks: places where ts goes backwards along seq (beyond expect.clock.backwards)',
      }),
      tsOutsideWindow: countLimit.default(0).meta({
        description: "clock checks: entries whose ts lies outside their writer's send..ack window",
      }),
      clock: z
        .strictObject({
          backwards: duration.default(0).meta({
            description: 'how far ts may go back from one seq to a later one before it is a finding',
          }),
          window: duration.default(1000).meta({
            description: "how far outside its writer's send..ack window an entry's ts may lie",
          }),
        })
        .optional()
        .meta({
          description:
            'turns on the clock checks (ts along seq, ts within send..ack); they are on whenever the scenario has a clock fault',
        }),
      recovery: duration.default(30_000).meta({
        description:
          'after the last fault heals, the service must answer its health check and accept a write within this (a liveness invariant)',
      }),
      beforeRun: z.enum(['warn', 'fail']).default('warn').meta({
        description:
          'findings on entries that were in the log before this run: shown apart as warnings (warn), or counted toward the verdict (fail)',
      }),
      availability: comparison.optional(),
      latency: z
        .strictObject({
          p50: comparison.optional(),
          p99: comparison.optional(),
          max: comparison.optional(),
        })
        .optional(),
      delayed: countLimit.default(0).meta({
        description:
          'how many sampled events may become readable later than visibility.max (with workload.visibility)',
      }),
      visibility: z
        .strictObject({
          max: duration.default(DEFAULT_VISIBILITY_MAX_MS).meta({
            description: 'an acknowledged event first readable later than this after its ack is `delayed`',
          }),
          p50: duration.optional(),
          p99: duration.optional(),
        })
        .optional()
        .meta({ description: 'limits on the visibility lag (ack to first read that finds the event)' }),
    })
    .prefault({}),
  report: z
    .strictObject({
      formats: z.array(z.enum(['json', 'md', 'html', 'junit'])).default(['json', 'md', 'html', 'junit']),
      out: z.string().optional(),
    })
    .prefault({}),
});

/**
 * Checks across fields (a fault names a proxy that exists, fault windows fit in the run, ...).
 * They read the raw document, so they run and report even when other fields are invalid:
 * a person fixing a scenario sees every problem in one go.
 */
export function crossFieldProblems(raw: unknown): { path: PropertyKey[]; message: string }[] {
  const problems: { path: PropertyKey[]; message: string }[] = [];
  const add = (path: PropertyKey[], message: string) => problems.push({ path, message });
  const obj = (v: unknown): Record<string, unknown> =>
    v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
  const ms = (v: unknown): number | undefined =>
    typeof v === 'string' ? parseDuration(v) : v === 0 ? 0 : undefined;
  const root = obj(raw);
  const stack = obj(root.stack);
  const replicas = typeof stack.replicas === 'number' ? stack.replicas : 1;
  const runtime = stack.runtime ?? 'auto';

  const rawProxies = Array.isArray(root.proxies)
    ? root.proxies
    : root.proxies === undefined
      ? DEFAULT_PROXIES
      : [];
  const names = new Map<string, number>();
  const ports = new Map<number, string>();
  rawProxies.forEach((p, i) => {
    const { name, listen } = obj(p);
    if (typeof name === 'string') {
      if (names.has(name)) add(['proxies', i, 'name'], `proxy "${name}" is defined twice`);
      names.set(name, i);
    }
    const port = typeof listen === 'string' ? parseHostPort(listen)?.port : undefined;
    if (port !== undefined) {
      const other = ports.get(port);
      if (other !== undefined)
        add(['proxies', i, 'listen'], `port ${port} is already the listen port of proxy "${other}"`);
      ports.set(port, String(name));
    }
  });
  const known = [...names.keys()];
  const total = ms(obj(root.workload).duration);
  const faults = Array.isArray(root.faults) ? root.faults : [];
  faults.forEach((raw, i) => {
    const f = obj(raw);
    const kind = f.kind;
    const mode = f.mode ?? (kind === 'db-down' ? 'kill' : undefined);
    const proxyName = f.proxy ?? (kind === 'db-down' && mode === 'proxy' ? 'db' : undefined);
    const usesProxy = PROXY_FAULTS.has(String(kind)) || (kind === 'db-down' && mode === 'proxy');
    if (usesProxy && typeof proxyName === 'string' && !names.has(proxyName)) {
      add(
        ['faults', i, f.proxy === undefined ? 'kind' : 'proxy'],
        `fault names proxy "${proxyName}", which is not defined; defined proxies: ${known.join(', ') || 'none'}`,
      );
    }
    const at = ms(f.at);
    const dur = ms(f.for);
    const every = ms(f.every);
    const count = typeof f.count === 'number' ? f.count : undefined;
    if ((f.every === undefined) !== (f.count === undefined)) {
      add(
        ['faults', i, f.every === undefined ? 'every' : 'count'],
        'a repeating fault needs both `every` and `count`',
      );
    }
    if (every !== undefined && dur !== undefined && every < dur) {
      add(['faults', i, 'every'], `repeats every ${f.every} but lasts ${f.for}: its windows would overlap`);
    }
    if (at !== undefined && dur !== undefined && total !== undefined) {
      const end = at + (every ?? 0) * ((count ?? 1) - 1) + dur + (ms(f.startJitter) ?? 0);
      if (end > total) {
        add(
          ['faults', i, 'for'],
          `fault ends at ${formatDuration(end)}, after the workload's duration of ${formatDuration(total)}; shorten the fault or lengthen workload.duration`,
        );
      }
    }
    if (
      (kind === 'service-down' || kind === 'down') &&
      typeof f.replica === 'number' &&
      f.replica >= replicas
    ) {
      add(['faults', i, 'replica'], `replica ${f.replica} does not exist: stack.replicas is ${replicas}`);
    }
    if (
      runtime === 'external' &&
      ((kind === 'db-down' && mode !== 'proxy') ||
        kind === 'service-down' ||
        kind === 'down' ||
        kind === 'clock' ||
        kind === 'packet')
    ) {
      add(
        ['faults', i, 'kind'],
        kind === 'clock'
          ? 'runtime external cannot move a clock: auditchaos starts no process there to run under libfaketime; use a `command` fault whose start and heal commands step the clock themselves (your faketime file, `date -s` on a test VM)'
          : 'runtime external starts and stops nothing itself: use a `command` fault with your own start and heal commands (kubectl delete pod ..., systemctl kill ...), or db-down with mode: proxy',
      );
    }
  });
  problems.push(...servicesProblems(stack, faults, runtime));
  // Probe names become threshold names (tamper.<name>): two probes of one name would be one row.
  const probeNames = new Map<string, number>();
  (Array.isArray(root.tamper) ? root.tamper : []).forEach((t, i) => {
    const name = obj(t).name ?? `probe-${i + 1}`;
    if (typeof name !== 'string') return;
    const first = probeNames.get(name);
    if (first !== undefined)
      add(['tamper', i, 'name'], `tamper probe "${name}" is already the name of tamper[${first}]`);
    else probeNames.set(name, i);
  });
  if (runtime === 'external' && stack.external === undefined) {
    add(['stack', 'runtime'], 'runtime external needs stack.external with the toxiproxy and service URLs');
  }
  problems.push(...visibilityProblems(root, ms));
  return problems;
}

/** workload.visibility: a source the reader can query, and a timeout longer than the limit it judges. */
function visibilityProblems(
  root: Record<string, unknown>,
  ms: (v: unknown) => number | undefined,
): { path: PropertyKey[]; message: string }[] {
  const workload = root.workload as Record<string, unknown> | undefined;
  const vis = workload?.visibility as Record<string, unknown> | undefined;
  if (vis === null || typeof vis !== 'object') return [];
  const out: { path: PropertyKey[]; message: string }[] = [];
  const source = ((root.scan as Record<string, unknown> | undefined)?.source ?? {}) as Record<
    string,
    unknown
  >;
  const kind = source.kind ?? 'postgres';
  if (vis.via === 'source' && kind !== 'postgres')
    out.push({
      path: ['workload', 'visibility', 'via'],
      message: `via: source queries the log by event id, which only a postgres scan.source allows (it is ${String(kind)}); use via: api`,
    });
  const expectVis = (root.expect as Record<string, unknown> | undefined)?.visibility as
    | Record<string, unknown>
    | undefined;
  const max = expectVis?.max === undefined ? DEFAULT_VISIBILITY_MAX_MS : ms(expectVis.max);
  const timeout = vis.timeout === undefined ? 30_000 : ms(vis.timeout);
  if (max !== undefined && timeout !== undefined && timeout <= max)
    out.push({
      path: ['workload', 'visibility', 'timeout'],
      message: `the reader's timeout (${formatDuration(timeout)}) must be longer than expect.visibility.max (${formatDuration(max)}), or a late event could never be told from a lost one`,
    });
  return out;
}

/** stack.services: one service role, at most one database; `down` faults name a declared service. */
function servicesProblems(
  stack: Record<string, unknown>,
  faults: unknown[],
  runtime: unknown,
): { path: PropertyKey[]; message: string }[] {
  const problems: { path: PropertyKey[]; message: string }[] = [];
  const declared =
    stack.services !== null && typeof stack.services === 'object' && !Array.isArray(stack.services)
      ? (stack.services as Record<string, unknown>)
      : undefined;
  const roleOf = (v: unknown) =>
    v !== null && typeof v === 'object' ? (v as { role?: unknown }).role : undefined;
  let serviceName: string | undefined = REFERENCE_NAMES.service;
  if (declared) {
    const entries = Object.entries(declared);
    const withRole = (role: string) => entries.filter(([, v]) => roleOf(v) === role).map(([n]) => n);
    const services = withRole('service');
    const databases = withRole('database');
    serviceName = services[0];
    if (services.length === 0) {
      problems.push({
        path: ['stack', 'services'],
        message: `no service has role: service; mark the audit-log service among ${entries.map(([n]) => n).join(', ') || '(none declared)'}`,
      });
    } else if (services.length > 1) {
      problems.push({
        path: ['stack', 'services', services[1] as string, 'role'],
        message: `exactly one service may have role: service, but ${services.join(' and ')} do`,
      });
    }
    if (databases.length > 1) {
      problems.push({
        path: ['stack', 'services', databases[1] as string, 'role'],
        message: `at most one service may have role: database, but ${databases.join(' and ')} do`,
      });
    }
    for (const [n, v] of entries) {
      const health = v !== null && typeof v === 'object' ? (v as { health?: unknown }).health : undefined;
      if (health !== undefined && roleOf(v) !== 'service') {
        problems.push({
          path: ['stack', 'services', n, 'health'],
          message: `only the role: service service has a health check that auditchaos asks (${n} is ${String(roleOf(v))})`,
        });
      }
    }
  }
  // The local runtime runs the reference processes, whatever stack.services says.
  const names =
    runtime === 'local' || !declared
      ? [REFERENCE_NAMES.service, REFERENCE_NAMES.database]
      : Object.keys(declared);
  faults.forEach((raw, i) => {
    if (raw === null || typeof raw !== 'object') return;
    const f = raw as { kind?: unknown; target?: unknown; replica?: unknown };
    if ((f.kind !== 'down' && f.kind !== 'clock' && f.kind !== 'packet') || typeof f.target !== 'string')
      return;
    if (!names.includes(f.target)) {
      problems.push({
        path: ['faults', i, 'target'],
        message: `fault targets "${f.target}", which is not a service of this stack; ${runtime === 'local' ? 'the local runtime runs' : 'declared'}: ${names.join(', ')}${declared || runtime === 'local' ? '' : ' (declare others in stack.services)'}`,
      });
    } else if (
      f.replica !== undefined &&
      f.target !== (runtime === 'local' ? REFERENCE_NAMES.service : serviceName)
    ) {
      problems.push({
        path: ['faults', i, 'replica'],
        message: `replica applies to the role: service service (${serviceName}) only; ${f.target} has one container`,
      });
    }
  });
  return problems;
}

const PROXY_FAULTS = new Set(['latency', 'partition', 'bandwidth', 'slow-close', 'toxic']);

export type ScenarioInput = z.input<typeof scenarioSchema>;
export type Scenario = z.output<typeof scenarioSchema>;
export type Fault = Scenario['faults'][number];
export type FaultKind = Fault['kind'];
export type TamperProbe = Scenario['tamper'][number];
export type ProxySpec = Scenario['proxies'][number];
export type EntryMapping = Scenario['scan']['mapping'];
export type ChainSettings = Scenario['scan']['chain'];
