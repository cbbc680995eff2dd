/**
 * The port clock faults act through: set a target's clock offset, and read where its clock is, so
 * that a fault that moved nothing is seen (a library that did not load, an image without it).
 * Runtimes implement it for the targets their scenario moves; the readers are shared.
 */
import pg from 'pg';

/** A reading of a target's clock against the harness's: how far off, and how fine the reading is. */
export interface ClockReading {
  offsetMs: number;
  /** The reading cannot tell apart offsets closer than this (a Date header: 1 s). */
  resolutionMs: number;
  /** What was read, for the fault log: "Date header of http://...", "clock_timestamp() of postgres". */
  via: string;
}

export interface ClockControl {
  /** The targets started under libfaketime (the scenario's clock fault targets). */
  readonly targets: readonly string[];
  /** Sets the target's clock offset in ms (0: true time). */
  set(target: string, offsetMs: number): Promise<void>;
  /** Reads the target's clock; undefined when it has no clock that can be read from outside. */
  read(target: string): Promise<ClockReading | undefined>;
}

/** A service's clock from the Date header of its answer (RFC 9110: whole seconds). */
export async function readHttpDateClock(url: string, timeoutMs = 2000): Promise<ClockReading | undefined> {
  const before = Date.now();
  let header: string | null;
  try {
    const r = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    header = r.headers.get('date');
    await r.body?.cancel();
  } catch {
    return undefined;
  }
  const after = Date.now();
  const at = header ? Date.parse(header) : Number.NaN;
  if (!Number.isFinite(at)) return undefined;
  // The header cuts to the second: the clock read somewhere in [at, at + 1000).
  return {
    offsetMs: Math.round(at + 500 - (before + after) / 2),
    resolutionMs: 1000 + (after - before),
    via: `the Date header of ${url}`,
  };
}

/** PostgreSQL's clock: clock_timestamp() of a new backend (each forks with the postmaster's clock). */
export async function readPostgresClock(url: string, timeoutMs = 2000): Promise<ClockReading | undefined> {
  const c = new pg.Client({ connectionString: url, connectionTimeoutMillis: timeoutMs });
  try {
    await c.connect();
    const before = Date.now();
    const r = await c.query<{ ms: string }>(
      'SELECT (extract(epoch FROM clock_timestamp()) * 1000)::float8::text AS ms',
    );
    const after = Date.now();
    const ms = Number(r.rows[0]?.ms);
    if (!Number.isFinite(ms)) return undefined;
    return {
      offsetMs: Math.round(ms - (before + after) / 2),
      resolutionMs: after - before + 1,
      via: 'clock_timestamp() of the database',
    };
  } catch {
    return undefined;
  } finally {
    await c.end().catch(() => undefined);
  }
}
