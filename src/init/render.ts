/**
 * `auditchaos init`, the writing half: a commented starter scenario from what was detected. Pure:
 * the same guesses give the same text. Every value that was guessed says so in a comment, and the
 * one change a team makes to its own stack (point the service at the proxy) is spelled out.
 */
import { REFERENCE_MAPPING } from '../scan/sources/record.ts';
import type { MappingGuess } from './columns.ts';
import type { StackGuess } from './detect.ts';

export interface InitInput {
  name: string;
  /** compose: the compose file relative to the scenario; external: the URLs. */
  compose?: { file: string; stack: StackGuess };
  external?: { service: string; toxiproxy: string; database?: string };
  /** "PUT /ledger/{eventId}" */
  write: { method: 'POST' | 'PUT'; path: string };
  /** The request body template as JSON text (--body); default the reference fields. */
  body?: string;
  healthPath?: string;
  db?: { name?: string; table: string; guess?: MappingGuess };
  /** A recipe init found that verifies the stored rows (see recipe-guess.ts). */
  chain?: { yaml: string[]; note: string };
  apiPort: number;
  dbPort: number;
}

const PLAIN = /^[A-Za-z0-9_./{}:@-][A-Za-z0-9_./{}:@ -]*$/;
/** A YAML scalar: plain when that is safe, JSON-quoted otherwise. */
export const q = (s: string): string =>
  PLAIN.test(s) &&
  !/^(true|false|null|yes|no|on|off|~)$/i.test(s) &&
  !/^[\d.]+$/.test(s) &&
  !s.includes(': ') &&
  !s.includes(' #')
    ? s
    : JSON.stringify(s);

const FIELD_ORDER = ['seq', 'eventId', 'ts', 'actor', 'action', 'payload', 'prevHash', 'hash'] as const;

export function renderScenario(input: InitInput): string {
  const L: string[] = [];
  const st = input.compose?.stack;
  const svc = st?.service;
  // A service that already talks to toxiproxy:PORT decides the db proxy's port.
  const i = svc?.dbProxyPort !== undefined ? { ...input, dbPort: svc.dbProxyPort } : input;
  const dbs = st?.database;
  L.push(
    '# Editor completion: `auditchaos schema > scenario.schema.json`, then a yaml-language-server $schema line.',
  );
  L.push('# Written by `auditchaos init`. Every line marked CHECK is a guess: read it before the first run.');
  L.push('# Then: auditchaos validate <this file> && auditchaos run <this file>');
  for (const n of st?.notes ?? []) L.push(`#   detected: ${n}`);
  L.push('version: 1');
  L.push(`name: ${i.name}`);
  L.push('description: >');
  L.push(
    `  Starter scenario for ${i.compose ? `the compose stack in ${i.compose.file}` : `the stack at ${i.external?.service}`}:`,
  );
  L.push('  writes uniquely identified events while the database crashes and the network slows, then');
  L.push('  checks that every acknowledged entry is stored once, whole, and in an intact chain.');
  L.push('seed: 1');
  L.push('stack:');
  const servicePort = svc?.port ?? 8080;
  const serviceHost = i.compose
    ? (svc?.name ?? 'app')
    : hostPortOf(i.external?.service ?? 'http://127.0.0.1:8080');
  const dbHost = i.compose ? `${dbs?.name ?? 'db'}:${dbs?.port ?? 5432}` : undefined;
  if (i.compose) {
    L.push('  runtime: compose');
    L.push(`  compose: ${q(i.compose.file)}`);
    L.push('  services:');
    L.push(`    ${svc?.name ?? 'app'}:`);
    L.push('      role: service');
    L.push(
      `      port: ${servicePort}${svc?.portFrom ? `   # from ${svc.portFrom}` : '   # CHECK: no port found in the compose file'}`,
    );
    const health = i.healthPath ?? svc?.healthPath;
    if (health)
      L.push(
        `      health: { path: ${q(health)}, status: [200] }${svc?.healthPath && !i.healthPath ? '   # from its healthcheck' : ''}`,
      );
    else if (svc?.hasHealthcheck) L.push('      health: compose   # its compose healthcheck decides');
    else
      L.push(
        '      health: { path: /health, status: [200] }   # CHECK: the path that answers 200 when it is up',
      );
    if (dbs) {
      L.push(`    ${dbs.name}:`);
      L.push('      role: database');
      L.push(`      port: ${dbs.port}`);
    }
    for (const o of st?.others ?? []) {
      L.push(`    ${o}: { role: other }   # faults may target it (kind: down, target: ${o})`);
    }
    L.push('# The one change to your stack: your service must reach its database through the proxy.');
    if (svc?.dbProxyPort !== undefined) {
      L.push(
        `# ${svc.name} already reaches its database at toxiproxy:${svc.dbProxyPort}: the db proxy listens there.`,
      );
    } else if (svc?.databaseRefs.length) {
      const refs = svc.databaseRefs;
      L.push(
        `# In ${i.compose.file}, ${svc.name}'s ${refs.join(', ')} ${refs.length > 1 ? 'name' : 'names'} ${dbs?.name}: point ${refs.length > 1 ? 'them' : 'it'} at toxiproxy:${i.dbPort}.`,
      );
    } else {
      L.push(
        `# Point ${svc?.name ?? 'the service'}'s database address at toxiproxy:${i.dbPort} instead of ${dbHost}.`,
      );
    }
  } else if (i.external) {
    L.push('  runtime: external');
    L.push('  external:');
    L.push(`    toxiproxy: ${q(i.external.toxiproxy)}`);
    L.push(`    service: ${q(i.external.service)}   # the service's own address (health, API probes)`);
    if (i.healthPath) L.push(`    health: { path: ${q(i.healthPath)}, status: [200] }`);
    else
      L.push(
        '    health: { path: /health, status: [200] }   # CHECK: the path that answers 200 when it is up',
      );
  }
  L.push('proxies:   # created on the Toxiproxy by auditchaos; faults name them');
  L.push(
    `  - { name: api, listen: 127.0.0.1:${i.apiPort}, upstream: ${q(i.compose ? `${serviceHost}:${servicePort}` : serviceHost)} }`,
  );
  if (dbHost) L.push(`  - { name: db, listen: 127.0.0.1:${i.dbPort}, upstream: ${q(dbHost)} }`);
  else
    L.push(
      `  # - { name: db, listen: 127.0.0.1:${i.dbPort}, upstream: your-db-host:5432 }   # and point the service at it`,
    );
  L.push('workload:');
  L.push(
    `  target: http://127.0.0.1:${i.apiPort}   # through the api proxy, so that its faults hit the writes`,
  );
  L.push('  writers: 4');
  L.push('  rate: 50/s');
  L.push('  duration: 30s');
  L.push('  timeout: 2s');
  L.push('  request:   # CHECK: how your API takes one audit event');
  L.push(`    method: ${i.write.method}`);
  L.push(`    path: ${q(i.write.path)}`);
  L.push(`    body: ${i.body ?? '{ actor: "{actor}", action: "{action}", payload: "{payload}" }'}`);
  L.push('    ackStatuses: [200, 201]');
  L.push(
    '  checkpoint: false   # set { path: /your-signed-head } if the service publishes signed checkpoints',
  );
  L.push('faults:');
  if (i.compose) {
    L.push(
      '  - { at: 8s, for: 3s, kind: db-down, mode: kill }          # SIGKILL the database, then start it',
    );
    L.push('  - { at: 15s, for: 4s, kind: latency, proxy: db, latency: 200ms, jitter: 50ms }');
    L.push(
      '  - { at: 22s, for: 2s, kind: service-down, mode: kill }     # SIGKILL the service, then start it',
    );
  } else {
    L.push('  - { at: 8s, for: 3s, kind: partition, proxy: api }');
    L.push('  - { at: 15s, for: 4s, kind: latency, proxy: api, latency: 200ms, jitter: 50ms }');
    L.push('  # Crash your database your way (kubectl, systemctl, docker); the heal runs on every path:');
    L.push(
      '  # - { at: 20s, for: 5s, kind: command, start: "kubectl delete pod -l app=db", heal: "kubectl wait --for=condition=ready pod -l app=db" }',
    );
  }
  L.push('scan:');
  L.push('  source:');
  L.push('    kind: postgres');
  const dbName = i.db?.name ?? dbs?.db ?? 'postgres';
  const dbUrl =
    i.external?.database ?? `postgres://\${PGUSER}:\${PGPASSWORD}@127.0.0.1:${i.dbPort}/${dbName}`;
  L.push(`    url: ${q(dbUrl)}   # \${VAR}s come from your environment and are never written into reports`);
  if (dbs?.user && !i.external?.database)
    L.push(
      `    #   ${dbs.name} sets POSTGRES_USER=${dbs.user}${dbs.passwordVar ? `; its password is ${dbs.passwordVar} in the compose file` : ''}`,
    );
  L.push(
    `    table: ${q(i.db?.table ?? 'audit_log')}${i.db?.guess ? '   # the table whose columns fit an audit log best' : '   # CHECK'}`,
  );
  const g = i.db?.guess;
  L.push(
    `  mapping:   # entry field: your column${g ? ' (read off the table)' : '   CHECK: no database was read'}`,
  );
  for (const f of FIELD_ORDER) {
    const col = g?.mapping[f];
    if (col) L.push(`    ${f}: ${q(col)}`);
    else
      L.push(
        `    ${f}: ${REFERENCE_MAPPING[f]}   # CHECK: no column found${g ? '' : ' (pass --database-url to read the table)'}`,
      );
  }
  L.push("  chain:   # how your service computes each entry's hash: docs/recipes.md");
  if (i.chain) {
    L.push(`    # ${i.chain.note}`);
    for (const line of i.chain.yaml) L.push(`    ${line}`);
  } else {
    L.push('    # CHECK: a guess. A template over the stored text of each field, the previous hash first:');
    L.push('    template: "{seq}|{eventId}|{actor}|{action}|{payload}"');
    L.push('    prev: bytes');
    L.push('    order: prev-first');
    L.push('    algorithm: sha256');
  }
  L.push(
    'expect:   # the verdict: any acknowledged entry missing, partial, duplicated or off the chain fails',
  );
  L.push('  missing: 0');
  L.push('  partial: 0');
  L.push('  duplicates: 0');
  L.push('  brokenChain: 0');
  L.push('  recovery: 30s   # after the last heal, health and an acknowledged write within this');
  L.push('');
  return L.join('\n');
}

function hostPortOf(url: string): string {
  try {
    const u = new URL(url);
    return `${u.hostname}:${u.port || (u.protocol === 'https:' ? '443' : '80')}`;
  } catch {
    return url;
  }
}
