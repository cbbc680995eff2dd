/**
 * The stack as the scenario describes it: which compose service (or local process) is the
 * audit-log service, which is the database, and which others faults may target, with their ports
 * and health checks. The reference stack (compose/stack.yml, the local runtime) is one example of
 * this model: `referenceServices` is what an absent `stack.services` means. Pure.
 */

import { type DownMode, REFERENCE_NAMES, type ServiceRole } from '../scenario/vocabulary.ts';

export type { ServiceRole };
export { REFERENCE_NAMES };
export type FaultMode = DownMode;

/** The Toxiproxy API port inside its container (real Toxiproxy and the built-in proxy). */
export const TOXIPROXY_API_PORT = 8474;

export type HealthSpec = { path: string; status?: number[] | undefined } | 'compose';

export interface ServiceSpec {
  role: ServiceRole;
  port?: number | undefined;
  health?: HealthSpec | undefined;
}

export interface NamedService {
  name: string;
  role: ServiceRole;
  port: number | undefined;
  health: HealthSpec | undefined;
}

export interface StackModel {
  service: NamedService & { port: number; health: HealthSpec };
  database: (NamedService & { port: number }) | undefined;
  /** Every declared service, the two above included. */
  all: NamedService[];
  /** True when this is the reference stack (no stack.services in the scenario). */
  reference: boolean;
}

export const DEFAULT_HEALTH = { path: '/health' } as const;

export function referenceServices(): Record<string, ServiceSpec> {
  return {
    [REFERENCE_NAMES.service]: { role: 'service', port: 8080, health: { ...DEFAULT_HEALTH } },
    [REFERENCE_NAMES.database]: { role: 'database', port: 5432 },
  };
}

/** The model of `stack.services` (validated: one service role, at most one database). */
export function stackModel(services: Record<string, ServiceSpec> | undefined): StackModel {
  const reference = services === undefined;
  const all = Object.entries(services ?? referenceServices()).map(
    ([name, s]): NamedService => ({ name, role: s.role, port: s.port, health: s.health }),
  );
  const service = all.find((s) => s.role === 'service');
  if (!service) throw new Error('stack.services declares no service role (the schema should have said so)');
  const db = all.find((s) => s.role === 'database');
  return {
    service: { ...service, port: service.port ?? 8080, health: service.health ?? { ...DEFAULT_HEALTH } },
    database: db ? { ...db, port: db.port ?? 5432 } : undefined,
    all,
    reference,
  };
}

/** The service declared under `name`, or undefined. */
export function findService(model: StackModel, name: string): NamedService | undefined {
  return model.all.find((s) => s.name === name);
}
