import type { ClockControl } from './clock/clock-control.ts';

/**
 * One Stack interface for every runtime (compose, local, external). The chaos engine, the tamper
 * probes and the scan see only this: endpoints, database URLs, and the faults a runtime can do.
 */

import type { PacketOptions } from '../scenario/packet-options.ts';

/** The database every runtime creates for the reference service (compose/stack.yml: POSTGRES_DB). */
export const DB_NAME = 'auditlog';

export type RuntimeKind = 'compose' | 'local' | 'external';
export type DbFaultMode = 'stop' | 'kill' | 'pause';
/** kill (SIGKILL), stop (graceful), pause (frozen), restart (restarted at once; recover waits for it). */
export type DownMode = 'kill' | 'stop' | 'pause' | 'restart';
export type ServiceFaultMode = 'stop' | 'kill';

export interface StackEndpoints {
  /** Toxiproxy HTTP API (real Toxiproxy or the built-in proxy), e.g. http://127.0.0.1:8474 */
  toxiproxyUrl: string;
  /** Where writers send events: through the `api` proxy. */
  serviceUrl: string;
  /** The service directly, bypassing proxies (reads for scan, checkpoint key). */
  serviceDirectUrl?: string;
  /** Owner role connection string (tamper probes over SQL, scan), reached directly, not through a proxy. */
  databaseUrl?: string;
  /**
   * The service's health check, asked directly (not through a proxy); default GET /health on
   * serviceDirectUrl (else serviceUrl) answering 2xx. null: the service has none (writes tell).
   */
  health?: { url: string; status?: number } | null;
  /** The health check's path on serviceDirectUrl (default '/health'), when `health` is not given. */
  healthPath?: string;
  /** Statuses that mean healthy (default any 2xx). */
  healthStatus?: number[];
  /** The proxies as the stack created them: name -> listen address seen from the harness. */
  proxies: Record<string, { listen: string; upstream: string }>;
}

export interface Stack {
  readonly kind: RuntimeKind;
  readonly runId: string;
  /** Brings everything up and waits until healthy. */
  up(signal?: AbortSignal): Promise<StackEndpoints>;
  endpoints(): StackEndpoints;
  /**
   * Takes a named service down: a compose service or a local process (`auditlog`, `postgres`).
   * `replica` picks one replica of the service role. recover() undoes it and waits until the
   * service is healthy again. A runtime that cannot do it throws an EnvironmentError naming it.
   */
  fault(target: string, mode: DownMode, replica?: number): Promise<void>;
  recover(target: string, mode: DownMode, replica?: number): Promise<void>;
  /** Short forms (db-down, service-down): fault() on the database and the service roles. */
  dbFault(mode: DbFaultMode): Promise<void>;
  dbRecover(mode: DbFaultMode): Promise<void>;
  serviceFault(mode: ServiceFaultMode, replica?: number): Promise<void>;
  serviceRecover(mode: ServiceFaultMode, replica?: number): Promise<void>;
  /**
   * A `packet` fault on the named service's network interface (src/chaos/packet-fault.ts); absent
   * where the runtime cannot reach one (external). Counters are read by effect() before heal().
   */
  packetFault?(
    target: string,
    options: PacketOptions,
    faultId: string,
  ): Promise<{
    effect(): Promise<{ packets: number; acted: Record<string, number>; retransmitted?: number }>;
    heal(): Promise<void>;
  }>;
  /** Copies every component's logs into `dir` (one file each); returns the files written. */
  collectLogs(dir: string): Promise<string[]>;
  /** Leaves the stack running after this process exits (--keep-stack, `up`); `auditchaos down` removes it. */
  detach?(): Promise<void>;
  /** Clock faults (libfaketime) on the targets the scenario moves; absent where the runtime cannot. */
  readonly clock?: ClockControl;
  /** Secret values this stack made (passwords): redacted from every report and log. */
  readonly secrets?: readonly string[];
  /** Takes everything down. Safe to call twice and after a failed up(). */
  down(): Promise<void>;
}
