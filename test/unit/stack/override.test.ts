import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import {
  CONTAINER_CLOCK_DIR,
  CONTAINER_LIBFAKETIME,
  composeOverride,
  readComposeModel,
} from '../../../src/stack/compose/override.ts';
import { stackModel } from '../../../src/stack/services.ts';

const foreign = `
services:
  store:
    image: postgres
    ports: ["127.0.0.1:\${STORE_PORT:-25433}:5432"]
  ledger:
    image: ledger
    networks: [back]
  worker:
    image: worker
networks:
  back: {}
`;

const ledgerStore = stackModel({
  ledger: { role: 'service', port: 7070, health: { path: '/healthz', status: [200] } },
  store: { role: 'database', port: 5432 },
  worker: { role: 'other' },
});

describe('compose override', () => {
  it('reads published container ports and networks of a compose file', () => {
    expect(readComposeModel(foreign)).toEqual({
      store: { publishes: [5432], networks: [] },
      ledger: { publishes: [], networks: ['back'] },
      worker: { publishes: [], networks: [] },
    });
    expect(
      readComposeModel('services:\n  a:\n    ports: [8080, {target: 9090}, "1-2:3000-3001/tcp"]\n').a
        ?.publishes,
    ).toEqual([8080, 9090, 3000]);
  });

  it('adds Toxiproxy on the service networks, publishes what the harness needs, labels every named service', () => {
    const o = composeOverride({
      model: readComposeModel(foreign),
      stack: ledgerStore,
      runId: 'r1',
      proxyImage: 'ghcr.io/shopify/toxiproxy:2.9.0',
      hostPorts: { toxiproxy: 40001, service: '40010-40011', database: 40002 },
      proxyPorts: [17070, 15433],
    });
    expect(o.addsToxiproxy).toBe(true);
    expect(parse(o.yaml)).toEqual({
      services: {
        ledger: {
          labels: {
            'io.auditchaos.managed': 'true',
            'io.auditchaos.run-id': 'r1',
            'io.auditchaos.role': 'service',
          },
          ports: ['127.0.0.1:40010-40011:7070'],
        },
        // store publishes 5432 already: its host port is read from Docker, none is added
        store: {
          labels: {
            'io.auditchaos.managed': 'true',
            'io.auditchaos.run-id': 'r1',
            'io.auditchaos.role': 'database',
          },
        },
        worker: {
          labels: {
            'io.auditchaos.managed': 'true',
            'io.auditchaos.run-id': 'r1',
            'io.auditchaos.role': 'other',
          },
        },
        toxiproxy: {
          image: 'ghcr.io/shopify/toxiproxy:2.9.0',
          labels: {
            'io.auditchaos.managed': 'true',
            'io.auditchaos.run-id': 'r1',
            'io.auditchaos.role': 'toxiproxy',
          },
          ports: ['127.0.0.1:40001:8474', '127.0.0.1:17070:17070', '127.0.0.1:15433:15433'],
          networks: ['back'],
        },
      },
    });
  });

  it('keeps a toxiproxy service the file has (the reference stack) and adds none', () => {
    const reference = readComposeModel(`services:
  postgres: { ports: ["127.0.0.1:\${AUDITCHAOS_POSTGRES_PORT:-}:5432"] }
  toxiproxy: { ports: ["127.0.0.1:\${AUDITCHAOS_TOXIPROXY_PORT:-8474}:8474"] }
  auditlog: { ports: ["127.0.0.1:\${AUDITCHAOS_SERVICE_PORTS:-}:8080"] }
`);
    const o = composeOverride({
      model: reference,
      stack: stackModel(undefined),
      runId: 'r2',
      proxyImage: 'x',
      hostPorts: { toxiproxy: 1, service: '2', database: 3 },
      proxyPorts: [18080],
    });
    expect(o.addsToxiproxy).toBe(false);
    const doc = parse(o.yaml) as { services: Record<string, { ports?: unknown }> };
    expect(Object.keys(doc.services).sort()).toEqual(['auditlog', 'postgres']);
    expect(doc.services.auditlog?.ports).toBeUndefined();
    expect(doc.services.postgres?.ports).toBeUndefined();
  });

  it('says which declared services the compose file lacks', () => {
    expect(() =>
      composeOverride({
        model: readComposeModel('services:\n  ledger: {}\n'),
        stack: ledgerStore,
        runId: 'r',
        proxyImage: 'x',
        hostPorts: { toxiproxy: 1, service: '2', database: 3 },
        proxyPorts: [],
      }),
    ).toThrow('stack.services names store, worker, which the compose file does not define (it has ledger)');
  });

  it('runs exactly the services a clock fault moves under libfaketime: the library and the folder mounted, the environment set', () => {
    const o = composeOverride({
      model: readComposeModel(
        `${foreign.replace('    image: ledger\n', '    image: ledger\n    environment: ["LD_PRELOAD=/usr/lib/libjemalloc.so.2"]\n')}`,
      ),
      stack: ledgerStore,
      runId: 'r3',
      proxyImage: 'x',
      hostPorts: { toxiproxy: 1, service: '2', database: 3 },
      proxyPorts: [],
      clock: {
        lib: '/usr/lib/x/libfaketime.so.1',
        dir: '/tmp/run-clock',
        files: { ledger: 'clock-ledger.rc' },
      },
    });
    const doc = parse(o.yaml) as {
      services: Record<string, { volumes?: string[]; environment?: Record<string, string> }>;
    };
    expect(doc.services.ledger?.volumes).toEqual([
      `/usr/lib/x/libfaketime.so.1:${CONTAINER_LIBFAKETIME}:ro`,
      `/tmp/run-clock:${CONTAINER_CLOCK_DIR}:ro`,
      '/tmp/run-clock/shm-guard:/dev/shm/sem.faketime_sem_1:ro',
    ]);
    expect(doc.services.ledger?.environment).toEqual({
      // the file's own preload first, libfaketime after it
      LD_PRELOAD: `/usr/lib/libjemalloc.so.2:${CONTAINER_LIBFAKETIME}`,
      FAKETIME_TIMESTAMP_FILE: `${CONTAINER_CLOCK_DIR}/clock-ledger.rc`,
      FAKETIME_CACHE_DURATION: '1',
      FAKETIME_DONT_FAKE_MONOTONIC: '1',
    });
    for (const other of ['store', 'worker', 'toxiproxy']) {
      expect(doc.services[other]?.volumes, other).toBeUndefined();
      expect(doc.services[other]?.environment, other).toBeUndefined();
    }
  });
});
